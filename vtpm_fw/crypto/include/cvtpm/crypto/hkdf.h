// SHA-2 digests, HMAC-SHA-256 (RFC 2104) and HKDF-SHA-256 (RFC 5869) on OpenSSL's EVP digests.
// HMAC is built here from the digest because the firmware's trimmed libcrypto offers no MAC or
// KDF implementations (vtpm_fw/runtime/libcrypto/default_provider.cpp); the tests compare every
// function with OpenSSL's own HMAC and HKDF and with the RFCs' test vectors. Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cvtpm::crypto {

inline constexpr std::size_t kSha256Size = 32;
inline constexpr std::size_t kSha384Size = 48;

// One-shot digests; false if libcrypto fails.
bool sha256(std::span<const std::uint8_t> data, std::span<std::uint8_t, kSha256Size> out);
bool sha384(std::span<const std::uint8_t> data, std::span<std::uint8_t, kSha384Size> out);

// HMAC-SHA-256 over the concatenation of up to four message parts (labels, counters and salts
// are passed without copying them together first).
bool hmac_sha256(std::span<const std::uint8_t> key,
                 std::span<const std::span<const std::uint8_t>> message,
                 std::span<std::uint8_t, kSha256Size> out);

// HKDF-Extract(salt, ikm) = HMAC(salt, ikm).
bool hkdf_extract(std::span<const std::uint8_t> salt, std::span<const std::uint8_t> ikm,
                  std::span<std::uint8_t, kSha256Size> prk);

// HKDF-Expand(prk, info, L) with info = the concatenation of `info`; out.size() = L, at most
// 255 * 32 bytes.
bool hkdf_expand(std::span<const std::uint8_t, kSha256Size> prk,
                 std::span<const std::span<const std::uint8_t>> info, std::span<std::uint8_t> out);

// Overwrites secrets in a way the compiler does not drop (OPENSSL_cleanse).
void wipe(void* data, std::size_t size);

}  // namespace cvtpm::crypto
