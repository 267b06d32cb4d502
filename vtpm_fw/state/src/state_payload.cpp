#include "cvtpm/state/state_payload.h"

#include <cstring>

namespace cvtpm::state {
namespace {

namespace fs = formats::state;
using vtpm::Result;

constexpr std::size_t kHeaderSize = sizeof(fs::PayloadHeader);

bool valid_ek(vtpm::EkAlgorithm algorithm, std::size_t size) {
  const bool known = algorithm == vtpm::EkAlgorithm::kRsa2048 ||
                     algorithm == vtpm::EkAlgorithm::kEccP256 ||
                     algorithm == vtpm::EkAlgorithm::kEccP384;
  return known && size != 0 && size <= vtpm::kMaxEkPublicSize;
}

}  // namespace

const char* describe(PayloadError error) {
  switch (error) {
    case PayloadError::kTruncated:
      return "payload shorter than its sizes";
    case PayloadError::kTrailingBytes:
      return "payload longer than its sizes";
    case PayloadError::kReservedNotZero:
      return "payload reserved bytes not zero";
    case PayloadError::kEmptyPermanentState:
      return "payload without a permanent state";
    case PayloadError::kBadEk:
      return "payload EK algorithm or size invalid";
    case PayloadError::kBufferTooSmall:
      return "payload buffer too small";
  }
  return "unknown payload error";
}

Result<std::size_t, PayloadError> encode_payload(const PayloadView& payload,
                                                 std::span<std::uint8_t> out) {
  if (payload.permanent.empty() || payload.permanent.size() > UINT32_MAX) {
    return PayloadError::kEmptyPermanentState;
  }
  if (!valid_ek(payload.ek_algorithm, payload.ek_public.size())) return PayloadError::kBadEk;
  const std::size_t size = payload_size(payload.permanent.size(), payload.ek_public.size());
  if (out.size() < size) return PayloadError::kBufferTooSmall;
  fs::PayloadHeader h{};
  h.permanent_size = static_cast<std::uint32_t>(payload.permanent.size());
  h.ek_algorithm = static_cast<std::uint16_t>(payload.ek_algorithm);
  h.ek_public_size = static_cast<std::uint16_t>(payload.ek_public.size());
  std::memcpy(out.data(), &h, kHeaderSize);
  std::memcpy(out.data() + kHeaderSize, payload.permanent.data(), payload.permanent.size());
  std::memcpy(out.data() + kHeaderSize + payload.permanent.size(), payload.ek_public.data(),
              payload.ek_public.size());
  return size;
}

Result<PayloadView, PayloadError> decode_payload(std::span<const std::uint8_t> plaintext) {
  if (plaintext.size() < kHeaderSize) return PayloadError::kTruncated;
  fs::PayloadHeader h{};
  std::memcpy(&h, plaintext.data(), kHeaderSize);
  for (std::uint8_t b : h.reserved) {
    if (b != 0) return PayloadError::kReservedNotZero;
  }
  if (h.permanent_size == 0) return PayloadError::kEmptyPermanentState;
  const auto algorithm = static_cast<vtpm::EkAlgorithm>(h.ek_algorithm);
  if (!valid_ek(algorithm, h.ek_public_size)) return PayloadError::kBadEk;
  const std::size_t body = plaintext.size() - kHeaderSize;
  // Both sizes are bounded (u32 + u16), so their sum cannot overflow a 64-bit size_t.
  const std::size_t needed = std::size_t{h.permanent_size} + h.ek_public_size;
  if (body < needed) return PayloadError::kTruncated;
  if (body > needed) return PayloadError::kTrailingBytes;
  return PayloadView{plaintext.subspan(kHeaderSize, h.permanent_size), algorithm,
                     plaintext.subspan(kHeaderSize + h.permanent_size, h.ek_public_size)};
}

}  // namespace cvtpm::state
