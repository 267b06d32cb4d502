// The native platform's vTPM transport: the cvtpm serial link on COM2 (transport/serial_link.h;
// cvtpm-tpm-bridge on the host turns it into swtpm's socket interface), served forever. Until
// the vTPM service core is linked in (the follow-up of issue 5), requests go to a stand-in that
// answers every TPM command with TPM_RC_FAILURE and the control requests the swtpm TCTI needs
// (locality 0, capabilities) — enough to prove the transport end to end with tpm2-tools.
#pragma once

#include "console/port_io.h"
#include "transport/serial_channel.h"

namespace cvtpm::fw::native {

// Answers like a TPM in failure mode; the swtpm TCTI can connect (SET_LOCALITY 0 succeeds).
class NoEngineHandler final : public transport::TpmTransportHandler {
 public:
  std::size_t execute(std::span<const std::uint8_t> command,
                      std::span<std::uint8_t> response) override;
  std::size_t control(const transport::swtpm::Request& request,
                      std::span<std::uint8_t> response) override;
};

[[noreturn]] void serve_tpm_channel(console::PortIo& io);

}  // namespace cvtpm::fw::native
