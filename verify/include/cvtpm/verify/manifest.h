// The SVSM attestation manifest that REPORT_DATA binds (SVSM specification, pub. 58019, chapter
// 7; ../shared/reference/svsm-vtpm.md section 1.9): either the services manifest of
// SVSM_ATTEST_SERVICES (a GUID table, cvtpm::vtpm::ServicesManifestHeader) or the single vTPM
// service's manifest of SVSM_ATTEST_SINGLE_SERVICE, version 0: the marshaled TPMT_PUBLIC of the
// vTPM's endorsement key. Parsed with bounds checks; malformed bytes throw InputError.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace cvtpm::verify {

// The endorsement key a manifest attests, decoded from its TPMT_PUBLIC (TCG TPM 2.0 Library
// Part 2, "TPMT_PUBLIC").
struct EndorsementKey {
  std::vector<std::uint8_t> tpmt_public;  // as marshaled in the manifest
  std::uint16_t type = 0;                 // TPM_ALG_RSA or TPM_ALG_ECC
  std::uint16_t name_alg = 0;
  std::uint32_t attributes = 0;  // TPMA_OBJECT
  std::string algorithm;         // "rsa2048", "ecc-p256", "ecc-p384", ...
  // The TCG EK Credential Profile template the key was created from ("L-1", "L-2", "H-3"), if
  // its TPMT_PUBLIC outside `unique` is byte for byte one of the templates cvtpm creates.
  std::optional<std::string> tcg_template;
  std::shared_ptr<EVP_PKEY> public_key;
  // TPM Name: nameAlg (big-endian) || H_nameAlg(TPMT_PUBLIC), what TPM2_MakeCredential binds.
  std::vector<std::uint8_t> name;
};

struct Manifest {
  bool services = false;  // a services manifest (GUID table), else the single service's
  std::size_t service_count = 1;
  // The vTPM service's EK; empty if a services manifest lists no vTPM.
  std::optional<EndorsementKey> ek;
};

// Classifies by the services-manifest GUID at offset 0, which no TPMT_PUBLIC can start with.
Manifest parse_manifest(std::span<const std::uint8_t> bytes, const std::string& name);

// A TPMT_PUBLIC (RSA or ECC) as an endorsement key. Throws InputError naming `name`.
EndorsementKey parse_endorsement_key(std::span<const std::uint8_t> tpmt_public,
                                     const std::string& name);

// The EK as a PEM SubjectPublicKeyInfo (what tpm2_makecredential -G reads). Made on demand:
// OpenSSL's encoders cost a tenth of a verification.
std::string public_key_pem(const EndorsementKey& ek);

}  // namespace cvtpm::verify
