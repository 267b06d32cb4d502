// One simulated SNP guest with the SVSM vTPM service inside: the host platform, the TPM engine,
// the dispatcher, and the guest's vCPU 0 with its TPM and attestation drivers, laid out in guest
// RAM as Linux lays them out (calling area, the TPM driver's private page, attestation buffers).
// Used by cvtpm-vtpmd, the integration tests and the benchmarks. libtpms is one TPM per process:
// one HostVtpm at a time.
#pragma once

#include <memory>

#include "cvtpm/vtpm/dispatcher.h"
#include "cvtpm/vtpm/tpm_engine.h"
#include "cvtpm/vtpm_host/guest.h"
#include "cvtpm/vtpm_host/host_platform.h"

namespace cvtpm::vtpm::host {

struct HostVtpmOptions {
  EkAlgorithm ek_algorithm = EkAlgorithm::kRsa2048;
  ServiceConfig service;
  HostPlatformConfig platform;
};

class HostVtpm {
 public:
  // Offsets from the start of guest RAM (vCPU 0's calling area is at offset 0).
  static constexpr std::uint64_t kTpmBufferOffset = 0x1000;
  static constexpr std::uint64_t kScratchOffset = 0x10000;
  static constexpr std::uint64_t kScratchSize = 0x20000;

  // Manufactures the TPM and probes it like Linux. Throws std::runtime_error on failure.
  explicit HostVtpm(const HostVtpmOptions& options = {});
  HostVtpm(const HostVtpm&) = delete;
  HostVtpm& operator=(const HostVtpm&) = delete;

  HostPlatform& platform() { return *platform_; }
  TpmEngine& engine() { return *engine_; }
  Dispatcher& dispatcher() { return *dispatcher_; }
  GuestVcpu& vcpu() { return *vcpu_; }
  GuestTpmDriver& tpm() { return *tpm_; }
  GuestAttestation& attestation() { return *attestation_; }

 private:
  std::unique_ptr<HostPlatform> platform_;
  std::unique_ptr<TpmEngine> engine_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<GuestVcpu> vcpu_;
  std::unique_ptr<GuestTpmDriver> tpm_;
  std::unique_ptr<GuestAttestation> attestation_;
};

}  // namespace cvtpm::vtpm::host
