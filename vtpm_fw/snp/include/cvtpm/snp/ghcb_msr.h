// The guest side of the GHCB MSR protocol (formats/snp/ghcb_msr_protocol.h): requests that need
// no GHCB page — version negotiation, hypervisor features, registering the GHCB page, page state
// changes of single pages, running a lower VMPL and termination. Every answer is the
// hypervisor's and is checked before use. Freestanding.
#pragma once

#include <cstdint>

#include "cvtpm/snp/hardware.h"
#include "cvtpm/snp/status.h"

namespace cvtpm::snp::msr_protocol {

struct SevInfo {
  std::uint16_t min_version;
  std::uint16_t max_version;
  std::uint8_t cbit;  // as the hypervisor claims it (the CPUID page is the trusted source)
};

// SEV information request; fails unless the answer is a SEV information response.
SnpResult<SevInfo> sev_info(SnpHardware& hardware);
// The hypervisor's feature bitmap (ghcb_msr::hv_feature).
SnpResult<std::uint64_t> hv_features(SnpHardware& hardware);
// Registers the GHCB page at gpa (page aligned) for this vCPU.
SnpStatus register_ghcb(SnpHardware& hardware, std::uint64_t gpa);
// Asks the hypervisor to make the 4 KiB page at gpa private or shared in the RMP.
SnpStatus page_state_change(SnpHardware& hardware, std::uint64_t gpa, Encryption state);
// Runs `vmpl` on this vCPU until it asks to come back to VMPL0.
SnpStatus run_vmpl(SnpHardware& hardware, std::uint8_t vmpl);
// Asks the hypervisor to end the guest. Returns only if the hypervisor ignores the request.
void request_termination(SnpHardware& hardware, std::uint8_t reason_set, std::uint8_t reason);

}  // namespace cvtpm::snp::msr_protocol
