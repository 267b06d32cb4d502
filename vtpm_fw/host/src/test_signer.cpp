#include "cvtpm/vtpm_host/test_signer.h"

#include <cstring>
#include <string_view>

namespace cvtpm::vtpm::host {
namespace {

// TEST KEY, published on purpose: it signs only simulated reports of the host platform.
constexpr std::string_view kTestKeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDCFpdCtRi+mU0hdZ/GY\n"
    "XV+l5HAdw/ArD6kxz3IG7kMD2PH7Kwg6M6KFydcwFUL14NmhZANiAAQoNTEXEa47\n"
    "iXjj2X74zYOGr1z+kbrttjj0ECXA3MlCUzWiRVj1mqwZ085+kw5JzYbxtWJt2v9C\n"
    "siHex9BDg05gp68NVALAGhq91jblhJOihFJKRW3NiojtAC6ocq1DFQk=\n"
    "-----END PRIVATE KEY-----\n";

// Marks reports of the simulated platform, where a real report has the chip's ID.
constexpr std::string_view kChipId = "cvtpm host test signer: not an AMD secure processor";

}  // namespace

TestAttestationSigner::TestAttestationSigner()
    : key_(measure::EcP384PrivateKey::from_pem(
          {reinterpret_cast<const std::uint8_t*>(kTestKeyPem.data()), kTestKeyPem.size()},
          "test attestation key")) {}

formats::snp::AttestationReport TestAttestationSigner::sign(
    std::span<const std::uint8_t, 64> report_data, const ReportFields& fields) const {
  formats::snp::AttestationReport report{};
  report.version = formats::snp::kAttestationReportVersion;
  report.policy = fields.policy;
  report.vmpl = fields.vmpl;
  report.signature_algo = formats::snp::kAlgoEcdsaP384Sha384;
  std::memcpy(report.report_data, report_data.data(), 64);
  std::memcpy(report.measurement, fields.measurement.data(), fields.measurement.size());
  static_assert(kChipId.size() <= sizeof report.chip_id);
  std::memcpy(report.chip_id, kChipId.data(), kChipId.size());
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(&report);
  report.signature = key_.sign({bytes, formats::snp::kReportSignedBytes});
  return report;
}

}  // namespace cvtpm::vtpm::host
