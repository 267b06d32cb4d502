// The SNP boot steps of the firmware at VMPL0, in the order the firmware runs them
// (docs/snp-platform.md):
//   1. check_boot_params: the measured BootParams page describes a sane SNP layout;
//   2. negotiate: GHCB protocol version 2 and the hypervisor's SNP features (MSR protocol);
//   3. setup_ghcb: one firmware page becomes this vCPU's GHCB (shared, registered);
//   4. validate_firmware_region: the firmware region outside the launched image is accepted
//      (page state change to private, PVALIDATE) before the firmware uses it;
//   then the guest is prepared (guest_setup.h) and the request loop runs (request_loop.h).
// Freestanding.
#pragma once

#include <cstdint>

#include "cvtpm/formats/boot/boot_params.h"
#include "cvtpm/snp/ghcb_client.h"
#include "cvtpm/snp/ghcb_msr.h"
#include "cvtpm/snp/hardware.h"
#include "cvtpm/snp/status.h"

namespace cvtpm::snp {

// Checks what the SNP platform relies on: magic, version, a size covering `image`, the firmware
// region the firmware is linked for, the image, secrets, CPUID and parameter pages inside it,
// the guest VMPL, the guest's SEV features (SNP set, vTOM clear) and the EK algorithm. The
// guest firmware's ranges are checked by prepare_guest().
SnpStatus check_boot_params(const formats::boot::BootParams& params);

struct HypervisorInfo {
  msr_protocol::SevInfo sev;
  std::uint64_t features;
  bool multi_vmpl;  // the hypervisor advertises SNP_MULTI_VMPL
};

struct NegotiateOptions {
  // Refuse to boot when the hypervisor does not advertise multi-VMPL support. Off by default,
  // as in COCONUT-SVSM: the host stacks that run guests at VMPL > 0 do not advertise it yet.
  bool require_multi_vmpl = false;
};

// The failure negotiate() reports for a hypervisor without GHCB protocol version 2 (the firmware
// terminates the guest with the GHCB specification's reason code for it).
inline constexpr const char* kNoGhcbVersion2 =
    "the hypervisor does not support GHCB protocol version 2";

// GHCB protocol version 2 must be within the hypervisor's range and the SNP feature advertised.
SnpResult<HypervisorInfo> negotiate(SnpHardware& hardware, const NegotiateOptions& options);

// Makes the validated firmware page at gpa this vCPU's GHCB: rescinds it, asks for it to be
// shared, maps it without the C-bit, zeroes it and registers its GPA with the hypervisor.
SnpStatus setup_ghcb(SnpHardware& hardware, std::uint64_t gpa);

// Accepts every page of the firmware region outside BootParams.image (the launch validated the
// image and nothing else).
SnpStatus validate_firmware_region(SnpHardware& hardware, GhcbClient& ghcb,
                                   const formats::boot::BootParams& params);

}  // namespace cvtpm::snp
