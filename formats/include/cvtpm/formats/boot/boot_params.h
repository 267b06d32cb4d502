// The cvtpm firmware's entry contract and boot parameters: written by cvtpm-igvmgen into a
// measured page of the IGVM image, read by the firmware at start. One definition for both
// sides (see docs/boot-contract.md). Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::formats::boot {

// ---------------------------------------------------------------------------------------------
// Memory layout of the firmware region (guest physical addresses).

// The firmware is linked to run at this fixed GPA; its region holds the ELF segments, its
// stacks, page tables, heap and the pages below. Sized so it fits a guest with 256 MiB of RAM.
inline constexpr std::uint64_t kFirmwareBase = 0x0800'0000;        // 128 MiB
inline constexpr std::uint64_t kFirmwareRegionSize = 0x0200'0000;  // 32 MiB

// ---------------------------------------------------------------------------------------------
// Entry contract. The firmware ELF's entry point is 32-bit protected mode, flat 4 GiB code and
// data segments, paging off, interrupts off. Registers at entry:
//   EAX = kEntryMagic | platform (EntryPlatform below)
//   ESI = GPA of the BootParams page (IGVM boots) or 0
//   EBX = GPA of the PVH hvm_start_info (PVH boots) or 0
// A PVH boot (QEMU -kernel, through XEN_ELFNOTE_PHYS32_ENTRY) enters at a separate PVH stub
// that sets EAX = kEntryMagic | kPvh and ESI = 0 before joining the common entry.
inline constexpr std::uint32_t kEntryMagic = 0xC7B0'0000;
inline constexpr std::uint32_t kEntryPlatformMask = 0x0000'FFFF;

enum class EntryPlatform : std::uint32_t {
  kPvh = 1,         // plain QEMU -kernel (native platform, no IGVM)
  kIgvmNative = 2,  // IGVM NATIVE VP context (non-confidential QEMU with an IGVM loader)
  kSnp = 3,         // IGVM SEV-SNP VMSA: running at VMPL0 of an SNP guest
};

// ---------------------------------------------------------------------------------------------
// The boot parameter page (one measured 4 KiB NORMAL page in the IGVM image).

inline constexpr std::uint32_t kBootParamsMagic = 0x4254'5643;  // "CVTB" little-endian
inline constexpr std::uint32_t kBootParamsVersion = 3;
inline constexpr std::size_t kMaxPrevalidatedRanges = 16;

struct Range {
  std::uint64_t gpa;
  std::uint64_t size;
};
static_assert(sizeof(Range) == 16);

// What the firmware needs to know about the guest firmware it launches at a lower VMPL,
// taken from OVMF's own SEV metadata by cvtpm-igvmgen.
struct GuestFirmwareInfo {
  std::uint64_t flash_gpa;  // OVMF image start (it ends at 4 GiB)
  std::uint64_t flash_size;
  std::uint64_t reset_eip;    // BSP reset vector (0xFFFFFFF0)
  std::uint64_t secrets_gpa;  // OVMF's SNP_SECRETS page (the guest's copy goes here)
  std::uint64_t cpuid_gpa;    // OVMF's CPUID page
  std::uint64_t caa_gpa;      // OVMF's SVSM calling-area page (0 if OVMF has none)
  std::uint32_t prevalidated_count;
  std::uint32_t reserved;
  Range prevalidated[kMaxPrevalidatedRanges];  // SNP_SEC_MEM (+ kernel-hashes) sections
};
static_assert(sizeof(GuestFirmwareInfo) == 56 + 16 * kMaxPrevalidatedRanges);

enum class EkAlgorithm : std::uint32_t { kRsa2048 = 0, kEccP256 = 1, kEccP384 = 2 };

// How the SNP firmware derives the persistent state's root key (docs/persistence.md, "Keys"): the
// numbers of the state blob's binding field (formats/state/state_blob.h).
enum class StateBinding : std::uint32_t {
  kMeasurement = 2,  // MSG_KEY_REQ: VCEK, VMPL0, guest policy + measurement
  kIdentity = 3,     // MSG_KEY_REQ: VCEK, VMPL0, guest policy + image ID + family ID + guest SVN
};

