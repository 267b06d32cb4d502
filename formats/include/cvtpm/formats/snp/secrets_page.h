// The SEV-SNP secrets page (SNP Firmware ABI, "Secrets Page Format", version 2/3), with the SVSM
// fields the SVSM specification (pub. 58019, "SVSM Secrets Page Fields") places in its reserved
// area. The PSP writes the page into the guest at launch (IGVM SECRETS page); an SVSM writes a
// copy for the guest OS with the keys of more privileged VMPLs zeroed and the SVSM fields set.
// Layout as Linux (struct snp_secrets_page), OVMF (SVSM_INFORMATION) and COCONUT-SVSM read it.
// All integers are little-endian. Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::formats::snp {

inline constexpr std::size_t kVmpckSize = 32;  // AES-256 key
inline constexpr std::size_t kVmpckCount = 4;  // VMPCK0..VMPCK3, one per VMPL

struct SecretsPage {
  std::uint32_t version;                        // 0x000
  std::uint32_t imien;                          // 0x004: bit 0 IMI_EN
  std::uint32_t fms;                            // 0x008: family/model/stepping
  std::uint32_t reserved_00c;                   // 0x00C
  std::uint8_t gosvw[16];                       // 0x010: guest OS-visible workarounds
  std::uint8_t vmpck[kVmpckCount][kVmpckSize];  // 0x020: VM platform communication keys
  std::uint8_t os_area[96];                     // 0x0A0: the guest OS's (Linux: sequence numbers)
  std::uint8_t vmsa_tweak_bitmap[64];           // 0x100
  // SVSM fields (zero when no SVSM runs): an SVSM is present when svsm_size != 0.
  std::uint64_t svsm_base;         // 0x140: GPA of the SVSM's memory
  std::uint64_t svsm_size;         // 0x148: its size in bytes
  std::uint64_t svsm_caa;          // 0x150: GPA of the boot vCPU's calling area (page aligned)
  std::uint32_t svsm_max_version;  // 0x158: highest core protocol version supported
  std::uint8_t svsm_guest_vmpl;    // 0x15C: VMPL the guest OS runs at
  std::uint8_t reserved_15d[3];    // 0x15D
  std::uint32_t tsc_factor;        // 0x160
  std::uint8_t reserved_164[0x1000 - 0x164];
};
static_assert(sizeof(SecretsPage) == 0x1000);
static_assert(offsetof(SecretsPage, gosvw) == 0x010);
static_assert(offsetof(SecretsPage, vmpck) == 0x020);
static_assert(offsetof(SecretsPage, os_area) == 0x0A0);
static_assert(offsetof(SecretsPage, vmsa_tweak_bitmap) == 0x100);
static_assert(offsetof(SecretsPage, svsm_base) == 0x140);
static_assert(offsetof(SecretsPage, svsm_size) == 0x148);
static_assert(offsetof(SecretsPage, svsm_caa) == 0x150);
static_assert(offsetof(SecretsPage, svsm_max_version) == 0x158);
static_assert(offsetof(SecretsPage, svsm_guest_vmpl) == 0x15C);
static_assert(offsetof(SecretsPage, tsc_factor) == 0x160);

}  // namespace cvtpm::formats::snp
