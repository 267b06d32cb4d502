// The SVSM attestation manifest that REPORT_DATA binds (SVSM specification, pub. 58019, chapter
// 7; ../shared/reference/svsm-vtpm.md section 1.9): either the services manifest of
// SVSM_ATTEST_SERVICES (a GUID table, cvtpm::vtpm::ServicesManifestHeader) or the single vTPM
// service's manifest of SVSM_ATTEST_SINGLE_SERVICE, version 0: the marshaled TPMT_PUBLIC of the
// vTPM's endorsement key. A services manifest may also carry cvtpm's state entry (GUID
// 31e5bf5a-87b1-4ca7-a415-75feaccacbc8, docs/persistence.md "Rollback"), which is also the whole
// manifest of SVSM_ATTEST_SINGLE_SERVICE of that GUID. Parsed with bounds checks; malformed
// bytes throw InputError.
#pragma once

#include <openssl/types.h>

#include <array>
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

// The persistent vTPM state's evidence (cvtpm/formats/state/state_evidence.h), decoded.
struct StateEntry {
  enum class Status : std::uint32_t { kEphemeral = 0, kFresh = 1, kRestored = 2, kFailed = 3 };
  Status status = Status::kEphemeral;
  std::uint32_t binding = 0;  // 0 none, 1 development, 2 measurement, 3 identity
  std::uint64_t boot_generation = 0;
  std::uint64_t current_generation = 0;
  std::array<std::uint8_t, 32> boot_digest{};
  std::array<std::uint8_t, 32> current_digest{};
};
const char* state_status_name(StateEntry::Status status);  // "ephemeral", "fresh", ...
const char* state_binding_name(std::uint32_t binding);     // "none", "development", ...

struct Manifest {
  bool services = false;  // a services manifest (GUID table), else the single service's
  std::size_t service_count = 1;
  // The vTPM service's EK; empty if a services manifest lists no vTPM, and in the state
  // service's single-service manifest.
  std::optional<EndorsementKey> ek;
  // The state entry; empty if the manifest has none (an ephemeral TPM's SERVICES, the vTPM's
  // single service).
  std::optional<StateEntry> state;
};

// Classifies by the services-manifest GUID at offset 0, which no TPMT_PUBLIC can start with; a
// single-service manifest of 96 bytes starting with the state entry's version (LE 1, where a
// TPMT_PUBLIC has a big-endian RSA or ECC type: 00 01, 00 23) is the state service's.
Manifest parse_manifest(std::span<const std::uint8_t> bytes, const std::string& name);

// A TPMT_PUBLIC (RSA or ECC) as an endorsement key. Throws InputError naming `name`.
EndorsementKey parse_endorsement_key(std::span<const std::uint8_t> tpmt_public,
                                     const std::string& name);

// The EK as a PEM SubjectPublicKeyInfo (what tpm2_makecredential -G reads). Made on demand:
// OpenSSL's encoders cost a tenth of a verification.
std::string public_key_pem(const EndorsementKey& ek);

}  // namespace cvtpm::verify
