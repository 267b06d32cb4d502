// X.509 certificates of the AMD SEV-SNP chain (ARK -> ASK or ASVK -> VCEK or VLEK) as a verifier
// reads them: parsed by OpenSSL from DER or PEM, the chain's RSASSA-PSS signatures checked
// without path building or clocks, and the VCEK's AMD extensions decoded with bounds checks.
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cvtpm/formats/snp/id_block.h"

namespace cvtpm::verify {

class Certificate {
 public:
  // Exactly one certificate, DER or PEM. Throws InputError naming `name` otherwise.
  static Certificate parse(std::span<const std::uint8_t> bytes, const std::string& name);
  // One or more PEM certificates, in file order. Throws InputError naming `name`.
  static std::vector<Certificate> parse_pem_bundle(std::span<const std::uint8_t> bytes,
                                                   const std::string& name);
  // parse(), or the certificate of `known` with the same DER, named `name`: OpenSSL's X.509
  // decoding is a large part of a verification's time, and a root often comes twice (--ark or
  // the built-in one, and the chain's last certificate).
  static Certificate parse_reusing(std::span<const std::uint8_t> bytes, const std::string& name,
                                   std::span<const Certificate> known);

  const std::string& name() const { return name_; }
  std::span<const std::uint8_t> der() const { return der_; }
  std::string subject_common_name() const;
  std::string issuer_common_name() const;
  // Subject and issuer are the same name (a root certificate such as the ARK).
  bool self_issued() const;
  // This certificate's issuer name is `issuer`'s subject name.
  bool named_issuer(const Certificate& issuer) const;
  const EVP_PKEY& public_key() const;
  X509& x509() const { return *x509_; }

  // The DER value (inside the extension's OCTET STRING) of the extension `oid` ("1.3.6..."), if
  // present. Throws InputError if it is present twice.
  std::optional<std::vector<std::uint8_t>> extension(const std::string& oid) const;

 private:
  Certificate(X509* x509, std::string name);
  std::shared_ptr<X509> x509_;
  std::vector<std::uint8_t> der_;
  std::string name_;
};

// Whether `subject` carries a valid signature of `issuer`'s key, made with what AMD signs its
// SEV-SNP certificates with: RSASSA-PSS, SHA-384, MGF1 with SHA-384, salt length 48
// (../shared/reference/attestation/README.md; go-sev-guest verify/verify.go checks
// SHA384WithRSAPSS). `description` says what was found when it is not.
struct SignatureCheck {
  bool valid = false;
  std::string description;
};
SignatureCheck check_signed_by(const Certificate& subject, const Certificate& issuer);

// The AMD extensions of a VCEK or VLEK (KDS specification, pub. 57230; OIDs below the prefix
// 1.3.6.1.4.1.3704.1, as go-sev-guest kds/kds.go and snpguest src/verify.rs read them).
// Absent extensions stay empty; malformed ones throw InputError naming the certificate.
struct VcekExtensions {
  std::optional<std::string> product_name;                  // .2, IA5String
  std::optional<std::uint8_t> boot_loader_spl;              // .3.1, INTEGER
  std::optional<std::uint8_t> tee_spl;                      // .3.2
  std::optional<std::uint8_t> snp_spl;                      // .3.3
  std::array<std::optional<std::uint8_t>, 4> reserved_spl;  // .3.4 - .3.7
  std::optional<std::uint8_t> microcode_spl;                // .3.8
  std::optional<std::uint8_t> fmc_spl;                      // .3.9 (Turin)
  std::optional<std::array<std::uint8_t, 64>> hwid;         // .4, the chip ID (VCEK)
  std::optional<std::string> csp_id;                        // .5 (VLEK)
};
VcekExtensions read_vcek_extensions(const Certificate& certificate);

// The certificate's key in the SNP ABI's format; throws InputError unless it is EC P-384.
formats::snp::EcdsaPublicKey snp_public_key(const Certificate& certificate);

}  // namespace cvtpm::verify
