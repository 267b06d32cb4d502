#include "synthetic_elf.h"

#include "raw_igvm.h"

namespace cvtpm::testing {

std::vector<std::uint8_t> SyntheticElf::build() const {
  Bytes f;
  // e_ident: magic, class, data encoding, version, then zero padding to 16 bytes.
  for (std::uint8_t b : {std::uint8_t{0x7F}, std::uint8_t{'E'}, std::uint8_t{'L'},
                         std::uint8_t{'F'}, elf_class, data, std::uint8_t{1}}) {
    f.push_back(b);
  }
  f.resize(16, 0);
  put_le(f, type, 2);
  put_le(f, machine, 2);
  put_le(f, 1, 4);
  put_le(f, entry, 8);
  put_le(f, kPhoff, 8);
  put_le(f, 0, 8);  // no section headers
  put_le(f, 0, 4);
  put_le(f, 64, 2);
  put_le(f, 56, 2);
  put_le(f, segments.size(), 2);
  put_le(f, 64, 2);
  put_le(f, 0, 2);
  put_le(f, 0, 2);
  std::size_t data_at = kPhoff + 56 * segments.size();
  Bytes contents;
  for (const SyntheticSegment& s : segments) {
    put_le(f, s.type, 4);
    put_le(f, s.flags, 4);
    put_le(f, data_at + contents.size(), 8);
    put_le(f, s.vaddr, 8);
    put_le(f, s.paddr, 8);
    put_le(f, s.bytes.size(), 8);
    put_le(f, s.memsz ? s.memsz : s.bytes.size(), 8);
    put_le(f, 0x1000, 8);
    contents.insert(contents.end(), s.bytes.begin(), s.bytes.end());
  }
  f.insert(f.end(), contents.begin(), contents.end());
  return f;
}

}  // namespace cvtpm::testing
