// Independent computations with OpenSSL's own HMAC, HKDF and AES-GCM (not vtpm_fw/crypto), so the
// state tests check the documented format (docs/persistence.md) rather than the code against
// itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace cvtpm::state::testing {

using Bytes = std::vector<std::uint8_t>;

Bytes bytes_of(std::string_view text);
Bytes from_hex(std::string_view hex);
Bytes concat(std::initializer_list<std::span<const std::uint8_t>> parts);

Bytes openssl_hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data);
// HKDF-SHA-256 in OpenSSL's extract-and-expand mode.
Bytes openssl_hkdf(std::span<const std::uint8_t> salt, std::span<const std::uint8_t> ikm,
                   std::span<const std::uint8_t> info, std::size_t length);
// HKDF-Expand only (the PRK given).
Bytes openssl_hkdf_expand(std::span<const std::uint8_t> prk, std::span<const std::uint8_t> info,
                          std::size_t length);
Bytes openssl_sha256(std::span<const std::uint8_t> data);
// Decrypts with a 96-bit IV; empty optional-like result (ok = false) when the tag fails.
bool openssl_gcm_decrypt(std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
                         std::span<const std::uint8_t> aad,
                         std::span<const std::uint8_t> ciphertext,
                         std::span<const std::uint8_t> tag, Bytes& plaintext);

}  // namespace cvtpm::state::testing
