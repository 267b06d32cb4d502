#include "cvtpm/vtpm_host/swtpm_protocol.h"

#include <optional>

#include "cvtpm/formats/endian.h"

namespace cvtpm::vtpm::host::swtpm {
namespace {

constexpr std::size_t kTpmHeaderSize = 10;
constexpr std::size_t kTpmSizeOffset = 2;

// Payload bytes of the control commands cvtpm-vtpmd reads in full: all of fixed length.
// CMD_HASH_DATA and CMD_SET_STATEBLOB (variable) have no SVSM path, so they are not buffered.
std::optional<std::size_t> payload_size(std::uint32_t code) {
  const RequestLayout layout = request_layout(code);
  if (!layout.known || layout.variable) return std::nullopt;
  return layout.fixed;
}

}  // namespace

CommandFrame next_command(std::span<const std::uint8_t> buffered, std::size_t max_command) {
  if (buffered.size() < kTpmHeaderSize) return {CommandFrame::Kind::kNeedMore, 0};
  const std::size_t size = formats::load_be<std::uint32_t>(buffered.data() + kTpmSizeOffset);
  if (size < kTpmHeaderSize || size > max_command) return {CommandFrame::Kind::kBadSize, size};
  if (buffered.size() < size) return {CommandFrame::Kind::kNeedMore, size};
  return {CommandFrame::Kind::kComplete, size};
}

ControlFrame next_control(std::span<const std::uint8_t> buffered) {
  if (buffered.size() < 4) return {ControlFrame::Kind::kNeedMore, 0, {}, 0};
  const std::uint32_t code = formats::load_be<std::uint32_t>(buffered.data());
  const std::optional<std::size_t> payload = payload_size(code);
  if (!payload) return {ControlFrame::Kind::kUndelimited, code, {}, buffered.size()};
  if (buffered.size() - 4 < *payload) return {ControlFrame::Kind::kNeedMore, code, {}, 0};
  return {ControlFrame::Kind::kComplete, code, buffered.subspan(4, *payload), 4 + *payload};
}

}  // namespace cvtpm::vtpm::host::swtpm
