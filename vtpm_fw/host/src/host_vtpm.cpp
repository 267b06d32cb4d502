#include "cvtpm/vtpm_host/host_vtpm.h"

#include <cstdio>
#include <stdexcept>
#include <string>

namespace cvtpm::vtpm::host {
namespace {

std::string engine_error_text(const EngineError& error) {
  char code[32];
  std::snprintf(code, sizeof code, " (code 0x%x)", error.code);
  return std::string(cvtpm::vtpm::describe(error.failure)) + code;
}

}  // namespace

HostVtpm::HostVtpm(const HostVtpmOptions& options)
    : platform_(std::make_unique<HostPlatform>(options.platform)),
      engine_(std::make_unique<TpmEngine>(platform_->allocator())) {
  if (const Status<EngineError> made = engine_->manufacture({options.ek_algorithm}); !made) {
    throw std::runtime_error("cannot manufacture the TPM: " + engine_error_text(made.error()));
  }
  dispatcher_ = std::make_unique<Dispatcher>(*platform_, engine_.get(), options.service);
  const std::uint64_t base = options.platform.guest_base;
  vcpu_ = std::make_unique<GuestVcpu>(*platform_, *dispatcher_, 0);
  tpm_ = std::make_unique<GuestTpmDriver>(*vcpu_, *platform_, base + kTpmBufferOffset);
  attestation_ =
      std::make_unique<GuestAttestation>(*vcpu_, *platform_, base + kScratchOffset, kScratchSize);
  if (!tpm_->probe()) throw std::runtime_error("the SVSM does not offer TPM_SEND_COMMAND");
}

}  // namespace cvtpm::vtpm::host
