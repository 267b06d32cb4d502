// The native platform's transport handler: what arrives on the serial link (tpm2-tools through
// cvtpm-tpm-bridge) goes to the vTPM service the way a guest's requests do.
//
//   TPM commands     SVSM_VTPM_CMD through SvsmGuest (request built in a guest page, dispatched
//                    with RAX = 0x200000001 and RCX = the page, response parsed). A command over
//                    the SVSM buffer's 4087 bytes gets TPM_RC_COMMAND_SIZE (Linux's driver refuses
//                    it too); an SVSM error becomes TPM_RC_LOCALITY for a non-zero locality (the
//                    SVSM carries locality 0 only), TPM_RC_FAILURE otherwise.
//   control          swtpm's semantics as cvtpm-vtpmd implements them (docs/vtpm-service.md):
//                    GET_CAPABILITY, INIT (_TPM_Init with the NV state kept), SHUTDOWN and STOP
//                    (the TPM powers off until INIT; the firmware keeps serving), SET_LOCALITY
//                    0..4 (sent in each request; the SVSM refuses all but 0), GET_TPMESTABLISHED
//                    (never set), CANCEL_TPM_CMD (commands run to completion), GET_CONFIG,
//                    SET_BUFFERSIZE (fixed 4087); hashing, state blobs and the rest have no SVSM
//                    path: TPM_FAIL. cvtpm's attestation extension (swtpm::kCvtpmAttest) makes an
//                    SVSM_ATTEST_* call.
// Host-testable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cvtpm/vtpm/tpm_engine.h"
#include "platform/native/svsm_guest.h"
#include "transport/serial_channel.h"

namespace cvtpm::fw::native {

class VtpmTransportHandler final : public transport::TpmTransportHandler {
 public:
  // PTM_CAP_* bits answered to CMD_GET_CAPABILITY: 0x2CAF, cvtpm-vtpmd's 0x2C2F and
  // RESET_TPMESTABLISHED, which QEMU's tpm-emulator requires of a TPM 2 (tpm_emulator_check_caps;
  // the bridge adds SET_DATAFD, docs/firmware.md).
  static constexpr std::uint64_t kCapabilities =
      transport::swtpm::capability::kInit | transport::swtpm::capability::kShutdown |
      transport::swtpm::capability::kGetTpmEstablished |
      transport::swtpm::capability::kSetLocality | transport::swtpm::capability::kCancelTpmCommand |
      transport::swtpm::capability::kResetTpmEstablished | transport::swtpm::capability::kStop |
      transport::swtpm::capability::kGetConfig | transport::swtpm::capability::kSetBufferSize;

  struct Stats {
    std::uint64_t commands = 0;      // TPM commands sent through SVSM_VTPM_CMD
    std::uint64_t svsm_errors = 0;   // SVSM_VTPM_CMD answered with an error
    std::uint64_t malformed = 0;     // the SVSM misbehaved (call not served, bad response size)
    std::uint64_t attestations = 0;  // attestation calls
  };

  VtpmTransportHandler(SvsmGuest& guest, vtpm::TpmEngine& engine)
      : guest_(guest), engine_(engine) {}

  std::size_t execute(std::span<const std::uint8_t> command,
                      std::span<std::uint8_t> response) override;
  std::size_t control(const transport::swtpm::Request& request,
                      std::span<std::uint8_t> response) override;

  std::uint8_t locality() const { return locality_; }
  const Stats& stats() const { return stats_; }

 private:
  std::size_t attest(std::span<const std::uint8_t> payload, std::span<std::uint8_t> response);

  SvsmGuest& guest_;
  vtpm::TpmEngine& engine_;
  std::uint8_t locality_ = 0;
  Stats stats_;
};

}  // namespace cvtpm::fw::native
