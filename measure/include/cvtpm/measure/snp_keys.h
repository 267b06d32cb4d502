// ECDSA P-384 keys and signatures in the formats of the SNP Firmware ABI (ID blocks, reports).
#pragma once

#include <openssl/types.h>

#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "cvtpm/formats/snp/id_block.h"
#include "cvtpm/support/digest.h"

namespace cvtpm::measure {

using formats::snp::EcdsaPublicKey;
using formats::snp::EcdsaSignature;

class EcP384PrivateKey {
 public:
  // Reads a PEM private key (SEC1 "EC PRIVATE KEY" or PKCS#8) on curve P-384 (secp384r1).
  // Throws InputError naming `path` otherwise.
  static EcP384PrivateKey load_pem_file(const std::filesystem::path& path);
  static EcP384PrivateKey from_pem(std::span<const std::uint8_t> pem, const std::string& name);

  EcP384PrivateKey(EcP384PrivateKey&&) noexcept;
  EcP384PrivateKey& operator=(EcP384PrivateKey&&) noexcept;
  ~EcP384PrivateKey();

  EcdsaPublicKey public_key() const;
  // ECDSA over SHA-384(data); randomized, so two signatures of the same data differ.
  EcdsaSignature sign(std::span<const std::uint8_t> data) const;

 private:
  struct Impl;
  explicit EcP384PrivateKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The public half of an EC P-384 key in the SNP ABI format. Throws InputError naming `name` if
// `key` is not an EC P-384 key.
EcdsaPublicKey snp_public_key(const EVP_PKEY& key, const std::string& name);

// Verifies an SNP-format signature with an SNP-format public key.
bool verify_snp_signature(const EcdsaPublicKey& key, std::span<const std::uint8_t> data,
                          const EcdsaSignature& signature);

// SHA-384 of the 0x404-byte public key structure: what a report's ID_KEY_DIGEST and
// AUTHOR_KEY_DIGEST hold.
Sha384Digest public_key_digest(const EcdsaPublicKey& key);

template <typename T>
std::span<const std::uint8_t> struct_bytes(const T& value) {
  return {reinterpret_cast<const std::uint8_t*>(&value), sizeof value};
}

}  // namespace cvtpm::measure
