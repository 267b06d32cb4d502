// Xen's PVH boot ABI as QEMU implements it for `-kernel` with an XEN_ELFNOTE_PHYS32_ENTRY note:
// struct hvm_start_info and struct hvm_memmap_table_entry from Xen's public header
// xen/include/public/arch-x86/hvm/start_info.h (version 1). Little-endian. Freestanding.
// (Kept next to its only reader; it belongs under formats/ if another component needs it.)
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::fw::native::pvh {

inline constexpr std::uint32_t kStartInfoMagic = 0x336E'C578;

struct StartInfo {
  std::uint32_t magic;
  std::uint32_t version;  // 0: fields up to rsdp_paddr; 1: adds the memory map
  std::uint32_t flags;
  std::uint32_t nr_modules;
  std::uint64_t modlist_paddr;
  std::uint64_t cmdline_paddr;  // NUL-terminated ASCII, 0 if none
  std::uint64_t rsdp_paddr;
  std::uint64_t memmap_paddr;  // version >= 1
  std::uint32_t memmap_entries;
  std::uint32_t reserved;
};
static_assert(sizeof(StartInfo) == 56);
static_assert(offsetof(StartInfo, cmdline_paddr) == 24);
static_assert(offsetof(StartInfo, memmap_paddr) == 40);
inline constexpr std::size_t kStartInfoV0Size = offsetof(StartInfo, memmap_paddr);

// XEN_HVM_MEMMAP_TYPE_*: the E820 types.
inline constexpr std::uint32_t kMemmapTypeRam = 1;

struct MemmapEntry {
  std::uint64_t addr;
  std::uint64_t size;
  std::uint32_t type;
  std::uint32_t reserved;
};
static_assert(sizeof(MemmapEntry) == 24);

}  // namespace cvtpm::fw::native::pvh
