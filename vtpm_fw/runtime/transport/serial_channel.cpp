#include "transport/serial_channel.h"

namespace cvtpm::fw::transport {

namespace {
// Bytes taken from the UART per poll().
constexpr int kBurst = 512;
}  // namespace

void SerialChannel::send(FrameType type, std::uint8_t sequence, std::size_t payload_length) {
  const std::size_t size = encode_frame(
      type, sequence, std::span<const std::uint8_t>(response_, payload_length), frame_out_);
  if (size == 0 || !uart_.write(frame_out_, size)) ++stats_.write_failures;
}

void SerialChannel::handle(const Frame& frame) {
  switch (frame.type) {
    case FrameType::kTpmCommand: {
      ++stats_.tpm_commands;
      std::size_t length = 0;
      if (const std::uint32_t rc = check_command(frame.payload); rc != 0) {
        ++stats_.rejected_requests;
        length = encode_error_response(rc, response_);
      } else {
        length = handler_.execute(frame.payload, response_);
        if (length < kTpmHeaderSize || length > sizeof response_) {
          length = encode_error_response(kTpmRcFailure, response_);
        }
      }
      send(FrameType::kTpmResponse, frame.sequence, length);
      return;
    }
    case FrameType::kControlRequest: {
      ++stats_.control_requests;
      swtpm::Request request{};
      std::size_t length = 0;
      if (const std::uint32_t result = swtpm::check_request(frame.payload, request);
          result != swtpm::kSuccess) {
        ++stats_.rejected_requests;
        length = swtpm::encode_result(result, response_);
      } else {
        length = handler_.control(request, response_);
        if (length == 0 || length > sizeof response_) {
          length = swtpm::encode_result(swtpm::kFail, response_);
        }
      }
      send(FrameType::kControlResponse, frame.sequence, length);
      return;
    }
    case FrameType::kReset:
      ++stats_.resets;
      send(FrameType::kResetAck, frame.sequence, 0);
      return;
    case FrameType::kTpmResponse:
    case FrameType::kControlResponse:
    case FrameType::kResetAck:
    case FrameType::kStateRequest:  // the state link has its own UART
    case FrameType::kStateResponse:
      break;
  }
  ++stats_.unexpected_frames;
}

bool SerialChannel::poll() {
  bool moved = false;
  for (int i = 0; i < kBurst; ++i) {
    const int byte = uart_.read_byte();
    if (byte < 0) break;
    moved = true;
    if (receiver_.push(static_cast<std::uint8_t>(byte))) handle(receiver_.frame());
  }
  return moved;
}

}  // namespace cvtpm::fw::transport
