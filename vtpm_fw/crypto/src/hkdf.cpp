#include "cvtpm/crypto/hkdf.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>

namespace cvtpm::crypto {
namespace {

constexpr std::size_t kBlockSize = 64;  // SHA-256's block size (FIPS 180-4)

class DigestContext {
 public:
  DigestContext() : ctx_(EVP_MD_CTX_new()) {}
  ~DigestContext() { EVP_MD_CTX_free(ctx_); }
  DigestContext(const DigestContext&) = delete;
  DigestContext& operator=(const DigestContext&) = delete;
  EVP_MD_CTX* get() const { return ctx_; }

 private:
  EVP_MD_CTX* ctx_;
};

bool digest(const EVP_MD* md, std::span<const std::uint8_t> data, std::uint8_t* out,
            std::size_t size) {
  unsigned int length = 0;
  return EVP_Digest(data.data(), data.size(), out, &length, md, nullptr) == 1 && length == size;
}

// H(pad(key) ^ byte || parts...): one half of HMAC.
bool keyed_hash(const std::uint8_t (&block)[kBlockSize], std::uint8_t pad,
                std::span<const std::span<const std::uint8_t>> parts,
                std::span<std::uint8_t, kSha256Size> out) {
  std::uint8_t padded[kBlockSize];
  for (std::size_t i = 0; i < kBlockSize; ++i) padded[i] = block[i] ^ pad;
  DigestContext ctx;
  unsigned int length = 0;
  bool ok = ctx.get() != nullptr && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx.get(), padded, sizeof padded) == 1;
  for (const std::span<const std::uint8_t>& part : parts) {
    ok = ok && (part.empty() || EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1);
  }
  ok = ok && EVP_DigestFinal_ex(ctx.get(), out.data(), &length) == 1 && length == kSha256Size;
  wipe(padded, sizeof padded);
  return ok;
}

}  // namespace

bool sha256(std::span<const std::uint8_t> data, std::span<std::uint8_t, kSha256Size> out) {
  return digest(EVP_sha256(), data, out.data(), out.size());
}

bool sha384(std::span<const std::uint8_t> data, std::span<std::uint8_t, kSha384Size> out) {
  return digest(EVP_sha384(), data, out.data(), out.size());
}

void wipe(void* data, std::size_t size) {
  if (size != 0) OPENSSL_cleanse(data, size);
}

bool hmac_sha256(std::span<const std::uint8_t> key,
                 std::span<const std::span<const std::uint8_t>> message,
                 std::span<std::uint8_t, kSha256Size> out) {
  // RFC 2104: keys longer than the block are hashed first, shorter ones zero-padded.
  std::uint8_t block[kBlockSize] = {};
  if (key.size() > kBlockSize) {
    if (!sha256(key, std::span<std::uint8_t, kSha256Size>(block, kSha256Size))) return false;
  } else if (!key.empty()) {
    std::memcpy(block, key.data(), key.size());
  }
  std::uint8_t inner[kSha256Size];
  const std::span<const std::uint8_t> inner_part[] = {inner};
  const bool ok =
      keyed_hash(block, 0x36, message, inner) && keyed_hash(block, 0x5C, inner_part, out);
  wipe(block, sizeof block);
  wipe(inner, sizeof inner);
  return ok;
}

bool hkdf_extract(std::span<const std::uint8_t> salt, std::span<const std::uint8_t> ikm,
                  std::span<std::uint8_t, kSha256Size> prk) {
  const std::span<const std::uint8_t> message[] = {ikm};
  return hmac_sha256(salt, message, prk);
}

bool hkdf_expand(std::span<const std::uint8_t, kSha256Size> prk,
                 std::span<const std::span<const std::uint8_t>> info, std::span<std::uint8_t> out) {
  constexpr std::size_t kMaxParts = 4;
  if (out.size() > 255 * kSha256Size || info.size() > kMaxParts) return false;
  // T(i) = HMAC(PRK, T(i-1) || info || i), T(0) empty.
  std::uint8_t block[kSha256Size];
  std::size_t done = 0;
  for (std::uint8_t counter = 1; done < out.size(); ++counter) {
    const std::uint8_t counter_byte[1] = {counter};
    std::span<const std::uint8_t> parts[kMaxParts + 2];
    std::size_t n = 0;
    if (counter > 1) parts[n++] = block;
    for (const std::span<const std::uint8_t>& part : info) parts[n++] = part;
    parts[n++] = counter_byte;
    if (!hmac_sha256(prk, std::span<const std::span<const std::uint8_t>>(parts, n), block)) {
      wipe(block, sizeof block);
      wipe(out.data(), out.size());
      return false;
    }
    const std::size_t take = out.size() - done < kSha256Size ? out.size() - done : kSha256Size;
    std::memcpy(out.data() + done, block, take);
    done += take;
  }
  wipe(block, sizeof block);
  return true;
}

}  // namespace cvtpm::crypto
