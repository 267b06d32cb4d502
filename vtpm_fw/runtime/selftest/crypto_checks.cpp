// OpenSSL in the firmware: SHA-384 and SHA-512 against FIPS 180-2's "abc" values, AES-256-GCM
// (the cipher of SNP guest messages, through the SNP platform's own wrapper) against test case 14
// of McGrew and Viega's GCM specification, with a forged tag rejected, verification of an ECDSA
// P-384/SHA-384 signature made by the host's OpenSSL when this test was written (a known answer:
// the key and signature below), rejection of a corrupted copy, and a fresh key pair that signs
// and verifies (which draws on the RNG, seeded through getrandom from RDSEED/RDRAND).
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "cvtpm/crypto/aes_gcm.h"
#include "libc/shim.h"
#include "selftest/check.h"

namespace cvtpm::fw::selftest {

namespace {

constexpr unsigned char kSha384Abc[48] = {
    0xcb, 0x00, 0x75, 0x3f, 0x45, 0xa3, 0x5e, 0x8b, 0xb5, 0xa0, 0x3d, 0x69, 0x9a, 0xc6, 0x50, 0x07,
    0x27, 0x2c, 0x32, 0xab, 0x0e, 0xde, 0xd1, 0x63, 0x1a, 0x8b, 0x60, 0x5a, 0x43, 0xff, 0x5b, 0xed,
    0x80, 0x86, 0x07, 0x2b, 0xa1, 0xe7, 0xcc, 0x23, 0x58, 0xba, 0xec, 0xa1, 0x34, 0xc8, 0x25, 0xa7};

constexpr unsigned char kSha512Abc[64] = {
    0xdd, 0xaf, 0x35, 0xa1, 0x93, 0x61, 0x7a, 0xba, 0xcc, 0x41, 0x73, 0x49, 0xae, 0x20, 0x41, 0x31,
    0x12, 0xe6, 0xfa, 0x4e, 0x89, 0xa9, 0x7e, 0xa2, 0x0a, 0x9e, 0xee, 0xe6, 0x4b, 0x55, 0xd3, 0x9a,
    0x21, 0x92, 0x99, 0x2a, 0x27, 0x4f, 0xc1, 0xa8, 0x36, 0xba, 0x3c, 0x23, 0xa3, 0xfe, 0xeb, 0xbd,
    0x45, 0x4d, 0x44, 0x23, 0x64, 0x3c, 0xe8, 0x0e, 0x2a, 0x9a, 0xc9, 0x4f, 0xa5, 0x4c, 0xa4, 0x9f};

// GCM test case 14: zero key, zero IV, one zero block of plaintext, no AAD.
constexpr unsigned char kGcmCiphertext[16] = {0xce, 0xa7, 0x40, 0x3d, 0x4d, 0x60, 0x6b, 0x6e,
                                              0x07, 0x4e, 0xc5, 0xd3, 0xba, 0xf3, 0x9d, 0x18};
constexpr unsigned char kGcmTag[16] = {0xd0, 0xd1, 0xc8, 0xa7, 0x99, 0x99, 0x6b, 0xf0,
                                       0x26, 0x5b, 0x98, 0xb5, 0xd4, 0x8a, 0xb9, 0x19};

constexpr char kMessage[] = "cvtpm firmware self-test: ECDSA P-384 with SHA-384";

// SubjectPublicKeyInfo (DER) of the P-384 key that signed kMessage (as `openssl pkey -pubout`
// wrote it; the uncompressed point starts at offset 23).
constexpr unsigned char kPublicKey[120] = {
    0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05,
    0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00, 0x04, 0x2b, 0xa9, 0x60, 0x06, 0x3f, 0xa3,
    0xde, 0xe3, 0xe7, 0xf1, 0x1a, 0xfd, 0x25, 0x00, 0x2a, 0xf5, 0x15, 0xf9, 0x43, 0xf7, 0x77,
    0x80, 0xa8, 0xe1, 0xf3, 0x13, 0xd4, 0xa1, 0x30, 0x87, 0x4f, 0x30, 0x86, 0xbb, 0xbd, 0x48,
    0x71, 0xc9, 0x00, 0x38, 0xb4, 0xe9, 0xd8, 0x8b, 0xd4, 0x8e, 0x04, 0x73, 0x93, 0xd6, 0x8a,
    0xca, 0xd4, 0x76, 0x0e, 0x6e, 0xd6, 0x4a, 0x04, 0x15, 0x26, 0x12, 0x29, 0xfe, 0xda, 0xe7,
    0xce, 0x74, 0x8f, 0x90, 0x6e, 0x78, 0x3b, 0x4c, 0xf5, 0x07, 0xe5, 0xae, 0xad, 0xf6, 0xb0,
    0x82, 0x5c, 0x59, 0x34, 0x7b, 0x85, 0x0e, 0x5d, 0xef, 0x2b, 0xda, 0x2a, 0x3b, 0xd5, 0x24};

// ECDSA-Sig-Value (DER) over SHA-384(kMessage), made with `openssl dgst -sha384 -sign`.
constexpr unsigned char kSignature[102] = {
    0x30, 0x64, 0x02, 0x30, 0x16, 0x8f, 0x26, 0x88, 0xbd, 0x1c, 0x9b, 0xae, 0x90, 0x35, 0x82,
    0x23, 0xd3, 0xbb, 0x51, 0xe2, 0x5d, 0xb0, 0x54, 0x99, 0x96, 0x26, 0x5c, 0x44, 0x1f, 0xf1,
    0xce, 0x3b, 0x57, 0xfe, 0x8a, 0xaa, 0x73, 0x6d, 0xb2, 0x62, 0x09, 0x35, 0xcc, 0x19, 0x0c,
    0xdd, 0x18, 0x69, 0x56, 0xa9, 0x9b, 0xc6, 0x02, 0x30, 0x07, 0x03, 0xaa, 0x8e, 0xea, 0x93,
    0x80, 0xd1, 0xef, 0x65, 0xee, 0x6e, 0xf9, 0xf7, 0x7e, 0x90, 0x08, 0x06, 0xab, 0xee, 0x81,
    0x1d, 0x28, 0x05, 0x7b, 0x79, 0x46, 0x74, 0xc3, 0xa7, 0x72, 0xe7, 0x9b, 0x03, 0x87, 0x27,
    0xb5, 0x50, 0xc5, 0xd4, 0x5f, 0x0c, 0x35, 0x70, 0x33, 0xb4, 0x85, 0x11};

constexpr std::size_t kMessageLength = sizeof kMessage - 1;

bool verify(EVP_PKEY* key, const unsigned char* signature, std::size_t length) {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  const bool ok =
      context != nullptr &&
      EVP_DigestVerifyInit(context, nullptr, EVP_sha384(), nullptr, key) == 1 &&
      EVP_DigestVerify(context, signature, length, reinterpret_cast<const unsigned char*>(kMessage),
                       kMessageLength) == 1;
  EVP_MD_CTX_free(context);
  return ok;
}

// The key from its raw point (the SPKI's BIT STRING): the trimmed provider has no DER decoders,
// and the firmware never parses keys from DER.
EVP_PKEY* public_key_from_spki() {
  constexpr std::size_t kPointOffset = 23;  // SEQUENCE, AlgorithmIdentifier, BIT STRING header
  static_assert(sizeof kPublicKey - kPointOffset == 97);
  char group[] = "P-384";
  unsigned char point[97];
  libc::memcpy(point, kPublicKey + kPointOffset, sizeof point);
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point),
      OSSL_PARAM_construct_end()};
  EVP_PKEY_CTX* context = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* key = nullptr;
  if (context == nullptr || EVP_PKEY_fromdata_init(context) != 1 ||
      EVP_PKEY_fromdata(context, &key, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) != 1) {
    key = nullptr;
  }
  EVP_PKEY_CTX_free(context);
  return key;
}

