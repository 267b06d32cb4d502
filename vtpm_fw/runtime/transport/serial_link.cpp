#include "transport/serial_link.h"

#include "cvtpm/formats/endian.h"
#include "cvtpm/formats/igvm/crc32.h"

namespace cvtpm::fw::transport {

using formats::load_be;
using formats::store_be;

bool is_valid_frame_type(std::uint8_t type) {
  return type >= static_cast<std::uint8_t>(FrameType::kTpmCommand) &&
         type <= static_cast<std::uint8_t>(FrameType::kStateResponse);
}

std::size_t cobs_encode(const std::uint8_t* in, std::size_t size, std::uint8_t* out) {
  std::size_t code_at = 0;  // where the current block's length code goes
  std::size_t written = 1;
  std::uint8_t code = 1;
  for (std::size_t i = 0; i < size; ++i) {
    if (in[i] == 0) {
      out[code_at] = code;
      code_at = written++;
      code = 1;
      continue;
    }
    out[written++] = in[i];
    if (++code == 0xFF) {
      out[code_at] = code;
      code_at = written++;
      code = 1;
    }
  }
  out[code_at] = code;
  return written;
}

long cobs_decode(std::uint8_t* data, std::size_t size) {
  std::size_t read = 0;
  std::size_t written = 0;
  while (read < size) {
    const std::uint8_t code = data[read++];
    if (code == 0 || read + code - 1 > size) return -1;
    for (std::uint8_t i = 1; i < code; ++i) {
      if (data[read] == 0) return -1;
      data[written++] = data[read++];
    }
    // A block shorter than 254 bytes stands for a zero, except at the very end.
    if (code != 0xFF && read < size) data[written++] = 0;
  }
  return static_cast<long>(written);
}

std::size_t encode_frame(FrameType type, std::uint8_t sequence,
                         std::span<const std::uint8_t> payload, std::span<std::uint8_t> out) {
  if (payload.size() > kMaxLinkPayload) return 0;
  std::uint8_t body[kMaxLinkBody];
  const std::size_t body_size = kLinkHeaderSize + payload.size() + kLinkTrailerSize;
  body[0] = static_cast<std::uint8_t>(type);
  body[1] = sequence;
  for (std::size_t i = 0; i < payload.size(); ++i) body[kLinkHeaderSize + i] = payload[i];
  store_be<std::uint32_t>(body + kLinkHeaderSize + payload.size(),
                          formats::igvm::crc32(body, kLinkHeaderSize + payload.size()));
  if (out.size() < body_size + body_size / 254 + 1 + 2) return 0;
  out[0] = 0;
  const std::size_t encoded = cobs_encode(body, body_size, out.data() + 1);
  out[1 + encoded] = 0;
  return encoded + 2;
}

bool LinkReceiver::finish() {
  const long size = cobs_decode(buffer_, have_);
  have_ = 0;
  if (size < static_cast<long>(kLinkHeaderSize + kLinkTrailerSize) ||
      size > static_cast<long>(kMaxLinkBody) || !is_valid_frame_type(buffer_[0])) {
    ++stats_.bad_frames;
    return false;
  }
  const auto body = static_cast<std::size_t>(size);
  const std::uint32_t crc = formats::igvm::crc32(buffer_, body - kLinkTrailerSize);
  if (crc != load_be<std::uint32_t>(buffer_ + body - kLinkTrailerSize)) {
    ++stats_.bad_frames;
    return false;
  }
  body_size_ = body;
  ++stats_.frames;
  return true;
}

bool LinkReceiver::push(std::uint8_t byte) {
  if (byte == 0) {
    const bool was_overflowed = overflowed_;
    overflowed_ = false;
    if (was_overflowed) {
      have_ = 0;
      return false;
    }
    return have_ != 0 && finish();  // two zeros in a row delimit nothing
  }
  if (overflowed_) return false;
  if (have_ == sizeof buffer_) {
    overflowed_ = true;  // no frame is this long: drop everything up to the next delimiter
    ++stats_.overflows;
    have_ = 0;
    return false;
  }
  buffer_[have_++] = byte;
  return false;
}

Frame LinkReceiver::frame() const {
  return Frame{static_cast<FrameType>(buffer_[0]), buffer_[1],
               std::span<const std::uint8_t>(buffer_ + kLinkHeaderSize,
                                             body_size_ - kLinkHeaderSize - kLinkTrailerSize)};
}

}  // namespace cvtpm::fw::transport
