// The guest's side of the SVSM protocols, as Linux and OVMF implement it, running against the
// host platform's simulated memory. Host code (the daemon, tests, benchmarks) reaches the
// service only through these, so it exercises exactly the bytes and register values a guest
// produces:
//   GuestVcpu         svsm_perform_call_protocol (Linux) / SvsmMsrProtocol (OVMF): set
//                     call_pending, load registers, VMGEXIT, check call_pending was cleared,
//                     reissue on INCOMPLETE and BUSY.
//   GuestTpmDriver    drivers/char/tpm/tpm_svsm.c + include/linux/tpm_svsm.h (and OVMF's
//                     Tpm2Svsm.c): probe with SVSM_VTPM_QUERY, TPM_SEND_COMMAND requests and
//                     response parsing, one private page reused for both.
//   GuestAttestation  sev_svsm_report_new + snp_issue_svsm_attest_req (Linux configfs-tsm):
//                     operation in the calling area, RDX = R8 = -1 to spot returned sizes,
//                     buffers grown and the call retried on INVALID_PARAMETER.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "cvtpm/formats/guid.h"
#include "cvtpm/vtpm/dispatcher.h"
#include "cvtpm/vtpm/svsm_abi.h"
#include "cvtpm/vtpm_host/host_platform.h"

namespace cvtpm::vtpm::host {

// The guest found the SVSM misbehaving (what makes Linux fail with -EINVAL and OVMF terminate).
class GuestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class GuestVcpu {
 public:
  GuestVcpu(HostPlatform& platform, Dispatcher& dispatcher, std::uint32_t vcpu_index = 0)
      : platform_(platform), dispatcher_(dispatcher), vcpu_index_(vcpu_index) {}

  // Issues one call and returns the registers after it. Throws GuestError if the SVSM does not
  // serve it (call_pending still set) or keeps answering INCOMPLETE/BUSY.
  SvsmRegisters call(const SvsmRegisters& in);
  std::uint64_t caa_gpa() const;
  std::uint32_t vcpu_index() const { return vcpu_index_; }

 private:
  HostPlatform& platform_;
  Dispatcher& dispatcher_;
  std::uint32_t vcpu_index_;
};

class GuestTpmDriver {
 public:
  // `buffer_gpa`: the driver's private request/response page.
  GuestTpmDriver(GuestVcpu& vcpu, HostPlatform& platform, std::uint64_t buffer_gpa)
      : vcpu_(vcpu), platform_(platform), buffer_gpa_(buffer_gpa) {}

  // snp_svsm_vtpm_probe: SVSM_VTPM_QUERY must succeed and offer TPM_SEND_COMMAND.
  bool probe();

  struct Exchange {
    SvsmResult result;                   // RAX of SVSM_VTPM_CMD
    std::vector<std::uint8_t> response;  // the TPM response when result is kSuccess
  };
  // One command. Throws std::invalid_argument for commands over kMaxTpmCommandSize (the driver
  // refuses those itself) and GuestError for a malformed response.
  Exchange transmit(std::span<const std::uint8_t> command, std::uint8_t locality = 0);

  std::uint64_t buffer_gpa() const { return buffer_gpa_; }
  // The request header the last transmit() wrote (the response has overwritten it since).
  std::span<const std::uint8_t> last_request_header() const { return last_request_header_; }

 private:
  GuestVcpu& vcpu_;
  HostPlatform& platform_;
  std::uint64_t buffer_gpa_;
  std::array<std::uint8_t, sizeof(TpmSendCommandRequest)> last_request_header_{};
};

struct AttestationEvidence {
  std::vector<std::uint8_t> report;
  std::vector<std::uint8_t> manifest;
  std::vector<std::uint8_t> certificates;
};

class GuestAttestation {
 public:
  // [scratch_gpa, scratch_gpa + scratch_size): page-aligned guest memory for the nonce and the
  // report, manifest and certificate buffers.
  GuestAttestation(GuestVcpu& vcpu, HostPlatform& platform, std::uint64_t scratch_gpa,
                   std::uint64_t scratch_size)
      : vcpu_(vcpu), platform_(platform), scratch_gpa_(scratch_gpa), scratch_size_(scratch_size) {}

  struct Outcome {
    SvsmResult result;
    AttestationEvidence evidence;  // filled when result is kSuccess
  };
  // SVSM_ATTEST_SERVICES when `service` is empty, else SVSM_ATTEST_SINGLE_SERVICE.
  Outcome attest(std::span<const std::uint8_t, kAttestNonceSize> nonce,
                 const std::optional<formats::Guid>& service = std::nullopt,
                 std::uint32_t manifest_version = kVtpmManifestVersion);

 private:
  GuestVcpu& vcpu_;
  HostPlatform& platform_;
  std::uint64_t scratch_gpa_;
  std::uint64_t scratch_size_;
};

// A short description of a result code, e.g. "SVSM_ERR_INVALID_PARAMETER (0x80000005)".
std::string describe(SvsmResult result);

}  // namespace cvtpm::vtpm::host
