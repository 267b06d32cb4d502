#include "transport/swtpm_control.h"

#include "cvtpm/formats/endian.h"

namespace cvtpm::fw::transport::swtpm {

using formats::load_be;
using formats::store_be;

namespace {

constexpr std::size_t kCodeSize = 4;

}  // namespace

bool ControlAssembler::set_expected_after_code() {
  const RequestLayout layout = layout_(load_be<std::uint32_t>(buffer_.data()));
  if (!layout.known) {
    error_code_ = kBadOrdinal;
    return false;
  }
  expected_ = kCodeSize + layout.fixed;
  length_field_at_ = layout.variable ? kCodeSize + layout.length_field : 0;
  return true;
}

StreamEvent ControlAssembler::push(std::uint8_t byte) {
  if (state_ == State::kDiscard) return StreamEvent::kNone;
  if (state_ == State::kIdle) {
    state_ = State::kCode;
    have_ = 0;
    expected_ = kCodeSize;
    length_field_at_ = 0;
  }
  if (have_ >= buffer_.size()) {  // only with a buffer below kBufferSize
    state_ = State::kDiscard;
    error_code_ = kBadParameter;
    return StreamEvent::kNone;
  }
  buffer_[have_++] = byte;
  if (state_ == State::kCode && have_ == kCodeSize) {
    if (!set_expected_after_code()) {
      state_ = State::kDiscard;
      return StreamEvent::kNone;
    }
    state_ = State::kPayload;
  }
  if (state_ == State::kPayload && length_field_at_ != 0 && have_ == length_field_at_ + 4) {
    const std::uint32_t length = load_be<std::uint32_t>(buffer_.data() + length_field_at_);
    if (length > kMaxVariablePayload || expected_ + length > buffer_.size()) {
      state_ = State::kDiscard;
      error_code_ = kBadParameter;
      return StreamEvent::kNone;
    }
    expected_ += length;
    length_field_at_ = 0;
  }
  if (state_ == State::kPayload && length_field_at_ == 0 && have_ == expected_) {
    state_ = State::kIdle;
    return StreamEvent::kCommand;
  }
  return StreamEvent::kNone;
}

StreamEvent ControlAssembler::idle() {
  const State was = state_;
  state_ = State::kIdle;
  have_ = 0;
  return was == State::kDiscard ? StreamEvent::kError : StreamEvent::kNone;
}

Request ControlAssembler::request() const {
  return Request{load_be<std::uint32_t>(buffer_.data()),
                 std::span<const std::uint8_t>(buffer_.data() + kCodeSize, expected_ - kCodeSize)};
}

std::uint32_t check_request(std::span<const std::uint8_t> bytes, Request& request) {
  if (bytes.size() < kCodeSize) return kBadParameter;
  const std::uint32_t code = load_be<std::uint32_t>(bytes.data());
  const RequestLayout layout = request_layout(code);
  if (!layout.known) return kBadOrdinal;
  const std::span<const std::uint8_t> payload = bytes.subspan(kCodeSize);
  std::size_t expected = layout.fixed;
  if (layout.variable) {
    if (payload.size() < layout.length_field + 4) return kBadParameter;
    const std::uint32_t length = load_be<std::uint32_t>(payload.data() + layout.length_field);
    if (length > kMaxVariablePayload) return kBadParameter;
    expected += length;
  }
  if (payload.size() != expected) return kBadParameter;
  request = Request{code, payload};
  return kSuccess;
}

std::size_t encode_result(std::uint32_t result, std::span<std::uint8_t> out) {
  if (out.size() < 4) return 0;
  store_be<std::uint32_t>(out.data(), result);
  return 4;
}

std::size_t encode_capability(std::uint64_t capabilities, std::span<std::uint8_t> out) {
  if (out.size() < 8) return 0;
  store_be<std::uint64_t>(out.data(), capabilities);
  return 8;
}

std::size_t encode_established(std::uint32_t result, bool established,
                               std::span<std::uint8_t> out) {
  if (out.size() < 8) return 0;
  store_be<std::uint32_t>(out.data(), result);
  out[4] = established ? 1 : 0;
  out[5] = out[6] = out[7] = 0;
  return 8;
}

std::size_t encode_config(std::uint32_t result, std::uint32_t flags, std::span<std::uint8_t> out) {
  if (out.size() < 8) return 0;
  store_be<std::uint32_t>(out.data(), result);
  store_be<std::uint32_t>(out.data() + 4, flags);
  return 8;
}

std::size_t encode_buffer_size(std::uint32_t result, std::uint32_t size, std::uint32_t minimum,
                               std::uint32_t maximum, std::span<std::uint8_t> out) {
  if (out.size() < 16) return 0;
  store_be<std::uint32_t>(out.data(), result);
  store_be<std::uint32_t>(out.data() + 4, size);
  store_be<std::uint32_t>(out.data() + 8, minimum);
  store_be<std::uint32_t>(out.data() + 12, maximum);
  return 16;
}

}  // namespace cvtpm::fw::transport::swtpm
