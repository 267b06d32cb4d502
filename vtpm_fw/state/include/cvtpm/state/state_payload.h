// The plaintext of a state blob (formats::state::PayloadHeader): libtpms' permanent state and
// the EK. Decoding runs only on authenticated plaintext, but checks every size anyway.
// Freestanding; no allocation (the views point into the caller's buffer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cvtpm/formats/state/state_blob.h"
#include "cvtpm/vtpm/ek_template.h"
#include "cvtpm/vtpm/result.h"

namespace cvtpm::state {

struct PayloadView {
  std::span<const std::uint8_t> permanent;  // libtpms "permall"
  vtpm::EkAlgorithm ek_algorithm;
  std::span<const std::uint8_t> ek_public;  // marshaled TPMT_PUBLIC
};

enum class PayloadError : std::uint8_t {
  kTruncated,      // shorter than its header, or than the sizes in it
  kTrailingBytes,  // longer than the sizes in its header
  kReservedNotZero,
  kEmptyPermanentState,
  kBadEk,           // unknown algorithm, or an EK size of 0 or above kMaxEkPublicSize
  kBufferTooSmall,  // encoding: the output buffer
};

const char* describe(PayloadError error);

inline constexpr std::size_t payload_size(std::size_t permanent_size, std::size_t ek_size) {
  return sizeof(formats::state::PayloadHeader) + permanent_size + ek_size;
}

// Writes the payload into `out`; returns its size.
vtpm::Result<std::size_t, PayloadError> encode_payload(const PayloadView& payload,
                                                       std::span<std::uint8_t> out);

vtpm::Result<PayloadView, PayloadError> decode_payload(std::span<const std::uint8_t> plaintext);

}  // namespace cvtpm::state
