// The firmware end of the cvtpm serial link (serial_link.h): polls one UART, rebuilds frames,
// checks each request (TPM command header; swtpm control code and length) before handing it to
// the handler, and writes the response frame back. Polled, single-threaded, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "console/uart16550.h"
#include "transport/serial_link.h"
#include "transport/swtpm_control.h"
#include "transport/tpm_stream.h"

namespace cvtpm::fw::transport {

// What answers the requests (the vTPM service in the firmware; fakes in the tests).
class TpmTransportHandler {
 public:
  // Runs one TPM command (complete, header checked); writes the response into `response` and
  // returns its length (kTpmHeaderSize..response.size(); anything else is answered with
  // TPM_RC_FAILURE).
  virtual std::size_t execute(std::span<const std::uint8_t> command,
                              std::span<std::uint8_t> response) = 0;
  // Answers one control request (code known, payload length checked); returns the response
  // length (1..response.size(); 0 is answered with TPM_FAIL).
  virtual std::size_t control(const swtpm::Request& request, std::span<std::uint8_t> response) = 0;

 protected:
  ~TpmTransportHandler() = default;
};

class SerialChannel {
 public:
  static constexpr std::size_t kMaxResponse = kMaxTpmCommand;  // the most libtpms writes

  struct Stats {
    std::uint64_t tpm_commands = 0;
    std::uint64_t control_requests = 0;
    std::uint64_t rejected_requests = 0;  // failed the header/length checks
    std::uint64_t resets = 0;
    std::uint64_t unexpected_frames = 0;  // response types sent to the firmware
    std::uint64_t write_failures = 0;
  };

  SerialChannel(console::Uart16550& uart, TpmTransportHandler& handler)
      : uart_(uart), handler_(handler) {}

  // Moves up to a burst of received bytes through the link; returns true if any byte moved.
  bool poll();
  const Stats& stats() const { return stats_; }
  const LinkReceiver::Stats& link_stats() const { return receiver_.stats(); }

 private:
  void handle(const Frame& frame);
  void send(FrameType type, std::uint8_t sequence, std::size_t payload_length);

  console::Uart16550& uart_;
  TpmTransportHandler& handler_;
  LinkReceiver receiver_;
  std::uint8_t response_[kMaxResponse] = {};
  std::uint8_t frame_out_[kMaxLinkFrame] = {};
  Stats stats_;
};

}  // namespace cvtpm::fw::transport
