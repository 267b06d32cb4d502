// The known answer the firmware self-test holds libtpms's 35 EVP ciphers to
// (libcrypto/libtpms_algorithms.h), recomputed here with the host's full OpenSSL: if the constant
// were wrong, the firmware check would fail for the wrong reason; if the firmware's trimmed
// provider computes something else, the self-test fails.
#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <vector>

#include "libcrypto/libtpms_algorithms.h"

namespace cvtpm::fw::libcrypto {
namespace {

std::vector<unsigned char> encrypt_pattern(const EVP_CIPHER* cipher) {
  std::vector<unsigned char> key(EVP_MAX_KEY_LENGTH), iv(EVP_MAX_IV_LENGTH);
  std::vector<unsigned char> plain(kCipherPatternSize), out(kCipherPatternSize + 32);
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<unsigned char>(i);
  for (std::size_t i = 0; i < iv.size(); ++i) iv[i] = static_cast<unsigned char>(0x80 + i);
  for (std::size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<unsigned char>(i);
  EVP_CIPHER_CTX* context = EVP_CIPHER_CTX_new();
  int length = 0, final_length = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(context, cipher, nullptr, key.data(), iv.data()), 1);
  EXPECT_EQ(EVP_CIPHER_CTX_set_padding(context, 0), 1);
  EXPECT_EQ(
      EVP_EncryptUpdate(context, out.data(), &length, plain.data(), static_cast<int>(plain.size())),
      1);
  EXPECT_EQ(EVP_EncryptFinal_ex(context, out.data() + length, &final_length), 1);
  EVP_CIPHER_CTX_free(context);
  out.resize(static_cast<std::size_t>(length + final_length));
  EXPECT_EQ(out.size(), kCipherPatternSize);
  return out;
}

TEST(LibtpmsCiphers, KnownAnswerMatchesTheHostsOpenSsl) {
  EVP_MD_CTX* all = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestInit_ex(all, EVP_sha256(), nullptr), 1);
  int count = 0;
#define CVTPM_ENCRYPT(name)                                               \
  {                                                                       \
    const auto out = encrypt_pattern(EVP_##name());                       \
    ASSERT_EQ(EVP_DigestUpdate(all, out.data(), out.size()), 1) << #name; \
    ++count;                                                              \
  }
  CVTPM_LIBTPMS_EVP_CIPHERS(CVTPM_ENCRYPT)
#undef CVTPM_ENCRYPT
  unsigned char digest[32];
  unsigned int length = 0;
  ASSERT_EQ(EVP_DigestFinal_ex(all, digest, &length), 1);
  EVP_MD_CTX_free(all);
  EXPECT_EQ(count, kLibtpmsCipherCount);
  EXPECT_EQ(std::vector<unsigned char>(digest, digest + 32),
            std::vector<unsigned char>(kLibtpmsCipherKnownAnswer, kLibtpmsCipherKnownAnswer + 32));
}

}  // namespace
}  // namespace cvtpm::fw::libcrypto
