#include "cvtpm/formats/elf/elf_image.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "cvtpm/formats/byte_reader.h"
#include "cvtpm/formats/endian.h"
#include "cvtpm/support/error.h"

namespace cvtpm::formats::elf {
namespace {

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

constexpr std::uint16_t kPnXnum = 0xFFFF;  // phnum escape to section 0 (never in our images)

std::uint64_t align4(std::uint64_t v) {
  return (v + 3) & ~std::uint64_t{3};
}

[[noreturn]] void fail_at(const std::string& name, std::uint64_t offset,
                          const std::string& problem) {
  throw InputError(name, "offset " + hex(offset) + ": " + problem);
}

}  // namespace

ElfImage ElfImage::parse(ByteBuffer bytes, std::string name) {
  ElfImage image(std::move(bytes), std::move(name));
  image.parse_headers();
  return image;
}

void ElfImage::parse_headers() {
  const std::size_t size = bytes_.size();
  if (size < sizeof(FileHeader)) {
    throw InputError(name_, "is " + std::to_string(size) + " bytes, too short for an ELF header");
  }
  ByteReader reader(bytes_.span(), name_);
  const auto eh = reader.read<FileHeader>(0);
  if (std::memcmp(eh.ident, kMagic, sizeof kMagic) != 0)
    fail_at(name_, 0, "not an ELF file (bad magic)");
  if (eh.ident[kIdentClass] != kClass64) {
    fail_at(name_, kIdentClass,
            "ELF class " + std::to_string(eh.ident[kIdentClass]) +
                " is not ELFCLASS64 (a 64-bit image is required)");
  }
  if (eh.ident[kIdentData] != kDataLsb) {
    fail_at(name_, kIdentData,
            "ELF data encoding " + std::to_string(eh.ident[kIdentData]) +
                " is not little-endian (ELFDATA2LSB)");
  }
  if (eh.ident[kIdentVersion] != kVersionCurrent || eh.version != kVersionCurrent) {
    fail_at(name_, kIdentVersion, "ELF version is not 1 (EV_CURRENT)");
  }
  switch (eh.type) {
    case kTypeExec:
      break;
    case kTypeDyn:
      fail_at(name_, offsetof(FileHeader, type),
              "type ET_DYN (position-independent executable or shared object); a static "
              "executable (ET_EXEC) linked at its load address is required");
    case kTypeRel:
      fail_at(name_, offsetof(FileHeader, type),
              "type ET_REL (relocatable object), not an executable");
    case kTypeCore:
      fail_at(name_, offsetof(FileHeader, type), "type ET_CORE (core dump), not an executable");
    default:
      fail_at(name_, offsetof(FileHeader, type), "unknown ELF type " + std::to_string(eh.type));
  }
  if (eh.machine != kMachineX86_64) {
    fail_at(name_, offsetof(FileHeader, machine),
            "machine " + std::to_string(eh.machine) + " is not x86-64 (EM_X86_64 = 62)");
  }
  if (eh.ehsize != sizeof(FileHeader)) {
    fail_at(name_, offsetof(FileHeader, ehsize),
            "header size " + std::to_string(eh.ehsize) + " is not 64");
  }
  if (eh.phnum == 0) fail_at(name_, offsetof(FileHeader, phnum), "has no program headers");
  if (eh.phnum == kPnXnum)
    fail_at(name_, offsetof(FileHeader, phnum), "extended program header count");
  if (eh.phentsize != sizeof(ProgramHeader)) {
    fail_at(name_, offsetof(FileHeader, phentsize),
            "program header size " + std::to_string(eh.phentsize) + " is not 56");
  }
  const std::uint64_t table_size = std::uint64_t{eh.phnum} * sizeof(ProgramHeader);
  if (eh.phoff > size || table_size > size - eh.phoff) {
    fail_at(name_, offsetof(FileHeader, phoff),
            "program header table [" + hex(eh.phoff) + ", +" + hex(table_size) +
                ") runs past the end of the file");
  }

  struct Loaded {
    LoadSegment segment;
    std::uint64_t vaddr;
    std::size_t ph_offset;
  };
  std::vector<Loaded> loads;
  for (std::uint16_t i = 0; i < eh.phnum; ++i) {
    const std::size_t at = eh.phoff + std::size_t{i} * sizeof(ProgramHeader);
    const auto ph = reader.read<ProgramHeader>(at);
    const std::string which = "program header " + std::to_string(i);
    switch (ph.type) {
      case kPtInterp:
        fail_at(name_, at,
                which + " is PT_INTERP: a dynamically linked executable, not a static one");
      case kPtDynamic:
        fail_at(name_, at,
                which + " is PT_DYNAMIC: a dynamically linked executable, not a static one");
      case kPtNote:
        parse_notes(ph, at);
        continue;
      case kPtLoad:
        break;
      default:
        continue;  // GNU_STACK, GNU_PROPERTY, ...: no effect on loading
    }
    if (ph.filesz > ph.memsz) {
      fail_at(name_, at,
              which + " (PT_LOAD) has filesz " + hex(ph.filesz) + " above memsz " + hex(ph.memsz));
    }
    if (ph.offset > size || ph.filesz > size - ph.offset) {
      fail_at(name_, at,
              which + " (PT_LOAD) file bytes [" + hex(ph.offset) + ", +" + hex(ph.filesz) +
                  ") run past the end of the file (size " + hex(size) + ")");
    }
    if (ph.paddr > UINT64_MAX - ph.memsz || ph.vaddr > UINT64_MAX - ph.memsz) {
      fail_at(name_, at, which + " (PT_LOAD) wraps around the address space");
    }
    if (ph.memsz == 0) continue;
    loads.push_back(Loaded{
        LoadSegment{ph.paddr, ph.memsz, ph.flags, bytes_.span().subspan(ph.offset, ph.filesz)},
        ph.vaddr, at});
  }
  if (loads.empty()) throw InputError(name_, "has no loadable (PT_LOAD) segment");

  std::sort(loads.begin(), loads.end(),
            [](const Loaded& a, const Loaded& b) { return a.segment.paddr < b.segment.paddr; });
  for (std::size_t i = 1; i < loads.size(); ++i) {
    const LoadSegment& prev = loads[i - 1].segment;
    const LoadSegment& cur = loads[i].segment;
    if (cur.paddr - prev.paddr < prev.memsz) {
      fail_at(name_, loads[i].ph_offset,
              "PT_LOAD segment at " + hex(cur.paddr) + " overlaps the segment [" + hex(prev.paddr) +
                  ", " + hex(prev.paddr + prev.memsz) + ")");
    }
  }

  // The entry point is a virtual address; loaders run the image at its physical addresses.
  const Loaded* entry_segment = nullptr;
  for (const Loaded& l : loads) {
    if (eh.entry >= l.vaddr && eh.entry - l.vaddr < l.segment.memsz) entry_segment = &l;
  }
  if (!entry_segment || !(entry_segment->segment.flags & kPfExecute)) {
    fail_at(name_, offsetof(FileHeader, entry),
            "entry point " + hex(eh.entry) + " is not inside an executable PT_LOAD segment");
  }
  entry_ = eh.entry - entry_segment->vaddr + entry_segment->segment.paddr;
  for (Loaded& l : loads) segments_.push_back(l.segment);
}

void ElfImage::parse_notes(const ProgramHeader& ph, std::size_t ph_offset) {
  const std::size_t size = bytes_.size();
  if (ph.offset > size || ph.filesz > size - ph.offset) {
    throw InputError(name_, "offset " + hex(ph_offset) + ": PT_NOTE bytes [" + hex(ph.offset) +
                                ", +" + hex(ph.filesz) + ") run past the end of the file");
  }
  const std::uint64_t end = ph.offset + ph.filesz;
  std::uint64_t at = ph.offset;
  ByteReader reader(bytes_.span(), name_);
  while (at < end) {
    if (end - at < sizeof(NoteHeader)) {
      throw InputError(name_, "offset " + hex(at) + ": note header runs past its PT_NOTE segment");
    }
    const auto nh = reader.read<NoteHeader>(at);
    const std::uint64_t name_at = at + sizeof(NoteHeader);
    const std::uint64_t desc_at = name_at + align4(nh.namesz);
    const std::uint64_t next = desc_at + align4(nh.descsz);
    if (next > end) {
      throw InputError(name_, "offset " + hex(at) + ": note (namesz " + std::to_string(nh.namesz) +
                                  ", descsz " + std::to_string(nh.descsz) +
                                  ") runs past its PT_NOTE segment");
    }
    auto name_bytes = bytes_.span().subspan(name_at, nh.namesz);
    std::string note_name(name_bytes.begin(), name_bytes.end());
    if (!note_name.empty() && note_name.back() == '\0') note_name.pop_back();
    notes_.push_back(
        Note{std::move(note_name), nh.type, bytes_.span().subspan(desc_at, nh.descsz)});
    at = next;
  }
}

std::optional<std::uint32_t> ElfImage::pvh_entry() const {
  for (const Note& n : notes_) {
    if (n.name == "Xen" && n.type == kXenElfnotePhys32Entry && n.desc.size() >= 4) {
      return load_le<std::uint32_t>(n.desc.data());
    }
  }
  return std::nullopt;
}

std::uint64_t ElfImage::lowest_address() const {
  return segments_.front().paddr;
}

std::uint64_t ElfImage::highest_address() const {
  std::uint64_t end = 0;
  for (const LoadSegment& s : segments_) end = std::max(end, s.paddr + s.memsz);
  return end;
}

}  // namespace cvtpm::formats::elf
