// The libcrypto algorithms libtpms.a (0.9) reaches through EVP, so the trimmed default provider
// (libcrypto/default_provider.cpp) must offer each. The cipher list is exactly the EVP_<cipher>
// getters `nm -u libtpms.a` shows (firmware_image_tests fails naming any new one); the digests
// are the names libtpms passes to EVP_get_digestbyname (CryptHash's GetDigestNameByHashAlg) for
// RSA-OAEP and RSA signatures. The self-test runs every one of them in the firmware.
#pragma once

// clang-format off
#define CVTPM_LIBTPMS_EVP_CIPHERS(X) \
  X(aes_128_cbc) \
  X(aes_128_cfb128) \
  X(aes_128_ctr) \
  X(aes_128_ecb) \
  X(aes_128_ofb) \
  X(aes_192_cbc) \
  X(aes_192_cfb128) \
  X(aes_192_ctr) \
  X(aes_192_ecb) \
  X(aes_192_ofb) \
  X(aes_256_cbc) \
  X(aes_256_cfb128) \
  X(aes_256_ctr) \
  X(aes_256_ecb) \
  X(aes_256_ofb) \
  X(camellia_128_cbc) \
  X(camellia_128_cfb128) \
  X(camellia_128_ctr) \
  X(camellia_128_ecb) \
  X(camellia_128_ofb) \
  X(camellia_192_cbc) \
  X(camellia_192_cfb128) \
  X(camellia_192_ctr) \
  X(camellia_192_ecb) \
  X(camellia_192_ofb) \
  X(camellia_256_cbc) \
  X(camellia_256_cfb128) \
  X(camellia_256_ctr) \
  X(camellia_256_ecb) \
  X(camellia_256_ofb) \
  X(des_ede3) \
  X(des_ede3_cbc) \
  X(des_ede3_cfb64) \
  X(des_ede3_ecb) \
  X(des_ede3_ofb)
// clang-format on

#define CVTPM_LIBTPMS_DIGEST_NAMES(X) X("sha1") X("sha256") X("sha384") X("sha512")

namespace cvtpm::fw::libcrypto {

// Known answer for the ciphers above, in their order: each encrypts the 32 bytes 0x00..0x1f with
// key bytes 0x00, 0x01, ... and IV bytes 0x80, 0x81, ..., without padding; this is SHA-256 of the
// 35 outputs concatenated, as the host's OpenSSL 3.0 computes it (tests/firmware/libcrypto_test.cpp
// recomputes it on the host; the firmware self-test through the trimmed provider).
inline constexpr unsigned char kLibtpmsCipherKnownAnswer[32] = {
    0xfe, 0x3a, 0xa9, 0x3c, 0x82, 0xaa, 0xf1, 0x42, 0x25, 0xc8, 0xae, 0xd5, 0x37, 0xb5, 0x23, 0x78,
    0xe9, 0xac, 0xba, 0xb0, 0x90, 0x4c, 0x49, 0x99, 0xcc, 0x64, 0x3a, 0xd9, 0x81, 0xdd, 0x96, 0xbc};
inline constexpr int kLibtpmsCipherCount = 35;
inline constexpr unsigned kCipherPatternSize = 32;

}  // namespace cvtpm::fw::libcrypto
