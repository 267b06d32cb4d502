// Builds ELF64 files byte by byte for the ELF reader and igvmgen tests.
#pragma once

#include <cstdint>
#include <vector>

namespace cvtpm::testing {

struct SyntheticSegment {
  std::uint32_t type = 1;   // PT_LOAD
  std::uint32_t flags = 5;  // R+X
  std::uint64_t paddr = 0x8000000;
  std::uint64_t vaddr = 0x8000000;
  std::vector<std::uint8_t> bytes;  // file contents
  std::uint64_t memsz = 0;          // 0 = bytes.size()
};

struct SyntheticElf {
  std::uint8_t elf_class = 2;  // ELFCLASS64
  std::uint8_t data = 1;       // little-endian
  std::uint16_t type = 2;      // ET_EXEC
  std::uint16_t machine = 62;  // x86-64
  std::uint64_t entry = 0x8000000;
  std::vector<SyntheticSegment> segments = {{1, 5, 0x8000000, 0x8000000, {0x90, 0xF4}, 0}};

  std::vector<std::uint8_t> build() const;
  static constexpr std::size_t kPhoff = 64;
  static std::size_t ph_offset(std::size_t index) { return kPhoff + 56 * index; }
};

}  // namespace cvtpm::testing
