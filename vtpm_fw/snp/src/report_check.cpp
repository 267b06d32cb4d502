#include "cvtpm/snp/report_check.h"

#include <cstring>

#include "cvtpm/formats/snp/guest_message.h"

namespace cvtpm::snp {

namespace fs = formats::snp;

const char* describe(ReportProblem problem) {
  switch (problem) {
    case ReportProblem::kTooShort:
      return "report response too short";
    case ReportProblem::kStatus:
      return "the PSP refused the report request";
    case ReportProblem::kSize:
      return "unexpected report size";
    case ReportProblem::kVersion:
      return "unsupported report version";
    case ReportProblem::kVmpl:
      return "report for another VMPL";
    case ReportProblem::kReportData:
      return "report data differs from the request";
    case ReportProblem::kSignatureAlgorithm:
      return "unexpected signature algorithm";
  }
  return "unknown report problem";
}

vtpm::Status<ReportCheckError> check_report_response(std::span<const std::uint8_t> payload,
                                                     std::span<const std::uint8_t, 64> report_data,
                                                     std::uint32_t vmpl,
                                                     fs::AttestationReport& report) {
  if (payload.size() < sizeof(fs::ReportResponseHeader)) {
    return ReportCheckError{ReportProblem::kTooShort, static_cast<std::uint32_t>(payload.size())};
  }
  fs::ReportResponseHeader header;
  std::memcpy(&header, payload.data(), sizeof header);
  if (header.status != fs::kReportStatusSuccess) {
    return ReportCheckError{ReportProblem::kStatus, header.status};
  }
  if (header.report_size != sizeof(fs::AttestationReport)) {
    return ReportCheckError{ReportProblem::kSize, header.report_size};
  }
  if (payload.size() < sizeof(fs::ReportResponse)) {
    return ReportCheckError{ReportProblem::kTooShort, static_cast<std::uint32_t>(payload.size())};
  }
  fs::AttestationReport copy;
  std::memcpy(&copy, payload.data() + sizeof header, sizeof copy);
  if (copy.version < fs::kAttestationReportVersion) {
    return ReportCheckError{ReportProblem::kVersion, copy.version};
  }
  if (copy.vmpl != vmpl) return ReportCheckError{ReportProblem::kVmpl, copy.vmpl};
  if (std::memcmp(copy.report_data, report_data.data(), sizeof copy.report_data) != 0) {
    return ReportCheckError{ReportProblem::kReportData, 0};
  }
  if (copy.signature_algo != fs::kAlgoEcdsaP384Sha384) {
    return ReportCheckError{ReportProblem::kSignatureAlgorithm, copy.signature_algo};
  }
  report = copy;
  return vtpm::Status<ReportCheckError>::success();
}

}  // namespace cvtpm::snp
