// An SEV-SNP attestation report as a verifier receives it: exactly 0x4A0 bytes (what Linux
// configfs-tsm's outblob, snpguest and cvtpm-verify fetch write), read into the one report layout
// (cvtpm/formats/snp/attestation_report.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "cvtpm/formats/snp/attestation_report.h"

namespace cvtpm::verify {

struct Report {
  formats::snp::AttestationReport fields;

  // The bytes the signature covers, [0, 0x2A0).
  std::span<const std::uint8_t> signed_bytes() const {
    return {reinterpret_cast<const std::uint8_t*>(&fields), formats::snp::kReportSignedBytes};
  }
  std::uint32_t signing_key() const {
    return (fields.flags & formats::snp::report_flags::kSigningKeyMask) >>
           formats::snp::report_flags::kSigningKeyShift;
  }
  bool chip_id_masked() const {
    return (fields.flags & formats::snp::report_flags::kMaskChipKey) != 0;
  }
  bool debug_allowed() const { return (fields.policy & formats::snp::guest_policy::kDebug) != 0; }
  // The signature field past r and s, which must be zero (go-sev-guest abi/abi.go ReportToProto).
  bool signature_padding_zero() const;
  // The cvtpm native firmware's unsigned report: SIGNATURE_ALGO 0, an all-zero signature and
  // formats::snp::kCvtpmNativeNotAttested in HOST_DATA.
  bool is_cvtpm_native_unsigned() const;
};

// Reads a report file's bytes; throws InputError naming `name` unless there are exactly 0x4A0.
Report parse_report(std::span<const std::uint8_t> bytes, const std::string& name);

}  // namespace cvtpm::verify
