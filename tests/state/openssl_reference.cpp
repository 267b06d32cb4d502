#include "openssl_reference.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include <stdexcept>

namespace cvtpm::state::testing {

Bytes bytes_of(std::string_view text) {
  return Bytes(text.begin(), text.end());
}

Bytes from_hex(std::string_view hex) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

Bytes concat(std::initializer_list<std::span<const std::uint8_t>> parts) {
  Bytes out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes openssl_hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) {
  Bytes out(32);
  unsigned int length = 0;
  // OpenSSL's HMAC reads a null key as "keep the previous one": give an empty key an address.
  static const std::uint8_t kNoKey = 0;
  if (HMAC(EVP_sha256(), key.empty() ? &kNoKey : key.data(), static_cast<int>(key.size()),
           data.data(), data.size(), out.data(), &length) == nullptr ||
      length != 32) {
    throw std::runtime_error("HMAC failed");
  }
  return out;
}

namespace {

Bytes hkdf(int mode, std::span<const std::uint8_t> salt, std::span<const std::uint8_t> key,
           std::span<const std::uint8_t> info, std::size_t length) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
  Bytes out(length);
  std::size_t out_length = length;
  const bool ok =
      ctx != nullptr && EVP_PKEY_derive_init(ctx) == 1 &&
      EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) == 1 &&
      EVP_PKEY_CTX_set_hkdf_mode(ctx, mode) == 1 &&
      (salt.empty() ||
       EVP_PKEY_CTX_set1_hkdf_salt(ctx, salt.data(), static_cast<int>(salt.size())) == 1) &&
      EVP_PKEY_CTX_set1_hkdf_key(ctx, key.data(), static_cast<int>(key.size())) == 1 &&
      EVP_PKEY_CTX_add1_hkdf_info(ctx, info.data(), static_cast<int>(info.size())) == 1 &&
      EVP_PKEY_derive(ctx, out.data(), &out_length) == 1 && out_length == length;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) throw std::runtime_error("HKDF failed");
  return out;
}

}  // namespace

Bytes openssl_hkdf(std::span<const std::uint8_t> salt, std::span<const std::uint8_t> ikm,
                   std::span<const std::uint8_t> info, std::size_t length) {
  return hkdf(EVP_PKEY_HKDEF_MODE_EXTRACT_AND_EXPAND, salt, ikm, info, length);
}

Bytes openssl_hkdf_expand(std::span<const std::uint8_t> prk, std::span<const std::uint8_t> info,
                          std::size_t length) {
  return hkdf(EVP_PKEY_HKDEF_MODE_EXPAND_ONLY, {}, prk, info, length);
}

Bytes openssl_sha256(std::span<const std::uint8_t> data) {
  Bytes out(32);
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return out;
}

bool openssl_gcm_decrypt(std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
                         std::span<const std::uint8_t> aad,
                         std::span<const std::uint8_t> ciphertext,
                         std::span<const std::uint8_t> tag, Bytes& plaintext) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  plaintext.assign(ciphertext.size(), 0);
  int length = 0;
  Bytes tag_copy(tag.begin(), tag.end());
  bool ok =
      ctx != nullptr &&
      EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()), nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx, nullptr, nullptr, key.data(), iv.data()) == 1 &&
      EVP_DecryptUpdate(ctx, nullptr, &length, aad.data(), static_cast<int>(aad.size())) == 1;
  if (ok && !ciphertext.empty()) {
    ok = EVP_DecryptUpdate(ctx, plaintext.data(), &length, ciphertext.data(),
                           static_cast<int>(ciphertext.size())) == 1;
  }
  std::uint8_t final_block[16];
  ok = ok &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_copy.size()),
                           tag_copy.data()) == 1 &&
       EVP_DecryptFinal_ex(ctx, final_block, &length) == 1;
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

}  // namespace cvtpm::state::testing
