// Polled driver for a 16550-compatible UART (QEMU's isa-serial): 115200 8N1, FIFOs on, no
// interrupts. Used for the console and for the vTPM's serial channels.
#pragma once

#include <cstddef>
#include <cstdint>

#include "console/port_io.h"

namespace cvtpm::fw::console {

class Uart16550 {
 public:
  constexpr Uart16550(PortIo& io, std::uint16_t base) : io_(&io), base_(base) {}

  // Probes the scratch register and programs the line; false (and the UART stays unused) if
  // nothing answers at `base`.
  bool init();
  bool present() const { return present_; }
  std::uint16_t base() const { return base_; }

  // True if a received byte is waiting.
  bool readable();
  // The next received byte, or -1 if none is waiting.
  int read_byte();
  // Waits (bounded) for room in the transmitter and sends one byte; false if it never drained.
  bool write_byte(std::uint8_t byte);
  bool write(const void* data, std::size_t length);

 private:
  PortIo* io_;
  std::uint16_t base_;
  bool present_ = false;
};

// Register offsets and bits (PC16550D data sheet).
namespace uart {
inline constexpr std::uint16_t kData = 0;             // RBR / THR, DLL with DLAB
inline constexpr std::uint16_t kInterruptEnable = 1;  // IER, DLM with DLAB
inline constexpr std::uint16_t kFifoControl = 2;      // FCR (write)
inline constexpr std::uint16_t kLineControl = 3;      // LCR
inline constexpr std::uint16_t kModemControl = 4;     // MCR
inline constexpr std::uint16_t kLineStatus = 5;       // LSR
inline constexpr std::uint16_t kScratch = 7;          // SCR
inline constexpr std::uint8_t kLcrDlab = 0x80;
inline constexpr std::uint8_t kLcr8N1 = 0x03;
inline constexpr std::uint8_t kFcrEnableClear14 = 0xC7;  // enable, clear RX/TX, 14-byte trigger
inline constexpr std::uint8_t kMcrDtrRts = 0x03;
inline constexpr std::uint8_t kLsrDataReady = 0x01;
inline constexpr std::uint8_t kLsrThrEmpty = 0x20;
}  // namespace uart

}  // namespace cvtpm::fw::console
