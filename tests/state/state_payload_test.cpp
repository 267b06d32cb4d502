// The plaintext of a state blob: libtpms' permanent state and the EK, every size checked.
#include <gtest/gtest.h>

#include <cstring>

#include "cvtpm/state/state_payload.h"
#include "openssl_reference.h"

namespace cvtpm::state::testing {
namespace {

Bytes encode(const Bytes& permanent, vtpm::EkAlgorithm algorithm, const Bytes& ek) {
  Bytes out(payload_size(permanent.size(), ek.size()));
  const auto size = encode_payload({permanent, algorithm, ek}, out);
  EXPECT_TRUE(size.ok());
  return out;
}

TEST(StatePayload, RoundTripsAndHasTheDocumentedLayout) {
  const Bytes permanent(1234, 0x11), ek(120, 0x22);
  const Bytes payload = encode(permanent, vtpm::EkAlgorithm::kEccP256, ek);
  ASSERT_EQ(payload.size(), 16u + 1234u + 120u);
  EXPECT_EQ(payload[0] | payload[1] << 8, 1234);
  EXPECT_EQ(payload[4], 1);  // EK algorithm
  EXPECT_EQ(payload[6], 120);
  EXPECT_EQ(Bytes(payload.begin() + 8, payload.begin() + 16), Bytes(8, 0));
  const auto view = decode_payload(payload);
  ASSERT_TRUE(view);
  EXPECT_EQ(Bytes(view.value().permanent.begin(), view.value().permanent.end()), permanent);
  EXPECT_EQ(Bytes(view.value().ek_public.begin(), view.value().ek_public.end()), ek);
  EXPECT_EQ(view.value().ek_algorithm, vtpm::EkAlgorithm::kEccP256);
}

TEST(StatePayload, EveryTruncationAndTrailingByteIsRefused) {
  const Bytes payload = encode(Bytes(40, 1), vtpm::EkAlgorithm::kRsa2048, Bytes(30, 2));
  for (std::size_t size = 0; size < payload.size(); ++size) {
    EXPECT_EQ(decode_payload(std::span(payload).first(size)).error(), PayloadError::kTruncated)
        << size;
  }
  Bytes longer = payload;
  longer.push_back(0);
  EXPECT_EQ(decode_payload(longer).error(), PayloadError::kTrailingBytes);
}

TEST(StatePayload, BadFieldsAreRefused) {
  const Bytes good = encode(Bytes(40, 1), vtpm::EkAlgorithm::kRsa2048, Bytes(30, 2));
  Bytes reserved = good;
  reserved[12] = 1;
  EXPECT_EQ(decode_payload(reserved).error(), PayloadError::kReservedNotZero);
  Bytes algorithm = good;
  algorithm[4] = 3;
  EXPECT_EQ(decode_payload(algorithm).error(), PayloadError::kBadEk);
  Bytes no_ek = good;
  no_ek[6] = 0;
  EXPECT_EQ(decode_payload(no_ek).error(), PayloadError::kBadEk);
  Bytes big_ek = good;
  big_ek[7] = 0x10;  // 4096 + 30 > kMaxEkPublicSize
  EXPECT_EQ(decode_payload(big_ek).error(), PayloadError::kBadEk);
  Bytes empty = good;
  std::memset(empty.data(), 0, 4);
  EXPECT_EQ(decode_payload(empty).error(), PayloadError::kEmptyPermanentState);
}

TEST(StatePayload, EncodeRefusesWhatDecodeWouldRefuse) {
  Bytes out(1000);
  const Bytes permanent(10, 1), ek(10, 2);
  EXPECT_EQ(encode_payload({{}, vtpm::EkAlgorithm::kRsa2048, ek}, out).error(),
            PayloadError::kEmptyPermanentState);
  EXPECT_EQ(encode_payload({permanent, vtpm::EkAlgorithm::kRsa2048, {}}, out).error(),
            PayloadError::kBadEk);
  Bytes small(35);
  EXPECT_EQ(encode_payload({permanent, vtpm::EkAlgorithm::kRsa2048, ek}, small).error(),
            PayloadError::kBufferTooSmall);
}

}  // namespace
}  // namespace cvtpm::state::testing
