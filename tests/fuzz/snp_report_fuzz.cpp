// Fuzzes the check of a MSG_REPORT_RSP payload (vtpm_fw/snp report_check): arbitrary payload
// bytes, with the expected report data and VMPL taken from the input's first 65 bytes. A payload
// the check accepts must carry exactly that report data and VMPL, and a report the size of the
// one format the firmware knows.
//
// Input: u8 vmpl, 64 bytes of expected report data, then the payload.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "cvtpm/formats/snp/guest_message.h"
#include "cvtpm/snp/report_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = cvtpm::formats::snp;
  if (size < 65) return 0;
  const std::uint32_t vmpl = data[0] % 4;
  const std::span<const std::uint8_t, 64> expected(data + 1, 64);
  const std::span<const std::uint8_t> payload(data + 65, size - 65);
  fs::AttestationReport report{};
  std::memset(&report, 0xEE, sizeof report);
  const auto checked = cvtpm::snp::check_report_response(payload, expected, vmpl, report);
  if (checked) {
    if (payload.size() < sizeof(fs::ReportResponse) || report.vmpl != vmpl ||
        std::memcmp(report.report_data, expected.data(), 64) != 0 ||
        std::memcmp(&report, payload.data() + sizeof(fs::ReportResponseHeader), sizeof report) !=
            0) {
      std::abort();
    }
  } else if (cvtpm::snp::describe(checked.error().problem) == nullptr) {
    std::abort();
  }
  return 0;
}
