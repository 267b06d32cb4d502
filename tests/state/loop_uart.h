// A 16550 UART register model for the state link's tests: what the driver transmits is decoded
// into frames and handed to `answer`, whose reply comes back as received bytes. Used by
// tests/state (the link alone) and tests/snp (COM3 of the SNP model behind GHCB IOIO exits).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "console/port_io.h"
#include "console/uart16550.h"
#include "transport/serial_link.h"

namespace cvtpm::state::testing {

namespace tp = fw::transport;
using Bytes = std::vector<std::uint8_t>;

// A 16550 register model whose transmitted frames go to `answer` and whose answers come back as
// received bytes.
class LoopUart final : public fw::console::PortIo {
 public:
  explicit LoopUart(std::uint16_t base) : base_(base) {}
  std::function<Bytes(const tp::Frame&)> answer;  // returns a whole frame (or nothing)

  std::uint8_t read8(std::uint16_t port) override {
    namespace u = fw::console::uart;
    switch (port - base_) {
      case u::kData: {
        if (rx.empty()) return 0;
        const std::uint8_t b = rx.front();
        rx.pop_front();
        return b;
      }
      case u::kLineStatus:
        return static_cast<std::uint8_t>((rx.empty() ? 0 : u::kLsrDataReady) | u::kLsrThrEmpty);
      case u::kScratch:
        return scratch_;
      default:
        return 0;
    }
  }
  void write8(std::uint16_t port, std::uint8_t value) override {
    namespace u = fw::console::uart;
    if (port - base_ == u::kScratch) scratch_ = value;
    if (port - base_ != u::kData || (line_control_ & u::kLcrDlab)) {
      if (port - base_ == u::kLineControl) line_control_ = value;
      return;
    }
    if (!receiver_.push(value) || !answer) return;
    const Bytes reply = answer(receiver_.frame());
    rx.insert(rx.end(), reply.begin(), reply.end());
  }
  std::deque<std::uint8_t> rx;

 private:
  std::uint16_t base_;
  std::uint8_t scratch_ = 0;
  std::uint8_t line_control_ = 0;
  tp::LinkReceiver receiver_;
};

Bytes frame_of(tp::FrameType type, std::uint8_t sequence, const Bytes& payload) {
  Bytes out(tp::kMaxLinkFrame);
  out.resize(tp::encode_frame(type, sequence, payload, out));
  return out;
}

}  // namespace cvtpm::state::testing
