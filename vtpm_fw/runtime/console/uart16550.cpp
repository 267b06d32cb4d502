#include "console/uart16550.h"

namespace cvtpm::fw::console {

using namespace uart;

bool Uart16550::init() {
  // An absent UART floats the bus (reads 0xFF); a present one keeps what is written to SCR.
  io_->write8(base_ + kScratch, 0x5A);
  if (io_->read8(base_ + kScratch) != 0x5A) return present_ = false;
  io_->write8(base_ + kScratch, 0xA5);
  if (io_->read8(base_ + kScratch) != 0xA5) return present_ = false;

  io_->write8(base_ + kInterruptEnable, 0x00);
  io_->write8(base_ + kLineControl, kLcrDlab);
  io_->write8(base_ + kData, 0x01);  // divisor 1: 115200 baud
  io_->write8(base_ + kInterruptEnable, 0x00);
  io_->write8(base_ + kLineControl, kLcr8N1);
  io_->write8(base_ + kFifoControl, kFcrEnableClear14);
  io_->write8(base_ + kModemControl, kMcrDtrRts);
  return present_ = true;
}

bool Uart16550::readable() {
  return present_ && (io_->read8(base_ + kLineStatus) & kLsrDataReady) != 0;
}

int Uart16550::read_byte() {
  if (!readable()) return -1;
  return io_->read8(base_ + kData);
}

bool Uart16550::write_byte(std::uint8_t byte) {
  if (!present_) return false;
  // At 115200 baud a byte takes ~87 us; this bound is far above any real drain time but
  // keeps a wedged UART from hanging the firmware.
  for (std::uint32_t spins = 0; (io_->read8(base_ + kLineStatus) & kLsrThrEmpty) == 0; ++spins) {
    if (spins > 10'000'000) return false;
  }
  io_->write8(base_ + kData, byte);
  return true;
}

bool Uart16550::write(const void* data, std::size_t length) {
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  for (std::size_t i = 0; i < length; ++i) {
    if (!write_byte(bytes[i])) return false;
  }
  return true;
}

}  // namespace cvtpm::fw::console