struct BootParams {
  std::uint32_t magic;    // kBootParamsMagic
  std::uint32_t version;  // kBootParamsVersion
  std::uint32_t size;     // sizeof(BootParams)
  std::uint32_t flags;    // BootFlags

  Range firmware;  // the whole firmware region (ELF, stacks, heap, pages below)

  // Pages inside the firmware region that the image provides.
  std::uint64_t secrets_gpa;  // SNP secrets page (IGVM SECRETS page; 0 on native)
  std::uint64_t cpuid_gpa;    // SNP CPUID page (IGVM CPUID_DATA page; 0 on native)

  // Parameter areas the loader fills (IGVM PARAMETER_INSERT pages; 0 if absent).
  std::uint64_t vp_count_gpa;     // u32 vCPU count (IGVM VP_COUNT_PARAMETER)
  std::uint64_t environment_gpa;  // u32 IgvmEnvironmentInfo (IGVM ENVIRONMENT_INFO)
  std::uint64_t memory_map_gpa;   // IGVM_VHS_MEMORY_MAP_ENTRY array (IGVM MEMORY_MAP)
  std::uint64_t memory_map_size;  // bytes of the memory-map area

  std::uint16_t debug_serial_port;  // I/O port of the firmware's console (0x3F8 = COM1)
  std::uint8_t guest_vmpl;          // VMPL the guest firmware runs at (1..3)
  std::uint8_t ek_algorithm;        // EkAlgorithm
  std::uint32_t reserved0;
  std::uint64_t guest_sev_features;  // SEV_FEATURES of the guest's VMSA

  GuestFirmwareInfo guest;

  // Appended in version 1 (readers that predate it ignore it; `size` covers it): the pages of
  // the firmware region the IGVM image loads, [gpa, gpa + size) with no gaps — the ELF
  // segments, the pages between them and the boot pages after them (on the native platform the
  // CPUID and secrets pages are left out). Under SNP these are validated at launch; the rest of
  // the firmware region is not.
  Range image;

  // Appended in version 2: where the guest firmware reads an IGVM memory map (OVMF's IGVM
  // metadata: its parameter area plus the map's offset; edk2 >= stable202511 reads it in
  // OvmfPkg/Library/PlatformInitLib/Igvm.c), {0, 0} if it reads none. Under SNP the firmware
  // writes the guest's RAM there, without the firmware region; it lies in a pre-validated range.
  Range guest_memory_map;

  // Appended in version 3: the persistent vTPM's key binding under SNP (StateBinding) and, for
  // kIdentity, the GUEST_SVN its key requests name (the image's minimum SVN, >= 1: a launch
  // without an ID block has guest SVN 0 and cannot get the key). Measured like the rest of the
  // page, so a launch with another binding has another measurement. Unused on the native platform.
  std::uint32_t state_binding;
  std::uint32_t state_min_svn;
};
static_assert(offsetof(BootParams, firmware) == 16);
static_assert(offsetof(BootParams, secrets_gpa) == 32);
static_assert(offsetof(BootParams, vp_count_gpa) == 48);
static_assert(offsetof(BootParams, debug_serial_port) == 80);
static_assert(offsetof(BootParams, guest_sev_features) == 88);
static_assert(offsetof(BootParams, guest) == 96);
static_assert(offsetof(BootParams, image) == 408);
static_assert(offsetof(BootParams, guest_memory_map) == 424);
static_assert(offsetof(BootParams, state_binding) == 440);
static_assert(offsetof(BootParams, state_min_svn) == 444);
static_assert(sizeof(BootParams) == 448);
static_assert(sizeof(BootParams) <= 4096);

namespace boot_flags {
inline constexpr std::uint32_t kDebugLog = 1u << 0;  // verbose console logging
inline constexpr std::uint32_t kSelfTest = 1u << 1;  // run self-tests and exit (test images)
}  // namespace boot_flags

}  // namespace cvtpm::formats::boot
