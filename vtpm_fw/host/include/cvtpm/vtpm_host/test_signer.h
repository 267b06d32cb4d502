// A stand-in for the AMD secure processor on the host: produces SNP ATTESTATION_REPORTs signed
// with a fixed, published TEST key (ECDSA P-384 over the first 0x2A0 bytes, like a VCEK), so the
// attestation protocol can be exercised and verified end to end without SNP hardware. Nothing
// signed by it proves anything about a real platform.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "cvtpm/formats/snp/attestation_report.h"
#include "cvtpm/measure/snp_keys.h"

namespace cvtpm::vtpm::host {

struct ReportFields {
  std::array<std::uint8_t, 48> measurement{};  // the launch digest to report
  std::uint64_t policy = formats::snp::guest_policy::kDefault;
  std::uint32_t vmpl = 0;  // the SVSM asks for VMPL0 reports
};

class TestAttestationSigner {
 public:
  TestAttestationSigner();

  formats::snp::AttestationReport sign(std::span<const std::uint8_t, 64> report_data,
                                       const ReportFields& fields) const;
  // The public half of the test key, in the SNP ABI format.
  formats::snp::EcdsaPublicKey public_key() const { return key_.public_key(); }

 private:
  measure::EcP384PrivateKey key_;
};

}  // namespace cvtpm::vtpm::host
