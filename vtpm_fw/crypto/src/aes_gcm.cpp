#include "cvtpm/crypto/aes_gcm.h"

#include <cstring>

#include <openssl/evp.h>

namespace cvtpm::crypto::aes_gcm {
namespace {

class CipherContext {
 public:
  CipherContext() : ctx_(EVP_CIPHER_CTX_new()) {}
  ~CipherContext() { EVP_CIPHER_CTX_free(ctx_); }
  CipherContext(const CipherContext&) = delete;
  CipherContext& operator=(const CipherContext&) = delete;
  EVP_CIPHER_CTX* get() const { return ctx_; }

 private:
  EVP_CIPHER_CTX* ctx_;
};

bool fits_int(std::size_t n) {
  return n <= 0x7FFF'FFFF;
}

}  // namespace

bool encrypt(std::span<const std::uint8_t, kKeySize> key, std::span<const std::uint8_t, kIvSize> iv,
             std::span<const std::uint8_t> aad, std::span<const std::uint8_t> plaintext,
             std::span<std::uint8_t> out, std::span<std::uint8_t, kTagSize> tag) {
  if (out.size() != plaintext.size() || !fits_int(plaintext.size()) || !fits_int(aad.size())) {
    return false;
  }
  CipherContext ctx;
  int length = 0;
  if (ctx.get() == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kIvSize, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), iv.data()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &length, aad.data(), static_cast<int>(aad.size())) !=
          1) {
    return false;
  }
  if (!plaintext.empty() && (EVP_EncryptUpdate(ctx.get(), out.data(), &length, plaintext.data(),
                                               static_cast<int>(plaintext.size())) != 1 ||
                             static_cast<std::size_t>(length) != plaintext.size())) {
    return false;
  }
  std::uint8_t final_block[16];
  if (EVP_EncryptFinal_ex(ctx.get(), final_block, &length) != 1 || length != 0) return false;
  return EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, tag.data()) == 1;
}

bool decrypt(std::span<const std::uint8_t, kKeySize> key, std::span<const std::uint8_t, kIvSize> iv,
             std::span<const std::uint8_t> aad, std::span<const std::uint8_t> ciphertext,
             std::span<const std::uint8_t, kTagSize> tag, std::span<std::uint8_t> out) {
  if (out.size() != ciphertext.size() || !fits_int(ciphertext.size()) || !fits_int(aad.size())) {
    return false;
  }
  CipherContext ctx;
  int length = 0;
  std::uint8_t tag_copy[kTagSize];
  std::memcpy(tag_copy, tag.data(), kTagSize);
  bool ok =
      ctx.get() != nullptr &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kIvSize, nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), iv.data()) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &length, aad.data(), static_cast<int>(aad.size())) == 1;
  if (ok && !ciphertext.empty()) {
    ok = EVP_DecryptUpdate(ctx.get(), out.data(), &length, ciphertext.data(),
                           static_cast<int>(ciphertext.size())) == 1 &&
         static_cast<std::size_t>(length) == ciphertext.size();
  }
  std::uint8_t final_block[16];
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag_copy) == 1 &&
       EVP_DecryptFinal_ex(ctx.get(), final_block, &length) == 1;
  if (!ok && !out.empty()) std::memset(out.data(), 0, out.size());
  return ok;
}

}  // namespace cvtpm::crypto::aes_gcm
