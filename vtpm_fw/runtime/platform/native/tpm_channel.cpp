#include "platform/native/tpm_channel.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/local_apic.h"
#include "arch/x86_64/tsc_clock.h"
#include "console/log.h"
#include "platform/native/native_platform.h"

namespace cvtpm::fw::native {

void serve_tpm_channel(console::PortIo& io, transport::TpmTransportHandler& handler,
                       void (*on_idle)()) {
  static console::Uart16550 uart(io, kTpmLinkPort);
  if (!uart.init()) {
    log::warn("tpm link: no UART at 0x%x; nothing to serve", kTpmLinkPort);
    x86::halt_forever();
  }
  static transport::SerialChannel channel(uart, handler);
  log::info("tpm link: serving the vTPM on 0x%x", kTpmLinkPort);
  // Halt between requests (a spinning vCPU costs a host core under TCG): after 2 ms without a
  // byte, wait for the next 1 ms timer tick. The 2 ms keep a long command streaming while QEMU
  // refills the 16-byte receive FIFO.
  const bool can_halt = x86::local_apic::start_periodic_timer(1000);
  if (!can_halt) log::warn("tpm link: no local APIC timer; polling without halting");
  std::uint64_t last_activity = x86::tsc_clock::uptime_ns();
  bool busy = false;
  for (;;) {
    if (channel.poll()) {
      last_activity = x86::tsc_clock::uptime_ns();
      busy = true;
    } else if (x86::tsc_clock::uptime_ns() - last_activity > 2'000'000) {
      if (busy && on_idle != nullptr) on_idle();
      busy = false;
      if (can_halt) {
        x86::local_apic::wait_for_interrupt();
      } else {
        x86::pause();
      }
    } else {
      x86::pause();
    }
  }
}

}  // namespace cvtpm::fw::native
