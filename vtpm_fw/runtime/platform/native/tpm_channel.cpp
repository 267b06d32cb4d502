#include "platform/native/tpm_channel.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/local_apic.h"
#include "arch/x86_64/tsc_clock.h"
#include "console/log.h"
#include "platform/native/native_platform.h"

namespace cvtpm::fw::native {

namespace swtpm = transport::swtpm;

std::size_t NoEngineHandler::execute(std::span<const std::uint8_t>,
                                     std::span<std::uint8_t> response) {
  return transport::encode_error_response(transport::kTpmRcFailure, response);
}

std::size_t NoEngineHandler::control(const swtpm::Request& request,
                                     std::span<std::uint8_t> response) {
  switch (request.code) {
    case swtpm::kGetCapability:
      return swtpm::encode_capability(swtpm::capability::kSetLocality, response);
    case swtpm::kSetLocality:
      // The SVSM vTPM serves locality 0 only.
      return swtpm::encode_result(request.payload[0] == 0 ? swtpm::kSuccess : swtpm::kBadLocality,
                                  response);
    default:
      return swtpm::encode_result(swtpm::kBadOrdinal, response);
  }
}

void serve_tpm_channel(console::PortIo& io) {
  static console::Uart16550 uart(io, kTpmLinkPort);
  static NoEngineHandler handler;
  if (!uart.init()) {
    log::warn("tpm link: no UART at 0x%x; nothing to serve", kTpmLinkPort);
    x86::halt_forever();
  }
  static transport::SerialChannel channel(uart, handler);
  log::info(
      "tpm link: serving on 0x%x (no TPM engine linked: TPM commands answer "
      "TPM_RC_FAILURE)",
      kTpmLinkPort);
  // Halt between requests (a spinning vCPU costs a host core under TCG): after 2 ms without a
  // byte, wait for the next 1 ms timer tick. The 2 ms keep a long command streaming while QEMU
  // refills the 16-byte receive FIFO.
  const bool can_halt = x86::local_apic::start_periodic_timer(1000);
  if (!can_halt) log::warn("tpm link: no local APIC timer; polling without halting");
  std::uint64_t last_activity = x86::tsc_clock::uptime_ns();
  for (;;) {
    if (channel.poll()) {
      last_activity = x86::tsc_clock::uptime_ns();
    } else if (can_halt && x86::tsc_clock::uptime_ns() - last_activity > 2'000'000) {
      x86::local_apic::wait_for_interrupt();
    } else {
      x86::pause();
    }
  }
}

}  // namespace cvtpm::fw::native
