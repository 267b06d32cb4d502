// The initial VMSAs a VMM creates for an SEV-ES/SNP guest, as the launch measurement sees them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "cvtpm/formats/snp/vmsa.h"

namespace cvtpm::measure {

using formats::snp::Vmsa;

// VMMs differ slightly in the register state they give a vCPU at reset.
enum class VmmType { kQemu, kEc2, kGce };
std::optional<VmmType> parse_vmm_type(std::string_view name);  // "QEMU", "ec2", "gce"
std::string_view vmm_type_name(VmmType type);

inline constexpr std::uint32_t kBspResetEip = 0xFFFFFFF0;

struct ResetVmsaParams {
  std::uint32_t eip;  // reset vector: 0xFFFFFFF0 for the BSP, OVMF's AP reset block for APs
  std::uint64_t sev_features;
  std::uint32_t vcpu_signature;  // RDX for QEMU guests
  VmmType vmm = VmmType::kQemu;
  // Host kernels before 6.10 left MXCSR and the x87 control word at zero in the VMSA.
  bool legacy_fpu_state = false;
};

// Real-mode reset state of a vCPU starting at `eip` (CS base = eip & 0xFFFF0000).
Vmsa reset_vmsa(const ResetVmsaParams& params);

// The VMSA of the legacy COCONUT-SVSM flash launch (sev-snp-measure --mode snp:svsm): every vCPU
// starts in 32-bit protected mode at the SVSM entry point.
Vmsa legacy_svsm_vmsa(std::uint64_t rip, std::uint32_t vcpu_signature);

inline std::span<const std::uint8_t> vmsa_bytes(const Vmsa& vmsa) {
  return {reinterpret_cast<const std::uint8_t*>(&vmsa), sizeof vmsa};
}

}  // namespace cvtpm::measure
