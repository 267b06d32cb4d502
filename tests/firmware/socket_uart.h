// A 16550 whose line is a connected stream socket: what QEMU's isa-serial with a socket chardev
// is to the firmware. Every transmitted byte is its own send(), as QEMU does, so host tests run
// the firmware's real serial channel against cvtpm-tpm-bridge under QEMU's byte-at-a-time
// delivery.
#pragma once

#include <sys/socket.h>

#include <cstdint>

#include "console/port_io.h"
#include "console/uart16550.h"

namespace cvtpm::fw::testing {

class SocketUart final : public console::PortIo {
 public:
  SocketUart(std::uint16_t base, int fd) : base_(base), fd_(fd) {}

  std::uint8_t read8(std::uint16_t port) override {
    switch (port - base_) {
      case console::uart::kData: {
        std::uint8_t b = 0;
        return ::recv(fd_, &b, 1, MSG_DONTWAIT) == 1 ? b : 0;
      }
      case console::uart::kLineStatus: {
        std::uint8_t b = 0;
        const bool ready = ::recv(fd_, &b, 1, MSG_DONTWAIT | MSG_PEEK) == 1;
        return static_cast<std::uint8_t>((ready ? console::uart::kLsrDataReady : 0) |
                                         console::uart::kLsrThrEmpty);
      }
      case console::uart::kScratch:
        return scratch_;
      default:
        return 0;
    }
  }

  void write8(std::uint16_t port, std::uint8_t value) override {
    if (port - base_ == console::uart::kScratch) scratch_ = value;
    if (port - base_ == console::uart::kData && !dlab_) ::send(fd_, &value, 1, MSG_NOSIGNAL);
    if (port - base_ == console::uart::kLineControl) dlab_ = (value & console::uart::kLcrDlab) != 0;
  }

 private:
  std::uint16_t base_;
  int fd_;
  std::uint8_t scratch_ = 0;
  bool dlab_ = false;
};

}  // namespace cvtpm::fw::testing
