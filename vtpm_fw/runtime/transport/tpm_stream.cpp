#include "transport/tpm_stream.h"

#include "cvtpm/formats/endian.h"

namespace cvtpm::fw::transport {

using formats::load_be;

StreamEvent TpmCommandAssembler::push(std::uint8_t byte) {
  switch (state_) {
    case State::kDiscard:
      return StreamEvent::kNone;
    case State::kIdle:
      state_ = State::kHeader;
      have_ = 0;
      expected_ = 0;
      [[fallthrough]];
    case State::kHeader:
    case State::kBody:
      break;
  }
  if (have_ >= buffer_.size()) {  // only with a buffer below kTpmHeaderSize
    state_ = State::kDiscard;
    error_code_ = kTpmRcCommandSize;
    return StreamEvent::kNone;
  }
  buffer_[have_++] = byte;
  if (state_ == State::kHeader) {
    if (have_ == 2) {
      const std::uint16_t tag = load_be<std::uint16_t>(buffer_.data());
      if (tag != kTpmStNoSessions && tag != kTpmStSessions) {
        state_ = State::kDiscard;
        error_code_ = kTpmRcBadTag;
        return StreamEvent::kNone;
      }
    } else if (have_ == 6) {
      const std::uint32_t size = load_be<std::uint32_t>(buffer_.data() + 2);
      if (size < kTpmHeaderSize || size > buffer_.size()) {
        state_ = State::kDiscard;
        error_code_ = kTpmRcCommandSize;
        return StreamEvent::kNone;
      }
      expected_ = size;
    } else if (have_ == kTpmHeaderSize) {
      state_ = State::kBody;
    }
  }
  if (state_ == State::kBody && have_ == expected_) {
    state_ = State::kIdle;
    return StreamEvent::kCommand;
  }
  return StreamEvent::kNone;
}

StreamEvent TpmCommandAssembler::idle() {
  const State was = state_;
  state_ = State::kIdle;
  have_ = 0;
  expected_ = 0;
  if (was == State::kDiscard) return StreamEvent::kError;
  if (was != State::kIdle) ++dropped_partials_;
  return StreamEvent::kNone;
}

std::uint32_t check_command(std::span<const std::uint8_t> command) {
  if (command.size() < kTpmHeaderSize || command.size() > kMaxTpmCommand) return kTpmRcCommandSize;
  const std::uint16_t tag = load_be<std::uint16_t>(command.data());
  if (tag != kTpmStNoSessions && tag != kTpmStSessions) return kTpmRcBadTag;
  if (load_be<std::uint32_t>(command.data() + 2) != command.size()) return kTpmRcCommandSize;
  return 0;
}

std::size_t encode_error_response(std::uint32_t response_code, std::span<std::uint8_t> out) {
  if (out.size() < kTpmHeaderSize) return 0;
  formats::store_be<std::uint16_t>(out.data(), kTpmStNoSessions);
  formats::store_be<std::uint32_t>(out.data() + 2, kTpmHeaderSize);
  formats::store_be<std::uint32_t>(out.data() + 6, response_code);
  return kTpmHeaderSize;
}

}  // namespace cvtpm::fw::transport
