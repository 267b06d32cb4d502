#include "cvtpm/snp/ghcb_msr.h"

#include "cvtpm/formats/snp/ghcb_msr_protocol.h"

namespace cvtpm::snp::msr_protocol {
namespace {

namespace msr = formats::snp::ghcb_msr;

std::uint64_t exchange(SnpHardware& hardware, std::uint64_t request) {
  hardware.write_ghcb_msr(request);
  hardware.vmgexit();
  return hardware.read_ghcb_msr();
}

}  // namespace

SnpResult<SevInfo> sev_info(SnpHardware& hardware) {
  const std::uint64_t response = exchange(hardware, msr::kSevInfoRequest);
  if (msr::info(response) != msr::kSevInfoResponse) {
    return SnpError{"GHCB MSR protocol: no SEV information response", response};
  }
  return SevInfo{msr::sev_info_min_version(response), msr::sev_info_max_version(response),
                 msr::sev_info_cbit(response)};
}

SnpResult<std::uint64_t> hv_features(SnpHardware& hardware) {
  const std::uint64_t response = exchange(hardware, msr::kHvFeaturesRequest);
  if (msr::info(response) != msr::kHvFeaturesResponse) {
    return SnpError{"GHCB MSR protocol: no hypervisor features response", response};
  }
  return msr::hv_features(response);
}

SnpStatus register_ghcb(SnpHardware& hardware, std::uint64_t gpa) {
  const std::uint64_t response = exchange(hardware, msr::register_ghcb_request(gpa));
  if (msr::info(response) != msr::kRegisterGhcbResponse || (response & ~msr::kInfoMask) != gpa) {
    return SnpError{"GHCB MSR protocol: the hypervisor refused the GHCB page", gpa, response};
  }
  return SnpStatus::success();
}

SnpStatus page_state_change(SnpHardware& hardware, std::uint64_t gpa, Encryption state) {
  const std::uint64_t operation =
      state == Encryption::kPrivate ? msr::kPageStatePrivate : msr::kPageStateShared;
  const std::uint64_t response = exchange(hardware, msr::page_state_request(gpa, operation));
  if (msr::info(response) != msr::kPageStateResponse || msr::response_error(response) != 0) {
    return SnpError{"GHCB MSR protocol: page state change refused", gpa, response};
  }
  return SnpStatus::success();
}

SnpStatus run_vmpl(SnpHardware& hardware, std::uint8_t vmpl) {
  const std::uint64_t response = exchange(hardware, msr::run_vmpl_request(vmpl));
  if (msr::info(response) != msr::kRunVmplResponse || msr::response_error(response) != 0) {
    return SnpError{"GHCB MSR protocol: running the guest VMPL failed", vmpl, response};
  }
  return SnpStatus::success();
}

void request_termination(SnpHardware& hardware, std::uint8_t reason_set, std::uint8_t reason) {
  hardware.write_ghcb_msr(msr::terminate_request(reason_set, reason));
  hardware.vmgexit();
}

}  // namespace cvtpm::snp::msr_protocol
