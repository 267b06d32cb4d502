// End to end on the model: the firmware boots from a real cvtpm-igvmgen image, the guest (as OVMF
// and Linux do) finds the SVSM, validates its memory through it, uses the vTPM with real TPM 2.0
// commands (libtpms), and asks for attestation; a verifier on the host then checks the report
// with the (test) PSP key, its MEASUREMENT against cvtpm-measure's digest of the image, VMPL 0,
// and that REPORT_DATA = SHA-512(nonce || manifest) binds exactly the EK the guest's own TPM2_
// CreatePrimary returns.
#include <gtest/gtest.h>

#include <cstring>

#include "cvtpm/formats/snp/attestation_report.h"
#include "cvtpm/measure/snp_keys.h"
#include "cvtpm/snp/page_state.h"
#include "cvtpm/support/digest.h"
#include "cvtpm/vtpm/svsm_abi.h"
#include "snp_fixture.h"
#include "vtpm_testing.h"

namespace cvtpm::snp::testing {
namespace {

namespace fs = formats::snp;
namespace vt = vtpm::testing;
using vtpm::SvsmResult;

constexpr std::uint64_t kScratch = SnpBoot::kGuestScratch;
constexpr std::uint64_t k4K = 4096;

struct GuestRun {
  bool probed = false;
  std::uint32_t startup_rc = ~0u;
  std::vector<std::uint8_t> random;
  std::vector<std::uint8_t> pcr_after;
  std::vector<std::uint8_t> ek_public;  // TPMT_PUBLIC from the guest's own CreatePrimary
  model::GuestEvidence single;
  model::GuestEvidence services;
};

GuestRun run_guest_workload(SnpBoot& b, model::Transport transport,
                            std::span<const std::uint8_t, 64> nonce) {
  GuestRun out;
  b.set_guest([&](GuestCpu& cpu) {
    const model::SvsmDiscovery secrets = model::read_secrets(cpu, b.params().guest.secrets_gpa);
    GuestSvsm svsm(cpu, secrets.caa);
    if (transport == model::Transport::kGhcb) {
      svsm.setup_ghcb(kScratch + 0x10'0000);
      svsm.use_transport(model::Transport::kGhcb);
    }
    model::accept_memory(svsm, kScratch, 24);
    model::GuestTpm tpm(svsm, kScratch);
    out.probed = tpm.probe();
    auto run = [&](const std::vector<std::uint8_t>& command) {
      const auto ex = tpm.transmit(command);
      if (ex.result != SvsmResult::kSuccess) throw std::runtime_error("SVSM_VTPM_CMD failed");
      return ex.response;
    };
    out.startup_rc = vt::tpm_rc(run(vt::tpm_startup_clear()));
    const auto random = run(vt::tpm_get_random(16));
    out.random.assign(random.begin() + 12, random.end());
    std::array<std::uint8_t, 32> digest{};
    digest.fill(0x5A);
    (void)run(vt::tpm_pcr_extend_sha256(16, digest));
    out.pcr_after = vt::pcr_value_from_read(run(vt::tpm_pcr_read_sha256(16)));
    const auto created = run(vt::tpm_create_primary_endorsement(
        vt::expected_ek_template(static_cast<vtpm::EkAlgorithm>(b.params().ek_algorithm))));
    if (vt::tpm_rc(created) != 0) throw std::runtime_error("CreatePrimary failed");
    const std::uint16_t size = vt::be16_at(created, 18);
    out.ek_public.assign(created.begin() + 20, created.begin() + 20 + size);
    (void)run(vt::tpm_flush_context(vt::be32_at(created, 10)));
    out.single =
        model::svsm_attest(svsm, kScratch + 2 * k4K, 20 * k4K, nonce, vtpm::kVtpmServiceGuid);
    out.services = model::svsm_attest(svsm, kScratch + 2 * k4K, 20 * k4K, nonce, std::nullopt);
  });
  b.run_guest();
  return out;
}

// What a verifier checks, independently of the firmware's code.
void verify_evidence(SnpBoot& b, const model::GuestEvidence& ev,
                     std::span<const std::uint8_t, 64> nonce,
                     const std::vector<std::uint8_t>& expected_manifest) {
  ASSERT_EQ(ev.result, SvsmResult::kSuccess);
  ASSERT_EQ(ev.report.size(), sizeof(fs::AttestationReport));
  fs::AttestationReport report;
  std::memcpy(&report, ev.report.data(), sizeof report);
  EXPECT_TRUE(measure::verify_snp_signature(b.machine().psp().signer().public_key(),
                                            {ev.report.data(), fs::kReportSignedBytes},
                                            report.signature));
  EXPECT_EQ(report.vmpl, 0u) << "the report must be the SVSM's (VMPL0)";
  EXPECT_EQ(0, std::memcmp(report.measurement, b.image().measurement.data(), 48))
      << "MEASUREMENT must be cvtpm-measure's digest of the launched image";
  EXPECT_EQ(report.policy, b.launch().guest_policy);
  std::vector<std::uint8_t> hashed(nonce.begin(), nonce.end());
  hashed.insert(hashed.end(), ev.manifest.begin(), ev.manifest.end());
  const Sha512Digest report_data = sha512(hashed);
  EXPECT_EQ(0, std::memcmp(report.report_data, report_data.data(), 64));
  EXPECT_EQ(ev.manifest, expected_manifest);
  // The SVSM never returns certificates (as COCONUT-SVSM when the host has none): the guest
  // asked with Linux's 16 KiB buffer and got RDX = 0; a verifier takes the VCEK chain from AMD.
  EXPECT_TRUE(ev.certificates.empty());
}

std::vector<std::uint8_t> services_manifest(const std::vector<std::uint8_t>& ek) {
  // GUID 63849ebb-3d92-4670-a1ff-58f9c94b87bb, size, 1 entry: vTPM GUID, offset 0x30, size; EK.
  vt::ByteWriter w;
  w.hex("bb9e8463923d7046a1ff58f9c94b87bb");
  w.le32(static_cast<std::uint32_t>(0x30 + ek.size())).le32(1);
  w.hex("ebf176c42301a5459641b4e7dde5bfe3");
  w.le32(0x30).le32(static_cast<std::uint32_t>(ek.size()));
  w.raw(ek);
  return w.bytes();
}

class EndToEnd : public ::testing::TestWithParam<model::Transport> {};

TEST_P(EndToEnd, GuestUsesTheVtpmAndTheReportBindsItsEk) {
  ImageOptions options;
  options.ek = formats::boot::EkAlgorithm::kRsa2048;  // cvtpm-igvmgen's default
  SnpBoot b(options);
  b.boot();
  ASSERT_FALSE(HasFatalFailure());
  std::array<std::uint8_t, 64> nonce{};
  for (std::size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<std::uint8_t>(i * 7 + 1);

  const GuestRun run = run_guest_workload(b, GetParam(), nonce);
  EXPECT_TRUE(run.probed);
  EXPECT_EQ(run.startup_rc, 0u);
  EXPECT_EQ(run.random.size(), 16u);
  // PCR16 after one extend from zero: SHA-256(0^32 || 0x5A^32), computed here.
  std::vector<std::uint8_t> pcr_input(32, 0);
  pcr_input.insert(pcr_input.end(), 32, 0x5A);
  const Sha256Digest expected_pcr = sha256(pcr_input);
  EXPECT_EQ(run.pcr_after, std::vector<std::uint8_t>(expected_pcr.begin(), expected_pcr.end()));
  ASSERT_FALSE(run.ek_public.empty());
  EXPECT_EQ(run.ek_public, std::vector<std::uint8_t>(b.engine()->ek_public().begin(),
                                                     b.engine()->ek_public().end()));

  verify_evidence(b, run.single, nonce, run.ek_public);
  verify_evidence(b, run.services, nonce, services_manifest(run.ek_public));
  // The PSP saw two requests with VMPCK0, sequence numbers 1 and 3, both accepted.
  const auto& messages = b.machine().psp().messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].vmpck, 0u);
  EXPECT_EQ(messages[0].seqno, 1u);
  EXPECT_EQ(messages[1].seqno, 3u);
  EXPECT_TRUE(messages[0].accepted && messages[1].accepted);
  expect_invariants(b, "after the workload");
}

INSTANTIATE_TEST_SUITE_P(Transports, EndToEnd,
                         ::testing::Values(model::Transport::kMsr, model::Transport::kGhcb),
                         [](const auto& param_info) {
                           return param_info.param == model::Transport::kMsr
                                      ? std::string("MsrProtocol")
                                      : std::string("GhcbPage");
                         });

TEST(SnpEndToEnd, ATamperedPspResponseGivesNoReportAndDisablesVmpck0) {
  SnpBoot b;
  b.boot();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  std::array<std::uint8_t, 64> nonce{};
  b.machine().hypervisor().guest_request_corrupt_response = true;
  model::GuestEvidence first, second;
  b.set_guest([&](GuestCpu& cpu) {
    GuestSvsm svsm(cpu, model::read_secrets(cpu, b.params().guest.secrets_gpa).caa);
    model::accept_memory(svsm, kScratch, 24);
    first = model::svsm_attest(svsm, kScratch, 20 * k4K, nonce, vtpm::kVtpmServiceGuid);
    b.machine().hypervisor().guest_request_corrupt_response = false;
    second = model::svsm_attest(svsm, kScratch, 20 * k4K, nonce, vtpm::kVtpmServiceGuid);
  });
  b.run_guest();
  EXPECT_EQ(first.result, SvsmResult::kInvalidRequest);
  EXPECT_TRUE(first.report.empty());
  EXPECT_EQ(second.result, SvsmResult::kInvalidRequest) << "VMPCK0 was wiped after the tampering";
  EXPECT_FALSE(b.firmware().platform().guest_requests().usable());
  EXPECT_EQ(b.machine().psp().messages().size(), 1u) << "no second message reached the PSP";
  EXPECT_TRUE(b.log().contains("response does not authenticate"));
}

TEST(SnpEndToEnd, TheGuestCannotGetAVmpl0ReportItself) {
  // The guest's secrets page has no VMPCK0; with its own VMPCK2 the PSP refuses a VMPL0 report
  // and gives a VMPL2 one, which a verifier tells from the SVSM's.
  SnpBoot b;
  b.boot();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const auto secrets = [&] {
    GuestCpu cpu(b.machine(), 0, 2);
    return model::read_secrets(cpu, b.params().guest.secrets_gpa);
  }();
  for (std::uint8_t byte : secrets.vmpck[0]) ASSERT_EQ(byte, 0);
  ASSERT_EQ(secrets.vmpck[2], b.machine().psp().vmpck(2));
  // A message under VMPCK2 asking for VMPL0, built like the firmware builds its own.
  GuestRequestChannel channel;
  // The channel needs shared request/response pages: two more firmware pages, shared the way
  // the firmware shares its own.
  const std::uint64_t request = b.pages().allocate_page();
  const std::uint64_t response = b.pages().allocate_page();
  for (std::uint64_t page : {request, response}) {
    ASSERT_TRUE(make_page_shared(b.hardware(), &b.firmware().ghcb(), page));
  }
  channel.init(secrets.vmpck[2], 2, request, response);
  fs::AttestationReport report{};
  std::array<std::uint8_t, 64> data{};
  const SnpStatus vmpl0 = request_report(channel, b.firmware().ghcb(), data, report);
  ASSERT_FALSE(vmpl0);
  EXPECT_STREQ(vmpl0.error().what, "the PSP refused the report request");
}

}  // namespace
}  // namespace cvtpm::snp::testing
