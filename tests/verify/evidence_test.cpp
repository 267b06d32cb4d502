// cvtpm-verify on evidence it did not make itself: the real Milan report and VCEK (published by
// virtee/sev, in data/), reports of the SNP model's PSP for the firmware's own attestations
// (tests/snp), and evidence fetched from cvtpm-vtpmd with `cvtpm-verify fetch`, whose EK is
// compared with what tpm2-tools read from the same TPM.
#include <gtest/gtest.h>

#include <cstring>

#include "cvtpm/support/encoding.h"
#include "cvtpm/support/files.h"
#include "cvtpm/verify/verifier.h"
#include "cvtpm/vtpm/svsm_abi.h"
#include "cvtpm/vtpm_host/test_signer.h"
#include "daemon_process.h"
#include "process.h"
#include "snp_fixture.h"
#include "temp_dir.h"
#include "test_pki.h"

namespace cvtpm::verify::testing {
namespace {

namespace fs = formats::snp;
using Strings = std::vector<std::string>;

const std::string kData = CVTPM_VERIFY_TEST_DATA;

Bytes read(const std::filesystem::path& path) {
  return cvtpm::read_file(path);
}

bool contains(const Strings& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The real report, with the pinned AMD roots and nothing else.
Evidence milan_evidence(const Bytes& report) {
  Evidence e;
  e.report = parse_report(report, "report_milan.bin");
  e.vcek = Certificate::parse(read(kData + "/vcek_milan.der"), "vcek_milan.der");
  return e;
}

TEST(RealMilanReport, IsAcceptedWithThePinnedRootsAndDecodes) {
  const Verdict v = verify_report(milan_evidence(read(kData + "/report_milan.bin")), {});
  EXPECT_TRUE(v.accepted()) << verdict_text(v);
  EXPECT_EQ(v.product, ProductLine::kMilan);
  const fs::AttestationReport& r = v.report.fields;
  EXPECT_EQ(r.version, 2u);
  EXPECT_EQ(r.vmpl, 0u);
  EXPECT_EQ(r.policy, 0x30000u);
  const Tcb tcb = decode_tcb(r.reported_tcb, ProductLine::kMilan);
  EXPECT_EQ(describe_tcb(tcb), "bl=3 tee=0 snp=8 microcode=115");
  ASSERT_TRUE(v.vcek && v.vcek->hwid);
  EXPECT_EQ(0, std::memcmp(v.vcek->hwid->data(), r.chip_id, 64));
  EXPECT_EQ(v.vcek->product_name, "Milan-B0");
}

// Every byte of the report changed on its own: never accepted. In the signed part the
// signature catches it, in r and s too, and the rest of the signature field must be zero.
TEST(RealMilanReport, IsRejectedOnceAnyByteChanges) {
  const Bytes original = read(kData + "/report_milan.bin");
  ASSERT_EQ(original.size(), sizeof(fs::AttestationReport));
  Evidence e = milan_evidence(original);
  for (std::size_t offset = 0; offset < original.size(); ++offset) {
    Bytes changed = original;
    changed[offset] ^= 0x01;
    e.report = parse_report(changed, "changed.bin");
    const Verdict v = verify_report(e, {});
    ASSERT_FALSE(v.accepted()) << "byte " << offset << " changed and still accepted";
    const Strings failed = v.failed();
    const bool in_r_or_s = offset >= 0x2A0 && offset < 0x2A0 + 144 && (offset - 0x2A0) % 72 < 48;
    const std::string expected =
        offset < 0x2A0 || in_r_or_s ? "report-signature" : "signature-padding";
    ASSERT_TRUE(contains(failed, expected)) << "byte " << offset << ": " << verdict_text(v);
  }
}

// The firmware's SNP platform on the model, attesting itself to a guest; the model's PSP signs
// with the host test signer's key, which a test VCEK certifies here.
TEST(SnpModelReport, TheFirmwaresAttestationsVerifyAgainstTheImagesMeasurement) {
  snp::testing::SnpBoot b;
  b.boot();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const Bytes nonce(64, 0x6D);
  snp::model::GuestEvidence single, services;
  b.set_guest([&](snp::model::GuestCpu& cpu) {
    const auto secrets = snp::model::read_secrets(cpu, b.params().guest.secrets_gpa);
    snp::model::GuestSvsm svsm(cpu, secrets.caa);
    constexpr std::uint64_t kScratch = snp::testing::SnpBoot::kGuestScratch;
    snp::model::accept_memory(svsm, kScratch, 24);
    const std::span<const std::uint8_t, 64> n(nonce.data(), 64);
    single = snp::model::svsm_attest(svsm, kScratch, 20 * 4096, n, vtpm::kVtpmServiceGuid);
    services = snp::model::svsm_attest(svsm, kScratch, 20 * 4096, n, std::nullopt);
  });
  b.run_guest();
  ASSERT_EQ(single.result, vtpm::SvsmResult::kSuccess);
  ASSERT_EQ(services.result, vtpm::SvsmResult::kSuccess);

  const TestAmd& amd = TestAmd::get();
  fs::AttestationReport first;
  ASSERT_EQ(single.report.size(), sizeof first);
  std::memcpy(&first, single.report.data(), sizeof first);
  VcekSpec spec;
  spec.key = p384_public_key(b.machine().psp().signer().public_key());
  spec.hwid = Bytes(first.chip_id, first.chip_id + 64);
  spec.bl = spec.tee = spec.snp = spec.microcode = 0;
  Policy policy;
  policy.measurements.push_back({{}, "cvtpm-measure igvm"});
  ASSERT_EQ(b.image().measurement.size(), 48u);
  std::copy(b.image().measurement.begin(), b.image().measurement.end(),
            policy.measurements[0].digest.begin());

  for (const snp::model::GuestEvidence* ev : {&single, &services}) {
    Evidence e;
    e.report = parse_report(ev->report, "model.bin");
    e.vcek = amd.vcek(spec);
    e.cert_chain = {amd.ask(), amd.ark()};
    e.ark_override = amd.ark();
    e.nonce = nonce;
    e.manifest_bytes = ev->manifest;
    e.manifest = parse_manifest(ev->manifest, "manifest.bin");
    const Verdict v = verify_report(e, policy);
    EXPECT_TRUE(v.accepted()) << verdict_text(v);
    ASSERT_TRUE(v.manifest && v.manifest->ek);
    EXPECT_EQ(v.manifest->services, ev == &services);
    const auto ek = b.engine()->ek_public();
    EXPECT_EQ(v.manifest->ek->tpmt_public, Bytes(ek.begin(), ek.end()));
    EXPECT_EQ(v.manifest->ek->tcg_template, "L-2") << "the fixture's default EK is ECC P-256";

    // Another image's digest, or another nonce: rejected, and by the right check.
    Policy other = policy;
    other.measurements[0].digest[0] ^= 1;
    EXPECT_EQ(verify_report(e, other).failed(), Strings{"measurement"});
    e.nonce->at(3) ^= 1;
    EXPECT_EQ(verify_report(e, policy).failed(), Strings{"report-data"});
  }
}

bool have_tpm2_tools() {
  return std::filesystem::exists("/usr/bin/tpm2_createek");
}

struct EkCase {
  const char* ek;
  const char* createek_algorithm;
  const char* tcg_template;
};

void PrintTo(const EkCase& c, std::ostream* os) {
  *os << c.ek;
}

class FetchedFromVtpmd : public ::testing::TestWithParam<EkCase> {};

// `cvtpm-verify fetch` against cvtpm-vtpmd, then `cvtpm-verify report` on what it wrote, with a
// test VCEK for the host test signer: accepted, and the EK it writes and names is the one
// tpm2_createek reads from the same TPM.
TEST_P(FetchedFromVtpmd, TheVerifiedEkIsTheOneTheTpmPresents) {
  if (!have_tpm2_tools()) GTEST_SKIP() << "tpm2-tools are not installed (Debian: tpm2-tools)";
  vtpm::testing::DaemonProcess d(std::filesystem::path(CVTPM_BIN_DIR) / "cvtpm-vtpmd",
                                 {"--ek", GetParam().ek});
  cvtpm::testing::TempDir dir;
  const std::string verify = std::string(CVTPM_BIN_DIR) + "/cvtpm-verify";
  const std::string nonce(128, 'e');
  const auto fetched = cvtpm::testing::run_process(
      {verify, "fetch", "--tcti", d.tcti(), "--nonce", nonce, "--out", dir.path().string()});
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_EQ(fetched.out, "report.bin: 1184 bytes\nmanifest.bin: " +
                             std::to_string(std::filesystem::file_size(dir / "manifest.bin")) +
                             " bytes\n");
  EXPECT_EQ(dir.entries(), (Strings{"manifest.bin", "report.bin"}));

  const Bytes report = read(dir / "report.bin");
  VcekSpec spec;
  spec.key = p384_public_key(vtpm::host::TestAttestationSigner().public_key());
  spec.hwid = Bytes(report.begin() + 0x1A0, report.begin() + 0x1E0);
  spec.bl = spec.tee = spec.snp = spec.microcode = 0;
  const TestAmd& amd = TestAmd::get();
  dir.write("vcek.der", amd.vcek_der(spec));
  dir.write("chain.pem", amd.chain_pem());
  dir.write("ark.pem", der_to_pem(amd.ark_der()));
  const auto verified = cvtpm::testing::run_process(
      {verify, "report", "--report", "report.bin", "--vcek", "vcek.der", "--cert-chain",
       "chain.pem", "--ark", "ark.pem", "--measurement", std::string(96, '0'), "--nonce", nonce,
       "--manifest", "manifest.bin", "--ek-out", "ek.pem"},
      dir.path());
  ASSERT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find(std::string("TCG EK template ") + GetParam().tcg_template),
            std::string::npos)
      << verified.out;

  auto tool = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin() + 1, {"-T", d.tcti()});
    return cvtpm::testing::run_process(argv, dir.path(), std::chrono::seconds(60));
  };
  ASSERT_EQ(tool({"tpm2_startup", "-c"}).exit_code, 0);
  const auto created = tool({"tpm2_createek", "-c", "ek.ctx", "-G", GetParam().createek_algorithm,
                             "-u", "tpm-ek.pem", "-f", "pem"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(read(dir / "ek.pem"), read(dir / "tpm-ek.pem"));
  const auto name = tool({"tpm2_readpublic", "-c", "ek.ctx", "-n", "ek.name"});
  ASSERT_EQ(name.exit_code, 0) << name.err;
  EXPECT_NE(verified.out.find("ek-name: " + to_hex(read(dir / "ek.name")) + "\n"),
            std::string::npos)
      << verified.out;
}

INSTANTIATE_TEST_SUITE_P(Eks, FetchedFromVtpmd,
                         ::testing::Values(EkCase{"rsa2048", "rsa", "L-1"},
                                           EkCase{"ecc-p256", "ecc", "L-2"},
                                           EkCase{"ecc-p384", "ecc384", "H-3"}),
                         [](const auto& param_info) {
                           std::string name = param_info.param.ek;
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return name;
                         });

}  // namespace
}  // namespace cvtpm::verify::testing