bool digest_matches(const EVP_MD* md, const unsigned char* expected, unsigned int length) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  return EVP_Digest("abc", 3, digest, &digest_length, md, nullptr) == 1 &&
         digest_length == length && libc::memcmp(digest, expected, length) == 0;
}

bool aes_gcm_known_answer(Checks& checks) {
  const std::uint8_t key[crypto::aes_gcm::kKeySize] = {};
  const std::uint8_t iv[crypto::aes_gcm::kIvSize] = {};
  const std::uint8_t plaintext[16] = {};
  std::uint8_t ciphertext[16];
  std::uint8_t tag[crypto::aes_gcm::kTagSize];
  const bool encrypted = crypto::aes_gcm::encrypt(key, iv, {}, plaintext, ciphertext, tag) &&
                         libc::memcmp(ciphertext, kGcmCiphertext, 16) == 0 &&
                         libc::memcmp(tag, kGcmTag, 16) == 0;
  bool ok = checks.expect(encrypted, "OpenSSL AES-256-GCM known answer (GCM test case 14)");

  std::uint8_t decrypted[16];
  const bool opened = crypto::aes_gcm::decrypt(key, iv, {}, kGcmCiphertext, kGcmTag, decrypted) &&
                      libc::memcmp(decrypted, plaintext, 16) == 0;
  std::uint8_t forged[crypto::aes_gcm::kTagSize];
  libc::memcpy(forged, kGcmTag, sizeof forged);
  forged[0] ^= 0x80;
  const bool rejected = !crypto::aes_gcm::decrypt(key, iv, {}, kGcmCiphertext, forged, decrypted);
  ok &= checks.expect(opened && rejected, "OpenSSL AES-256-GCM opens it, rejects a forged tag");
  return ok;
}

}  // namespace

bool run_crypto_checks(Checks& checks) {
  bool ok = checks.expect(digest_matches(EVP_sha384(), kSha384Abc, sizeof kSha384Abc),
                          "OpenSSL SHA-384(\"abc\") known answer");
  ok &= checks.expect(digest_matches(EVP_sha512(), kSha512Abc, sizeof kSha512Abc),
                      "OpenSSL SHA-512(\"abc\") known answer");
  ok &= aes_gcm_known_answer(checks);

  EVP_PKEY* key = public_key_from_spki();
  ok &= checks.expect(key != nullptr && verify(key, kSignature, sizeof kSignature),
                      "OpenSSL ECDSA P-384 known signature");
  unsigned char corrupted[sizeof kSignature];
  libc::memcpy(corrupted, kSignature, sizeof kSignature);
  corrupted[sizeof corrupted - 1] ^= 0x01;
  ok &= checks.expect(key != nullptr && !verify(key, corrupted, sizeof corrupted),
                      "OpenSSL ECDSA rejects a corrupted one");
  EVP_PKEY_free(key);

  EVP_PKEY* fresh = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  unsigned char signature[128];
  std::size_t signature_length = sizeof signature;
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  const bool signed_ok =
      fresh != nullptr && context != nullptr &&
      EVP_DigestSignInit(context, nullptr, EVP_sha384(), nullptr, fresh) == 1 &&
      EVP_DigestSign(context, signature, &signature_length,
                     reinterpret_cast<const unsigned char*>(kMessage), kMessageLength) == 1;
  EVP_MD_CTX_free(context);
  ok &= checks.expect(signed_ok && verify(fresh, signature, signature_length),
                      "OpenSSL P-384 keygen, sign, verify", "%zu-byte signature", signature_length);
  EVP_PKEY_free(fresh);
  return ok;
}

}  // namespace cvtpm::fw::selftest
