// The trimmed default provider (libcrypto/default_provider.cpp) in the firmware: every cipher
// libtpms reaches through EVP encrypts a fixed pattern, and SHA-256 over all 35 outputs equals the
// value the host's OpenSSL computes for the same inputs (a known answer for the lot); the digests
// libtpms asks EVP_get_digestbyname for hash; the RSA and EC operations libtpms and the firmware
// use can be fetched; and algorithms the trimming removed cannot.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "libc/shim.h"
#include "libcrypto/libtpms_algorithms.h"
#include "selftest/check.h"

namespace cvtpm::fw::selftest {

namespace {

constexpr std::size_t kPatternSize = libcrypto::kCipherPatternSize;

// Encrypts the pattern with `cipher`; false if libcrypto cannot (the algorithm is not provided).
bool encrypt_pattern(const EVP_CIPHER* cipher, unsigned char (&out)[kPatternSize]) {
  unsigned char key[EVP_MAX_KEY_LENGTH];
  unsigned char iv[EVP_MAX_IV_LENGTH];
  unsigned char plain[kPatternSize];
  for (unsigned i = 0; i < sizeof key; ++i) key[i] = static_cast<unsigned char>(i);
  for (unsigned i = 0; i < sizeof iv; ++i) iv[i] = static_cast<unsigned char>(0x80 + i);
  for (unsigned i = 0; i < sizeof plain; ++i) plain[i] = static_cast<unsigned char>(i);
  EVP_CIPHER_CTX* context = EVP_CIPHER_CTX_new();
  int length = 0;
  int final_length = 0;
  const bool ok = context != nullptr &&
                  EVP_EncryptInit_ex(context, cipher, nullptr, key, iv) == 1 &&
                  EVP_CIPHER_CTX_set_padding(context, 0) == 1 &&
                  EVP_EncryptUpdate(context, out, &length, plain, kPatternSize) == 1 &&
                  EVP_EncryptFinal_ex(context, out + length, &final_length) == 1 &&
                  length + final_length == static_cast<int>(kPatternSize);
  EVP_CIPHER_CTX_free(context);
  return ok;
}

}  // namespace

bool run_provider_checks(Checks& checks) {
  EVP_MD_CTX* all = EVP_MD_CTX_new();
  bool digest_ok = all != nullptr && EVP_DigestInit_ex(all, EVP_sha256(), nullptr) == 1;
  int ciphers = 0;
  const char* missing = "";
#define CVTPM_ENCRYPT(name)                                                 \
  {                                                                         \
    unsigned char out[kPatternSize];                                        \
    if (encrypt_pattern(EVP_##name(), out)) {                               \
      ++ciphers;                                                            \
      digest_ok = digest_ok && EVP_DigestUpdate(all, out, sizeof out) == 1; \
    } else if (missing[0] == '\0') {                                        \
      missing = #name;                                                      \
    }                                                                       \
  }
  CVTPM_LIBTPMS_EVP_CIPHERS(CVTPM_ENCRYPT)
#undef CVTPM_ENCRYPT
  unsigned char digest[32];
  unsigned int digest_length = 0;
  digest_ok = digest_ok && EVP_DigestFinal_ex(all, digest, &digest_length) == 1;
  EVP_MD_CTX_free(all);
  bool ok = checks.expect(missing[0] == '\0' && ciphers == libcrypto::kLibtpmsCipherCount,
                          "libtpms's 35 EVP ciphers run", "%d ran, first missing: %s", ciphers,
                          missing[0] ? missing : "none");
  ok &= checks.expect(
      digest_ok && libc::memcmp(digest, libcrypto::kLibtpmsCipherKnownAnswer, 32) == 0,
      "libtpms's ciphers known answer (host OpenSSL)", "SHA-256 of the outputs %02x%02x%02x%02x...",
      digest[0], digest[1], digest[2], digest[3]);

  int digests = 0;
#define CVTPM_HASH(name)                                                             \
  {                                                                                  \
    const EVP_MD* md = EVP_get_digestbyname(name);                                   \
    unsigned char out[EVP_MAX_MD_SIZE];                                              \
    unsigned int out_length = 0;                                                     \
    if (md != nullptr && EVP_Digest("abc", 3, out, &out_length, md, nullptr) == 1 && \
        out_length == static_cast<unsigned int>(EVP_MD_get_size(md))) {              \
      ++digests;                                                                     \
    }                                                                                \
  }
  CVTPM_LIBTPMS_DIGEST_NAMES(CVTPM_HASH)
#undef CVTPM_HASH
  ok &= checks.expect(digests == 4, "libtpms's digests by name (SHA-1/256/384/512)", "%d of 4",
                      digests);

  EVP_KEYMGMT* rsa_keys = EVP_KEYMGMT_fetch(nullptr, "RSA", nullptr);
  EVP_KEYMGMT* ec_keys = EVP_KEYMGMT_fetch(nullptr, "EC", nullptr);
  EVP_SIGNATURE* rsa_signature = EVP_SIGNATURE_fetch(nullptr, "RSA", nullptr);
  EVP_SIGNATURE* ecdsa = EVP_SIGNATURE_fetch(nullptr, "ECDSA", nullptr);
  EVP_ASYM_CIPHER* rsa_cipher = EVP_ASYM_CIPHER_fetch(nullptr, "RSA", nullptr);
  EVP_RAND* drbg = EVP_RAND_fetch(nullptr, "CTR-DRBG", nullptr);
  ok &= checks.expect(rsa_keys != nullptr && ec_keys != nullptr && rsa_signature != nullptr &&
                          ecdsa != nullptr && rsa_cipher != nullptr && drbg != nullptr,
                      "RSA/EC keys, RSA/ECDSA signatures, RSA-OAEP, CTR-DRBG");
  EVP_KEYMGMT_free(rsa_keys);
  EVP_KEYMGMT_free(ec_keys);
  EVP_SIGNATURE_free(rsa_signature);
  EVP_SIGNATURE_free(ecdsa);
  EVP_ASYM_CIPHER_free(rsa_cipher);
  EVP_RAND_free(drbg);

  // What the trimming removed is gone (it is not linked: nothing can run it).
  EVP_MD* md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  EVP_CIPHER* chacha = EVP_CIPHER_fetch(nullptr, "ChaCha20", nullptr);
  EVP_KEYMGMT* x25519 = EVP_KEYMGMT_fetch(nullptr, "X25519", nullptr);
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_KDF* hkdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  ok &= checks.expect(md5 == nullptr && chacha == nullptr && x25519 == nullptr && hmac == nullptr &&
                          hkdf == nullptr,
                      "trimmed: no MD5, ChaCha20, X25519, HMAC, HKDF");
  EVP_MD_free(md5);
  EVP_CIPHER_free(chacha);
  EVP_KEYMGMT_free(x25519);
  EVP_MAC_free(hmac);
  EVP_KDF_free(hkdf);
  ERR_clear_error();  // the failed fetches queued errors
  return ok;
}

}  // namespace cvtpm::fw::selftest
