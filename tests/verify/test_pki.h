// A stand-in for AMD's key infrastructure, made in the tests with OpenSSL: an ARK, an ASK (or
// ASVK) and VCEKs (or VLEKs) in AMD's form (RSASSA-PSS SHA-384 signatures, the KDS subject
// names and VCEK extensions), and reports signed with a VCEK key. Everything AMD fixes can be
// changed, so each check of the verifier can be shown to fail for the right reason.
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cvtpm/formats/snp/attestation_report.h"
#include "cvtpm/verify/certificates.h"

namespace cvtpm::verify::testing {

using Bytes = std::vector<std::uint8_t>;
using Key = std::shared_ptr<EVP_PKEY>;

Key generate_rsa(int bits);
Key generate_ec(const char* curve);  // "P-384", "P-256"
// An EC P-384 public key from the SNP ABI's format (the test signer's, for instance).
Key p384_public_key(const formats::snp::EcdsaPublicKey& key);
std::string private_key_pem(const Key& key);

// How a certificate is signed; AMD's is PSS, SHA-384, MGF1-SHA-384, salt 48.
struct Signing {
  const char* digest = "SHA384";
  bool pss = true;
  const char* mgf1_digest = "SHA384";
  int salt = 48;
};

// One certificate to make. `extensions` are (OID, DER value) pairs, added as given.
struct CertificateSpec {
  std::string subject_cn;
  std::string issuer_cn;
  long serial = 1;
  Key subject_key;  // its public half is certified
  Key issuer_key;   // signs
  Signing signing;
  std::vector<std::pair<std::string, Bytes>> extensions;
};

Bytes make_certificate_der(const CertificateSpec& spec);
std::string der_to_pem(const Bytes& der);

// DER encodings of the extension values AMD uses.
Bytes der_integer(std::uint8_t value);
Bytes der_ia5(const std::string& text);
Bytes der_octets(const Bytes& bytes);

// What a VCEK certifies (defaults: a Milan-B0 chip at bl=3 tee=0 snp=8 microcode=115, the TCB
// of the real Milan report in tests/verify/data).
struct VcekSpec {
  std::string cn = "SEV-VCEK";
  std::optional<std::string> product_name = "Milan-B0";
  std::optional<std::uint8_t> bl = 3, tee = 0, snp = 8, microcode = 115, fmc = {};
  std::array<std::optional<std::uint8_t>, 4> reserved = {0, 0, 0, 0};
  std::optional<Bytes> hwid = {};  // default: TestAmd's chip ID
  bool hwid_bare = false;          // the 64 bytes without an OCTET STRING tag (early KDS form)
  std::optional<std::string> csp_id = {};
  long serial = 0;  // as KDS issues them
  Key key = {};     // default: TestAmd's VCEK key
  Key signer = {};  // default: the ASK key
  Signing signing = {};
};

// A test ARK (RSA-2048, self-signed, CN ARK-Milan) and ASK (CN SEV-Milan), made once per test
// binary, and VCEKs and reports on demand.
class TestAmd {
 public:
  static const TestAmd& get();

  const Key& ark_key() const { return ark_key_; }
  const Key& ask_key() const { return ask_key_; }
  const Key& vcek_key() const { return vcek_key_; }
  const Bytes& ark_der() const { return ark_der_; }
  const Bytes& ask_der() const { return ask_der_; }
  const std::array<std::uint8_t, 64>& chip_id() const { return chip_id_; }

  Bytes vcek_der(const VcekSpec& spec = {}) const;
  // ASK then ARK, PEM, as KDS serves cert_chain.
  std::string chain_pem() const;

  // A report as the PSP of chip_id() at the default VCEK TCB would write it: version 2, VMPL 0,
  // policy 0x30000, signed by the VCEK key (or `key`); callers change fields and call sign().
  formats::snp::AttestationReport report() const;
  void sign(formats::snp::AttestationReport& report, const Key& key = nullptr) const;

  verify::Certificate ark() const;
  verify::Certificate ask() const;
  verify::Certificate vcek(const VcekSpec& spec = {}) const;

 private:
  TestAmd();
  Key ark_key_, ask_key_, vcek_key_;
  Bytes ark_der_, ask_der_;
  std::array<std::uint8_t, 64> chip_id_{};
};

// The AMD subject name fields of KDS certificates (OU, C, L, ST, O; go-sev-guest
// verify/verify.go validateAmdLocation) with this CN.
inline const char* kAmdArkCn = "ARK-Milan";
inline const char* kAmdAskCn = "SEV-Milan";

// TPMT_PUBLIC of an EK made from cvtpm's TCG template (L-1 RSA-2048, L-2 ECC P-256) with a real
// public key filled in.
Bytes ek_tpmt_public_rsa2048();
Bytes ek_tpmt_public_ecc_p256();
// A services manifest (GUID table) holding `services` (GUID bytes, data).
Bytes services_manifest(const std::vector<std::pair<Bytes, Bytes>>& services);
Bytes vtpm_service_guid();
// cvtpm's state service GUID 31e5bf5a-87b1-4ca7-a415-75feaccacbc8, in UEFI byte order.
Bytes state_service_guid();
// The state service's 96-byte entry (docs/persistence.md, "Rollback"), written field by field;
// `boot_digest` and `current_digest` repeat one byte 32 times.
struct StateEntrySpec {
  std::uint32_t version = 1;
  std::uint32_t status = 2;   // restored
  std::uint32_t binding = 1;  // development
  std::uint32_t reserved = 0;
  std::uint64_t boot_generation = 7;
  std::uint64_t current_generation = 9;
  std::uint8_t boot_digest = 0xB7;
  std::uint8_t current_digest = 0xC9;
};
Bytes state_entry(const StateEntrySpec& spec = {});

Bytes sha512_of(const Bytes& a, const Bytes& b);

}  // namespace cvtpm::verify::testing
