// ELF-64 object file format (System V ABI, "ELF-64 Object File Format" v1.5, and the AMD64 psABI
// supplement): the file header, program headers and note headers that loading a static
// executable needs. Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::formats::elf {

inline constexpr std::uint8_t kMagic[4] = {0x7F, 'E', 'L', 'F'};
inline constexpr std::uint8_t kClass64 = 2;         // EI_CLASS: ELFCLASS64
inline constexpr std::uint8_t kDataLsb = 1;         // EI_DATA: ELFDATA2LSB
inline constexpr std::uint8_t kVersionCurrent = 1;  // EI_VERSION / e_version: EV_CURRENT

// e_ident indices.
inline constexpr std::size_t kIdentClass = 4;
inline constexpr std::size_t kIdentData = 5;
inline constexpr std::size_t kIdentVersion = 6;

// e_type.
inline constexpr std::uint16_t kTypeRel = 1;   // ET_REL
inline constexpr std::uint16_t kTypeExec = 2;  // ET_EXEC
inline constexpr std::uint16_t kTypeDyn = 3;   // ET_DYN
inline constexpr std::uint16_t kTypeCore = 4;  // ET_CORE

inline constexpr std::uint16_t kMachineX86_64 = 62;  // EM_X86_64

struct FileHeader {
  std::uint8_t ident[16];
  std::uint16_t type;
  std::uint16_t machine;
  std::uint32_t version;
  std::uint64_t entry;
  std::uint64_t phoff;
  std::uint64_t shoff;
  std::uint32_t flags;
  std::uint16_t ehsize;
  std::uint16_t phentsize;
  std::uint16_t phnum;
  std::uint16_t shentsize;
  std::uint16_t shnum;
  std::uint16_t shstrndx;
};
static_assert(sizeof(FileHeader) == 64);
static_assert(offsetof(FileHeader, entry) == 0x18);
static_assert(offsetof(FileHeader, phoff) == 0x20);
static_assert(offsetof(FileHeader, phentsize) == 0x36);
static_assert(offsetof(FileHeader, phnum) == 0x38);

// p_type.
inline constexpr std::uint32_t kPtNull = 0;
inline constexpr std::uint32_t kPtLoad = 1;
inline constexpr std::uint32_t kPtDynamic = 2;
inline constexpr std::uint32_t kPtInterp = 3;
inline constexpr std::uint32_t kPtNote = 4;
inline constexpr std::uint32_t kPtTls = 7;

// p_flags.
inline constexpr std::uint32_t kPfExecute = 0x1;
inline constexpr std::uint32_t kPfWrite = 0x2;
inline constexpr std::uint32_t kPfRead = 0x4;

struct ProgramHeader {
  std::uint32_t type;
  std::uint32_t flags;
  std::uint64_t offset;
  std::uint64_t vaddr;
  std::uint64_t paddr;
  std::uint64_t filesz;
  std::uint64_t memsz;
  std::uint64_t align;
};
static_assert(sizeof(ProgramHeader) == 56);
static_assert(offsetof(ProgramHeader, paddr) == 0x18);
static_assert(offsetof(ProgramHeader, memsz) == 0x28);

// A note: this header, the name (namesz bytes incl. NUL) padded to 4, the descriptor padded to 4.
struct NoteHeader {
  std::uint32_t namesz;
  std::uint32_t descsz;
  std::uint32_t type;
};
static_assert(sizeof(NoteHeader) == 12);

// Xen's ELF note types (name "Xen"); QEMU -kernel enters a PVH kernel at the 32-bit physical
// address in the XEN_ELFNOTE_PHYS32_ENTRY note.
inline constexpr std::uint32_t kXenElfnotePhys32Entry = 18;

}  // namespace cvtpm::formats::elf
