// SNP guest requests with VMPCK0 against the model's PSP and a hostile hypervisor: sequence
// numbers, the IV never used twice, "busy" retried with the identical message, every other
// failure wiping the key, and the checks of the report response.
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "cvtpm/formats/snp/guest_message.h"
#include "cvtpm/snp/guest_request.h"
#include "cvtpm/snp/report_check.h"
#include "snp_fixture.h"

namespace cvtpm::snp::testing {
namespace {

namespace fs = formats::snp;

class GuestRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    b.boot();
    ASSERT_FALSE(HasFatalFailure());
  }
  GuestRequestChannel& channel() { return b.firmware().platform().guest_requests(); }
  SnpStatus report(std::uint8_t tag, fs::AttestationReport& out) {
    std::array<std::uint8_t, 64> data{};
    data.fill(tag);
    return request_report(channel(), b.firmware().ghcb(), data, out);
  }
  SnpBoot b;
};

TEST_F(GuestRequestTest, SequenceNumbersAdvanceByTwoAndNeverRepeat) {
  fs::AttestationReport r{};
  for (std::uint8_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(report(i, r));
    EXPECT_EQ(r.report_data[0], i);
    EXPECT_EQ(r.vmpl, 0u);
  }
  EXPECT_EQ(channel().last_sequence(), 10u);
  const auto& messages = b.machine().psp().messages();
  ASSERT_EQ(messages.size(), 5u);
  std::set<std::uint64_t> seen;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(messages[i].seqno, 2 * i + 1);
    EXPECT_TRUE(messages[i].accepted);
    EXPECT_TRUE(seen.insert(messages[i].seqno).second);
  }
  EXPECT_EQ(b.machine().psp().expected_sequence(0), 11u);
}

TEST_F(GuestRequestTest, BusyIsRetriedWithTheIdenticalMessage) {
  b.machine().hypervisor().guest_request_busy = 3;
  fs::AttestationReport r{};
  ASSERT_TRUE(report(7, r));
  ASSERT_EQ(b.machine().psp().messages().size(), 1u) << "the PSP saw the message once";
  EXPECT_EQ(b.machine().psp().messages()[0].seqno, 1u);
  EXPECT_TRUE(channel().usable());
}

TEST_F(GuestRequestTest, EndlessBusyGivesUpAndWipesTheKey) {
  b.machine().hypervisor().guest_request_busy = GuestRequestChannel::kBusyRetries + 5;
  fs::AttestationReport r{};
  EXPECT_FALSE(report(1, r));
  EXPECT_FALSE(channel().usable());
  b.machine().hypervisor().guest_request_busy = 0;
  const SnpStatus later = report(2, r);
  ASSERT_FALSE(later);
  EXPECT_STREQ(later.error().what, "guest request: the VMPCK is not usable");
  EXPECT_TRUE(b.machine().psp().messages().empty());
}

TEST_F(GuestRequestTest, AFailureTheHypervisorReportsWipesTheKey) {
  b.machine().hypervisor().guest_request_drop = true;
  fs::AttestationReport r{};
  const SnpStatus s = report(1, r);
  ASSERT_FALSE(s);
  EXPECT_STREQ(s.error().what, "guest request: failed");
  EXPECT_FALSE(channel().usable());
}

TEST_F(GuestRequestTest, AReplayedResponseIsRejectedAndWipesTheKey) {
  fs::AttestationReport first{};
  ASSERT_TRUE(report(1, first));
  b.machine().hypervisor().guest_request_replay_response = true;
  fs::AttestationReport second{};
  const SnpStatus s = report(2, second);
  ASSERT_FALSE(s);
  EXPECT_STREQ(s.error().what, "guest request: response header does not match the request");
  EXPECT_FALSE(channel().usable());
  EXPECT_EQ(b.machine().psp().messages().size(), 2u) << "the PSP did answer the second";
}

TEST_F(GuestRequestTest, ACorruptedResponseDoesNotAuthenticate) {
  b.machine().hypervisor().guest_request_corrupt_response = true;
  fs::AttestationReport r{};
  const SnpStatus s = report(1, r);
  ASSERT_FALSE(s);
  EXPECT_STREQ(s.error().what, "guest request: response does not authenticate");
  EXPECT_FALSE(channel().usable());
}

TEST_F(GuestRequestTest, TheHypervisorOnlyEverSeesCiphertext) {
  fs::AttestationReport r{};
  ASSERT_TRUE(report(0x42, r));
  // The shared request page carries the header in clear and the payload encrypted: the report
  // data (0x42 x 64) never appears there.
  const auto page = b.machine().hypervisor_read(b.firmware().request_page_gpa(), 4096);
  const std::vector<std::uint8_t> clear(64, 0x42);
  EXPECT_EQ(std::search(page.begin(), page.end(), clear.begin(), clear.end()), page.end());
  const auto response = b.machine().hypervisor_read(b.firmware().response_page_gpa(), 4096);
  EXPECT_EQ(std::search(response.begin(), response.end(), clear.begin(), clear.end()),
            response.end());
}

// --- MSG_REPORT_RSP checks
// ------------------------------------------------------------------------

class ReportCheckTest : public ::testing::Test {
 protected:
  ReportCheckTest() {
    data.fill(0x33);
    rsp.header.status = 0;
    rsp.header.report_size = sizeof rsp.report;
    rsp.report.version = 2;
    rsp.report.vmpl = 0;
    rsp.report.signature_algo = fs::kAlgoEcdsaP384Sha384;
    std::memcpy(rsp.report.report_data, data.data(), 64);
  }
  std::string check(std::size_t size = sizeof(fs::ReportResponse)) {
    fs::AttestationReport out{};
    const auto r =
        check_report_response({reinterpret_cast<const std::uint8_t*>(&rsp), size}, data, 0, out);
    return r ? "" : describe(r.error().problem);
  }
  std::array<std::uint8_t, 64> data{};
  fs::ReportResponse rsp{};
};

TEST_F(ReportCheckTest, AcceptsAGoodResponseAndRefusesEachBadField) {
  EXPECT_EQ(check(), "");
  EXPECT_EQ(check(sizeof(fs::ReportResponse) - 1), "report response too short");
  EXPECT_EQ(check(16), "report response too short");
  rsp.header.status = fs::kReportStatusInvalidParameter;
  EXPECT_EQ(check(), "the PSP refused the report request");
  rsp.header.status = 0;
  rsp.header.report_size = 0x4A1;
  EXPECT_EQ(check(), "unexpected report size");
  rsp.header.report_size = sizeof rsp.report;
  rsp.report.version = 1;
  EXPECT_EQ(check(), "unsupported report version");
  rsp.report.version = 5;  // newer formats keep the layout
  EXPECT_EQ(check(), "");
  rsp.report.vmpl = 2;
  EXPECT_EQ(check(), "report for another VMPL");
  rsp.report.vmpl = 0;
  rsp.report.report_data[63] ^= 1;
  EXPECT_EQ(check(), "report data differs from the request");
  rsp.report.report_data[63] ^= 1;
  rsp.report.signature_algo = 2;
  EXPECT_EQ(check(), "unexpected signature algorithm");
}

}  // namespace
}  // namespace cvtpm::snp::testing
