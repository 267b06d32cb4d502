// AES-256-GCM with a 96-bit IV and a 128-bit tag, through OpenSSL's EVP interface (libcrypto is
// linked into the firmware): the cipher of SNP guest messages (vtpm_fw/snp) and of the sealed
// vTPM state (vtpm_fw/state). Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cvtpm::crypto::aes_gcm {

inline constexpr std::size_t kKeySize = 32;
inline constexpr std::size_t kIvSize = 12;
inline constexpr std::size_t kTagSize = 16;

// out.size() == plaintext.size(). Returns false if libcrypto fails.
bool encrypt(std::span<const std::uint8_t, kKeySize> key, std::span<const std::uint8_t, kIvSize> iv,
             std::span<const std::uint8_t> aad, std::span<const std::uint8_t> plaintext,
             std::span<std::uint8_t> out, std::span<std::uint8_t, kTagSize> tag);
// out.size() == ciphertext.size(). Returns false if the tag does not authenticate (out is then
// zeroed) or libcrypto fails.
bool decrypt(std::span<const std::uint8_t, kKeySize> key, std::span<const std::uint8_t, kIvSize> iv,
             std::span<const std::uint8_t> aad, std::span<const std::uint8_t> ciphertext,
             std::span<const std::uint8_t, kTagSize> tag, std::span<std::uint8_t> out);

}  // namespace cvtpm::crypto::aes_gcm
