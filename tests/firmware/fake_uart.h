// A register-level model of a 16550 UART behind console::PortIo, for host tests of the UART
// driver and the serial link: scratch register, line status (data ready, transmitter empty),
// a receive queue the test fills and a transmit log the test reads.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "console/port_io.h"
#include "console/uart16550.h"

namespace cvtpm::fw::testing {

class FakeUart final : public console::PortIo {
 public:
  explicit FakeUart(std::uint16_t base) : base_(base) {}

  std::uint8_t read8(std::uint16_t port) override {
    ++reads;
    if (port < base_ || port > base_ + 7) return 0xFF;  // nothing on the bus
    switch (port - base_) {
      case console::uart::kData:
        if (dlab()) return divisor_low;
        if (rx.empty()) return 0;
        {
          const std::uint8_t b = rx.front();
          rx.pop_front();
          return b;
        }
      case console::uart::kLineStatus:
        return static_cast<std::uint8_t>((rx.empty() ? 0 : console::uart::kLsrDataReady) |
                                         (transmitter_busy ? 0 : console::uart::kLsrThrEmpty));
      case console::uart::kLineControl:
        return line_control;
      case console::uart::kScratch:
        return scratch;
      default:
        return 0;
    }
  }

  void write8(std::uint16_t port, std::uint8_t value) override {
    if (port < base_ || port > base_ + 7) return;
    switch (port - base_) {
      case console::uart::kData:
        if (dlab()) {
          divisor_low = value;
        } else {
          tx.push_back(value);
        }
        break;
      case console::uart::kLineControl:
        line_control = value;
        break;
      case console::uart::kFifoControl:
        fifo_control = value;
        break;
      case console::uart::kModemControl:
        modem_control = value;
        break;
      case console::uart::kScratch:
        scratch = value;
        break;
      default:
        break;
    }
  }

  void receive(const std::vector<std::uint8_t>& bytes) {
    rx.insert(rx.end(), bytes.begin(), bytes.end());
  }
  std::vector<std::uint8_t> take_transmitted() {
    std::vector<std::uint8_t> out;
    out.swap(tx);
    return out;
  }

  std::deque<std::uint8_t> rx;
  std::vector<std::uint8_t> tx;
  std::uint8_t scratch = 0, line_control = 0, fifo_control = 0, modem_control = 0, divisor_low = 0;
  bool transmitter_busy = false;
  std::uint64_t reads = 0;

 private:
  bool dlab() const { return (line_control & console::uart::kLcrDlab) != 0; }
  std::uint16_t base_;
};

}  // namespace cvtpm::fw::testing
