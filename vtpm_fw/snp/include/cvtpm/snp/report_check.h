// Checks a MSG_REPORT_RSP payload before the firmware hands its report to anyone: a successful
// status, the report size of the one format it knows, a report version it can read, the VMPL it
// asked for, the report data it asked for and the signature algorithm verifiers expect. The
// payload arrived authenticated with the VMPCK, but the parser is bounds-checked like any other
// (and fuzzed). Freestanding.
#pragma once

#include <cstdint>
#include <span>

#include "cvtpm/formats/snp/attestation_report.h"
#include "cvtpm/vtpm/result.h"

namespace cvtpm::snp {

enum class ReportProblem : std::uint8_t {
  kTooShort,            // fewer bytes than the header and a report
  kStatus,              // the PSP's status is not success (value: the status)
  kSize,                // report_size is not 0x4A0 (value: report_size)
  kVersion,             // report version below 2 (value: version)
  kVmpl,                // the report names another VMPL (value: vmpl)
  kReportData,          // REPORT_DATA differs from the request
  kSignatureAlgorithm,  // not ECDSA P-384 with SHA-384 (value: the algorithm)
};

struct ReportCheckError {
  ReportProblem problem;
  std::uint32_t value;
};

const char* describe(ReportProblem problem);

vtpm::Status<ReportCheckError> check_report_response(std::span<const std::uint8_t> payload,
                                                     std::span<const std::uint8_t, 64> report_data,
                                                     std::uint32_t vmpl,
                                                     formats::snp::AttestationReport& report);

}  // namespace cvtpm::snp
