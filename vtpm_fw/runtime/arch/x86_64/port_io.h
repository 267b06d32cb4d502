// console::PortIo on the real I/O instructions.
#pragma once

#include "arch/x86_64/cpu.h"
#include "console/port_io.h"

namespace cvtpm::fw::x86 {

class X86PortIo final : public console::PortIo {
 public:
  std::uint8_t read8(std::uint16_t port) override { return inb(port); }
  void write8(std::uint16_t port, std::uint8_t value) override { outb(port, value); }
};

}  // namespace cvtpm::fw::x86
