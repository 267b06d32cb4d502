#include "cvtpm/verify/report.h"

#include <algorithm>
#include <cstring>

#include "cvtpm/support/error.h"

namespace cvtpm::verify {
namespace {

namespace fs = formats::snp;

bool all_zero(std::span<const std::uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace

bool Report::signature_padding_zero() const {
  const fs::EcdsaSignature& s = fields.signature;
  return all_zero(std::span(s.r).subspan(fs::kEcdsaP384ComponentBytes)) &&
         all_zero(std::span(s.s).subspan(fs::kEcdsaP384ComponentBytes)) && all_zero(s.reserved);
}

bool Report::is_cvtpm_native_unsigned() const {
  std::uint8_t marker[sizeof fields.host_data] = {};
  std::memcpy(marker, fs::kCvtpmNativeNotAttested, sizeof fs::kCvtpmNativeNotAttested);
  const auto* signature = reinterpret_cast<const std::uint8_t*>(&fields.signature);
  return fields.signature_algo == 0 && std::memcmp(fields.host_data, marker, sizeof marker) == 0 &&
         all_zero({signature, sizeof fields.signature});
}

Report parse_report(std::span<const std::uint8_t> bytes, const std::string& name) {
  constexpr std::size_t kSize = sizeof(fs::AttestationReport);
  if (bytes.size() != kSize) {
    throw InputError(name, std::string(bytes.size() < kSize ? "truncated" : "oversized") +
                               ": an SEV-SNP attestation report is exactly 1184 (0x4A0) bytes, "
                               "this is " +
                               std::to_string(bytes.size()));
  }
  Report report;
  std::memcpy(&report.fields, bytes.data(), kSize);
  return report;
}

}  // namespace cvtpm::verify
