// Preparing the guest firmware (OVMF) to run at the guest VMPL, from the measured BootParams
// (COCONUT-SVSM's sequence, docs/snp-platform.md):
//   - OVMF's pre-validated ranges and its secrets, CPUID and calling-area pages are accepted
//     (page state change to private, PVALIDATE), zeroed and granted to the guest VMPL;
//   - OVMF's flash (validated at launch) is granted to the guest VMPL;
//   - OVMF's IGVM memory map gets the guest's RAM without the firmware region (OVMF pre-validates
//     every RAM range it knows through the SVSM; COCONUT-SVSM fills the map the same way,
//     kernel/src/mm/memory.rs and boot_params.rs write_guest_memory_map);
//   - the CPUID page gets the firmware's (PSP-checked) CPUID table;
//   - the secrets page gets a copy of the firmware's with VMPCK0 .. VMPCK(guest VMPL - 1)
//     zeroed and the SVSM fields set (base and size of the firmware region, the calling area,
//     core protocol version 1, the guest VMPL);
//   - the boot VMSA, in a firmware page, is the reset state at the guest VMPL, gets the VMSA
//     flag and is registered with the hypervisor for the boot vCPU.
// Nothing outside guest RAM (never a firmware page, page table, VMSA or the real secrets page)
// is granted: every range is checked against the firmware region and guest RAM first.
// Freestanding.
#pragma once

#include <cstdint>
#include <span>

#include "cvtpm/formats/boot/boot_params.h"
#include "cvtpm/formats/snp/secrets_page.h"
#include "cvtpm/snp/cpuid_table.h"
#include "cvtpm/snp/ghcb_client.h"
#include "cvtpm/snp/guest_ram.h"
#include "cvtpm/snp/hardware.h"
#include "cvtpm/snp/log.h"
#include "cvtpm/snp/snp_platform.h"
#include "cvtpm/snp/status.h"

namespace cvtpm::snp {

// The highest SVSM core protocol version the firmware implements (secrets page field).
inline constexpr std::uint32_t kSvsmMaxCoreVersion = 1;
// OVMF images cvtpm-igvmgen accepts end at 4 GiB and are at most this large.
inline constexpr std::uint64_t kMaxFlashSize = std::uint64_t{16} << 20;

struct GuestSetupInput {
  const formats::boot::BootParams* params;
  const formats::snp::SecretsPage* secrets;  // the firmware's own secrets (private memory)
  const CpuidTable* cpuid;
  std::uint64_t vmsa_gpa;  // a firmware page for the boot vCPU's VMSA
  std::uint32_t boot_apic_id = 0;
  std::span<const GpaRange> loader_ram;  // the loader's memory map (sorted, non-overlapping)
};

// An IGVM_VHS_MEMORY_MAP_ENTRY (IGVM specification; microsoft/igvm igvm_defs), the format OVMF
// reads (edk2 OvmfPkg/Library/PlatformInitLib/Igvm.c IGVM_MEMORY_MAP_ENTRY).
struct GuestMemoryMapEntry {
  std::uint64_t starting_gpa_page_number;
  std::uint64_t number_of_pages;
  std::uint16_t entry_type;  // 0: memory
  std::uint16_t flags;
  std::uint32_t reserved;
};
static_assert(sizeof(GuestMemoryMapEntry) == 24);

// The guest's RAM map: the loader's RAM minus the firmware region, as memory entries, then a
// zero entry if there is room. Returns the entries written, or an error if they do not fit.
SnpResult<std::size_t> build_guest_memory_map(std::span<const GpaRange> loader_ram,
                                              GpaRange firmware_region,
                                              std::span<GuestMemoryMapEntry> out);

// The guest's copy of the secrets page (pure function, for the setup and the tests).
void build_guest_secrets(const formats::snp::SecretsPage& firmware_secrets, std::uint8_t guest_vmpl,
                         std::uint64_t svsm_base, std::uint64_t svsm_size, std::uint64_t caa_gpa,
                         formats::snp::SecretsPage& out);

// Checks the guest firmware's ranges in BootParams against the firmware region and guest RAM.
SnpStatus check_guest_layout(const formats::boot::BootParams& params, const GuestRam& ram);

// The whole preparation; on success the platform knows the boot vCPU.
SnpStatus prepare_guest(SnpHardware& hardware, GhcbClient& ghcb, SnpPlatform& platform,
                        const GuestSetupInput& input, Log& log);

}  // namespace cvtpm::snp
