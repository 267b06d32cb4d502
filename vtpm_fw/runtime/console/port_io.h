// Byte-wide I/O port access behind an interface, so device drivers (the 16550 UART) also run
// against register models in the host tests. The firmware's implementation is x86 in/out.
#pragma once

#include <cstdint>

namespace cvtpm::fw::console {

class PortIo {
 public:
  virtual std::uint8_t read8(std::uint16_t port) = 0;
  virtual void write8(std::uint16_t port, std::uint8_t value) = 0;

 protected:
  ~PortIo() = default;
};

}  // namespace cvtpm::fw::console
