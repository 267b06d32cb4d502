// vtpm_fw/crypto's SHA-2, HMAC-SHA-256 and HKDF-SHA-256 against the RFCs' test vectors and
// against OpenSSL's own HMAC and HKDF for many lengths.
#include <gtest/gtest.h>

#include <openssl/rand.h>

#include "cvtpm/crypto/hkdf.h"
#include "openssl_reference.h"

namespace cvtpm::state::testing {
namespace {

Bytes hmac(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) {
  Bytes out(32);
  const std::span<const std::uint8_t> parts[] = {data};
  EXPECT_TRUE(crypto::hmac_sha256(key, parts, std::span<std::uint8_t, 32>(out.data(), 32)));
  return out;
}

TEST(Crypto, HmacSha256MatchesRfc4231) {
  // RFC 4231 test case 2 (a key shorter than the block) and 6 (longer: hashed first).
  EXPECT_EQ(hmac(bytes_of("Jefe"), bytes_of("what do ya want for nothing?")),
            from_hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
  EXPECT_EQ(
      hmac(Bytes(131, 0xaa), bytes_of("Test Using Larger Than Block-Size Key - Hash Key First")),
      from_hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"));
}

TEST(Crypto, HmacSha256MatchesOpenSslForManyKeyAndMessageLengths) {
  for (std::size_t key_size : {0, 1, 31, 32, 63, 64, 65, 200}) {
    for (std::size_t data_size : {0, 1, 55, 64, 1000}) {
      Bytes key(key_size), data(data_size);
      ASSERT_EQ(RAND_bytes(key.data(), static_cast<int>(key.size())) == 1 || key.empty(), true);
      ASSERT_EQ(RAND_bytes(data.data(), static_cast<int>(data.size())) == 1 || data.empty(), true);
      EXPECT_EQ(hmac(key, data), openssl_hmac_sha256(key, data)) << key_size << " " << data_size;
    }
  }
}

TEST(Crypto, HmacOverPartsEqualsHmacOverTheirConcatenation) {
  const Bytes key = bytes_of("key"), a = bytes_of("abc"), b = bytes_of(""), c = bytes_of("defgh");
  const std::span<const std::uint8_t> parts[] = {a, b, c};
  Bytes out(32);
  ASSERT_TRUE(crypto::hmac_sha256(key, parts, std::span<std::uint8_t, 32>(out.data(), 32)));
  EXPECT_EQ(out, openssl_hmac_sha256(key, bytes_of("abcdefgh")));
}

TEST(Crypto, HkdfMatchesRfc5869TestCase1) {
  const Bytes ikm(22, 0x0b);
  const Bytes salt = from_hex("000102030405060708090a0b0c");
  const Bytes info = from_hex("f0f1f2f3f4f5f6f7f8f9");
  std::uint8_t prk[32];
  ASSERT_TRUE(crypto::hkdf_extract(salt, ikm, prk));
  EXPECT_EQ(Bytes(prk, prk + 32),
            from_hex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"));
  Bytes okm(42);
  const std::span<const std::uint8_t> parts[] = {info};
  ASSERT_TRUE(crypto::hkdf_expand(prk, parts, okm));
  EXPECT_EQ(okm, from_hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf3400"
                          "7208d5b887185865"));
}

TEST(Crypto, HkdfMatchesOpenSslForEveryLengthUpToFourBlocksAndInfoInParts) {
  const Bytes salt = bytes_of("salt"), ikm = bytes_of("input keying material");
  const Bytes info_a = bytes_of("cvtpm "), info_b = bytes_of("label");
  std::uint8_t prk[32];
  ASSERT_TRUE(crypto::hkdf_extract(salt, ikm, prk));
  for (std::size_t length = 0; length <= 128; ++length) {
    Bytes okm(length);
    const std::span<const std::uint8_t> parts[] = {info_a, info_b};
    ASSERT_TRUE(crypto::hkdf_expand(prk, parts, okm));
    if (length == 0) continue;  // OpenSSL refuses a zero-length output
    EXPECT_EQ(okm, openssl_hkdf(salt, ikm, bytes_of("cvtpm label"), length)) << length;
  }
}

TEST(Crypto, HkdfRefusesMoreThan255Blocks) {
  std::uint8_t prk[32] = {};
  Bytes okm(255 * 32 + 1);
  EXPECT_FALSE(crypto::hkdf_expand(prk, {}, okm));
  okm.resize(255 * 32);
  EXPECT_TRUE(crypto::hkdf_expand(prk, {}, okm));
}

TEST(Crypto, Sha256AndSha384MatchFips180Abc) {
  const Bytes abc = bytes_of("abc");
  std::uint8_t d256[32];
  std::uint8_t d384[48];
  ASSERT_TRUE(crypto::sha256(abc, d256));
  ASSERT_TRUE(crypto::sha384(abc, d384));
  EXPECT_EQ(Bytes(d256, d256 + 32),
            from_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  EXPECT_EQ(Bytes(d384, d384 + 48),
            from_hex("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7c"
                     "c2358baeca134c825a7"));
}

}  // namespace
}  // namespace cvtpm::state::testing
