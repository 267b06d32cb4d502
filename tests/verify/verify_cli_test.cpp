// cvtpm-verify as users run it: the real binary, its stdout, stderr, exit status and files, on a
// test chain made with OpenSSL and on the real Milan report; every kind of bad input gives exit
// 2, one stderr line naming the input, nothing on stdout and no file written.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>

#include "cvtpm/support/encoding.h"
#include "cvtpm/support/files.h"
#include "cvtpm/verify/manifest.h"
#include "process.h"
#include "temp_dir.h"
#include "test_pki.h"
#include "tool_errors.h"

namespace cvtpm::verify::testing {
namespace {

namespace fs = formats::snp;
using cvtpm::testing::expect_one_line_error;
using cvtpm::testing::ProcessResult;
using cvtpm::testing::TempDir;
using Strings = std::vector<std::string>;

const std::string kVerify = std::string(CVTPM_BIN_DIR) + "/cvtpm-verify";
const std::string kData = CVTPM_VERIFY_TEST_DATA;

std::string read_text(const std::filesystem::path& path) {
  const std::vector<std::uint8_t> bytes = read_file(path);
  return std::string(bytes.begin(), bytes.end());
}

class VerifyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const TestAmd& amd = TestAmd::get();
    ek_ = ek_tpmt_public_rsa2048();
    fs::AttestationReport r = amd.report();
    const Bytes nonce(64, 0x3C);
    const Bytes digest = sha512_of(nonce, ek_);
    std::memcpy(r.report_data, digest.data(), 64);
    amd.sign(r);
    report_ = Bytes(reinterpret_cast<const std::uint8_t*>(&r),
                    reinterpret_cast<const std::uint8_t*>(&r) + sizeof r);
    nonce_hex_ = to_hex(nonce);
    measurement_hex_ = to_hex(std::span<const std::uint8_t>(r.measurement));
    dir_.write("report.bin", report_);
    dir_.write("manifest.bin", ek_);
    dir_.write("vcek.der", amd.vcek_der());
    dir_.write("chain.pem", amd.chain_pem());
    dir_.write("ark.pem", der_to_pem(amd.ark_der()));
  }

  ProcessResult run(std::vector<std::string> args) const {
    args.insert(args.begin(), kVerify);
    return cvtpm::testing::run_process(args, dir_.path());
  }

  // The accepted test-chain command line with `changes` (option, value pairs): an option it
  // has gets the new value, others are appended.
  std::vector<std::string> accepted_args(const std::vector<std::string>& changes = {}) const {
    std::vector<std::string> args = {
        "report", "--report", "report.bin", "--vcek",   "vcek.der",   "--cert-chain", "chain.pem",
        "--ark",  "ark.pem",  "--nonce",    nonce_hex_, "--manifest", "manifest.bin"};
    for (std::size_t i = 0; i + 1 < changes.size(); i += 2) {
      const auto it = std::find(args.begin(), args.end(), changes[i]);
      if (it != args.end() && changes[i] != "--measurement") {
        *(it + 1) = changes[i + 1];
      } else {
        args.insert(args.end(), {changes[i], changes[i + 1]});
      }
    }
    return args;
  }

  void expect_bad_input(const std::vector<std::string>& args, const std::string& expected) const {
    const Strings before = dir_.entries();
    expect_one_line_error(run(args), "cvtpm-verify", expected);
    EXPECT_EQ(dir_.entries(), before) << "a failed command left a file behind";
  }

  TempDir dir_;
  Bytes ek_, report_;
  std::string nonce_hex_, measurement_hex_;
};

TEST_F(VerifyCli, HelpAndVersion) {
  const ProcessResult help = run({"report", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* option : {"--report",
                             "--vcek",
                             "--cert-chain",
                             "--ark",
                             "--measurement",
                             "--reference-values",
                             "--allow-debug",
                             "--vmpl",
                             "--min-tcb",
                             "--host-data",
                             "--id-key-digest",
                             "--author-key-digest",
                             "--report-data",
                             "--nonce",
                             "--manifest",
                             "--ek-out",
                             "--output-format",
                             "--allow-unsigned-native",
                             "--min-state-generation",
                             "--state-digest",
                             "--require-state"}) {
    EXPECT_NE(help.out.find(option), std::string::npos) << option;
  }
  const ProcessResult fetch = run({"fetch", "--help"});
  EXPECT_EQ(fetch.exit_code, 0);
  EXPECT_NE(fetch.out.find("--tcti"), std::string::npos);
  const ProcessResult version = run({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out, "cvtpm-verify 0.1.0\n");
}

TEST_F(VerifyCli, AcceptedPrintsTheVerdictWritesTheEkAndExitsZero) {
  const ProcessResult r =
      run(accepted_args({"--measurement", measurement_hex_, "--ek-out", "ek.pem"}));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(r.out.starts_with("verdict: ACCEPTED (16 checks passed)\n")) << r.out;
  EXPECT_NE(r.out.find("trust root: --ark ark.pem: TEST OVERRIDE"), std::string::npos);
  const EndorsementKey ek = parse_endorsement_key(ek_, "ek");
  EXPECT_NE(r.out.find("ek-name: " + to_hex(ek.name) + "\n"), std::string::npos) << r.out;
  EXPECT_EQ(read_text(dir_ / "ek.pem"), public_key_pem(ek));
  EXPECT_TRUE(public_key_pem(ek).starts_with("-----BEGIN PUBLIC KEY-----"));
}

TEST_F(VerifyCli, RejectedNamesTheFailedChecksWritesNothingAndExitsOne) {
  const ProcessResult r = run(
      accepted_args({"--measurement", std::string(96, '0'), "--vmpl", "2", "--ek-out", "ek.pem"}));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(r.out.starts_with("verdict: REJECTED (2 of 16 checks failed: vmpl, measurement)\n"))
      << r.out;
  EXPECT_NE(r.out.find("  FAIL  vmpl\n          expected: VMPL 2 (--vmpl)\n          actual:   "
                       "VMPL 0\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("ek-out: not written (rejected)"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "ek.pem"));
}

TEST_F(VerifyCli, JsonVerdict) {
  const ProcessResult r = run(accepted_args({"--output-format", "json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["tool"], "cvtpm-verify 0.1.0");
  EXPECT_EQ(j["verdict"], "accepted");
  EXPECT_EQ(j["attested"], true);
  EXPECT_EQ(j["checks"].size(), 15u);
  EXPECT_EQ(j["report"]["version"], 2);
  EXPECT_EQ(j["report"]["vmpl"], 0);
  EXPECT_EQ(j["report"]["policy"]["value"], "0x30000");
  EXPECT_EQ(j["report"]["policy"]["smt_allowed"], true);
  EXPECT_EQ(j["report"]["policy"]["debug_allowed"], false);
  EXPECT_EQ(j["report"]["reported_tcb"]["snp"], 8);
  EXPECT_EQ(j["report"]["measurement"], measurement_hex_);
  EXPECT_EQ(j["report"]["chip_id"], to_hex(TestAmd::get().chip_id()));
  EXPECT_EQ(j["report"]["flags"]["signing_key"], 0);
  EXPECT_EQ(j["vcek"]["product_name"], "Milan-B0");
  EXPECT_EQ(j["manifest"]["kind"], "single-service");
  EXPECT_EQ(j["manifest"]["ek"]["tcg_template"], "L-1");
  // Reproducible: no paths beyond the names given, no times.
  EXPECT_EQ(run(accepted_args({"--output-format", "json"})).out, r.out);
}

TEST_F(VerifyCli, TheRealMilanReportIsAcceptedWithThePinnedRoots) {
  const ProcessResult r = run({"report", "--report", kData + "/report_milan.bin", "--vcek",
                               kData + "/vcek_milan.der", "--output-format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["trust_root"],
            "AMD ARK-Milan, pinned (SHA-256 "
            "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd)");
  EXPECT_EQ(j["report"]["policy"]["value"], "0x30000");
  EXPECT_EQ(j["report"]["reported_tcb"]["microcode"], 115);
  // KDS's cert_chain form is accepted too when its ARK is the pinned one.
  dir_.write("milan_chain.pem",
             read_text(std::string(CVTPM_SOURCE_DIR) + "/verify/roots/milan_ask.pem") +
                 read_text(std::string(CVTPM_SOURCE_DIR) + "/verify/roots/milan_ark.pem"));
  EXPECT_EQ(run({"report", "--report", kData + "/report_milan.bin", "--vcek",
                 kData + "/vcek_milan.der", "--cert-chain", "milan_chain.pem"})
                .exit_code,
            0);
  // A Genoa chain does not lead to the Milan root.
  dir_.write("genoa_chain.pem",
             read_text(std::string(CVTPM_SOURCE_DIR) + "/verify/roots/genoa_ask.pem") +
                 read_text(std::string(CVTPM_SOURCE_DIR) + "/verify/roots/genoa_ark.pem"));
  const ProcessResult genoa = run({"report", "--report", kData + "/report_milan.bin", "--vcek",
                                   kData + "/vcek_milan.der", "--cert-chain", "genoa_chain.pem"});
  EXPECT_EQ(genoa.exit_code, 1);
  EXPECT_NE(genoa.out.find("checks failed: trust-root, ask-signature, vcek-signature"),
            std::string::npos)
      << genoa.out;
}

TEST_F(VerifyCli, TheNativeReportNeedsTheFlagAndThenSaysNothingIsAttested) {
  fs::AttestationReport r{};
  r.version = 2;
  std::memcpy(r.host_data, fs::kCvtpmNativeNotAttested, sizeof fs::kCvtpmNativeNotAttested);
  const Bytes digest = sha512_of(Bytes(64, 0x3C), ek_);
  std::memcpy(r.report_data, digest.data(), 64);
  dir_.write("native.bin", {reinterpret_cast<const std::uint8_t*>(&r), sizeof r});
  const std::vector<std::string> args = {"report",   "--report",   "native.bin",  "--nonce",
                                         nonce_hex_, "--manifest", "manifest.bin"};
  const ProcessResult rejected = run(args);
  EXPECT_EQ(rejected.exit_code, 1);
  EXPECT_NE(rejected.out.find("FAIL  report-signature"), std::string::npos);
  std::vector<std::string> allowed = args;
  allowed.push_back("--allow-unsigned-native");
  const ProcessResult accepted = run(allowed);
  EXPECT_EQ(accepted.exit_code, 0) << accepted.out;
  EXPECT_TRUE(accepted.out.starts_with("verdict: ACCEPTED, BINDING ONLY: NOTHING IS ATTESTED"));
}

TEST_F(VerifyCli, MissingUnreadableTruncatedAndOversizedFiles) {
  expect_bad_input(accepted_args({"--report", "missing.bin"}), "missing.bin: cannot open");
  std::filesystem::create_directory(dir_ / "a-directory");
  expect_bad_input({"report", "--report", "a-directory", "--vcek", "vcek.der"},
                   "a-directory: is a directory");
  expect_bad_input({"report", "--report", "report.bin/x", "--vcek", "vcek.der"},
                   "report.bin/x: cannot open");
  dir_.write("short.bin", Bytes(report_.begin(), report_.begin() + 1183));
  expect_bad_input({"report", "--report", "short.bin", "--vcek", "vcek.der"},
                   "short.bin: truncated: an SEV-SNP attestation report is exactly 1184 (0x4A0) "
                   "bytes, this is 1183");
  Bytes long_report = report_;
  long_report.push_back(0);
  dir_.write("long.bin", long_report);
  expect_bad_input({"report", "--report", "long.bin", "--vcek", "vcek.der"},
                   "long.bin: oversized: an SEV-SNP attestation report is exactly 1184");
  dir_.write("huge.bin", Bytes(1 << 20, 0));
  expect_bad_input({"report", "--report", "huge.bin", "--vcek", "vcek.der"},
                   "huge.bin: oversized: 1048576 bytes, at most 65536 expected");
  expect_bad_input(accepted_args({"--vcek", "huge.bin"}), "huge.bin: oversized");
  expect_bad_input({"report", "--report", "report.bin", "--vcek", "vcek.der", "--nonce", nonce_hex_,
                    "--manifest", "huge.bin"},
                   "huge.bin: oversized");
  dir_.write("empty.bin", "");
  expect_bad_input({"report", "--report", "report.bin", "--vcek", "vcek.der", "--nonce", nonce_hex_,
                    "--manifest", "empty.bin"},
                   "empty.bin: empty manifest");
}

TEST_F(VerifyCli, CertificatesThatAreNotOneOrInTheWrongOrder) {
  dir_.write("garbage.der", Bytes(300, 0x30));
  expect_bad_input(accepted_args({"--vcek", "garbage.der"}),
                   "garbage.der: not an X.509 certificate (DER or PEM)");
  dir_.write("key.pem", private_key_pem(generate_ec("P-384")));
  expect_bad_input(accepted_args({"--vcek", "key.pem"}), "key.pem: not an X.509 certificate");
  expect_bad_input(accepted_args({"--cert-chain", "key.pem"}),
                   "key.pem: not a PEM certificate file");
  dir_.write("two.pem",
             der_to_pem(TestAmd::get().vcek_der()) + der_to_pem(TestAmd::get().vcek_der()));
  expect_bad_input(accepted_args({"--vcek", "two.pem"}),
                   "two.pem: holds 2 certificates where one is expected");
  const TestAmd& amd = TestAmd::get();
  dir_.write("reversed.pem", der_to_pem(amd.ark_der()) + der_to_pem(amd.ask_der()));
  expect_bad_input(accepted_args({"--cert-chain", "reversed.pem"}),
                   "reversed.pem: wrong order: the first certificate ('ARK-Milan') is "
                   "self-issued");
  std::string bad_pem = der_to_pem(amd.ask_der());
  bad_pem.replace(bad_pem.find('\n') + 10, 8, "!!!!!!!!");
  dir_.write("bad.pem", bad_pem);
  expect_bad_input(accepted_args({"--cert-chain", "bad.pem"}),
                   "bad.pem: PEM certificate 1 does not parse");
  Bytes truncated = amd.vcek_der();
  truncated.resize(truncated.size() - 10);
  dir_.write("truncated.der", truncated);
  expect_bad_input(accepted_args({"--vcek", "truncated.der"}), "truncated.der: not an X.509");
}

TEST_F(VerifyCli, MalformedVcekExtensionsAreBadInput) {
  const TestAmd& amd = TestAmd::get();
  CertificateSpec spec{"SEV-VCEK", kAmdAskCn, 0, amd.vcek_key(), amd.ask_key(), {}, {}};
  spec.extensions = {{"1.3.6.1.4.1.3704.1.2", der_ia5("Milan-B0")},
                     {"1.3.6.1.4.1.3704.1.3.1", {0x02, 0x01, 0x80}}};
  dir_.write("negative.der", make_certificate_der(spec));
  expect_bad_input(accepted_args({"--vcek", "negative.der"}),
                   "negative.der: extension 1.3.6.1.4.1.3704.1.3.1 (blSPL): negative INTEGER");
  spec.extensions = {{"1.3.6.1.4.1.3704.1.4", der_octets(Bytes(63, 1))}};
  dir_.write("short-hwid.der", make_certificate_der(spec));
  expect_bad_input(accepted_args({"--vcek", "short-hwid.der"}),
                   "short-hwid.der: extension 1.3.6.1.4.1.3704.1.4 (hwID): 63 bytes");
  spec.extensions = {{"1.3.6.1.4.1.3704.1.2", der_octets(Bytes(4, 'M'))}};
  dir_.write("octets-name.der", make_certificate_der(spec));
  expect_bad_input(accepted_args({"--vcek", "octets-name.der"}),
                   "octets-name.der: extension 1.3.6.1.4.1.3704.1.2 (productName): not an "
                   "IA5String");
  spec.extensions = {{"1.3.6.1.4.1.3704.1.3.2", {0x02, 0x05, 0x01}}};
  dir_.write("length.der", make_certificate_der(spec));
  expect_bad_input(accepted_args({"--vcek", "length.der"}),
                   "length.der: extension 1.3.6.1.4.1.3704.1.3.2 (teeSPL): DER length 5");
}

TEST_F(VerifyCli, BadHexAndOptions) {
  expect_bad_input(accepted_args({"--measurement", "xyz"}),
                   "--measurement: hex string has an odd number of digits");
  expect_bad_input(accepted_args({"--measurement", std::string(94, 'a')}),
                   "--measurement: a launch digest is 48 bytes (96 hex digits), got 47");
  expect_bad_input(accepted_args({"--measurement", std::string(95, 'a') + "g"}),
                   "--measurement: not a hex string (bad character at position 95)");
  expect_bad_input(accepted_args({"--nonce", "00"}),
                   "--nonce: must be 64 bytes (128 hex digits), got 1");
  expect_bad_input(accepted_args({"--host-data", "zz"}), "--host-data: not a hex string");
  expect_bad_input(accepted_args({"--id-key-digest", "00"}),
                   "--id-key-digest: must be 48 bytes (96 hex digits), got 1");
  expect_bad_input(accepted_args({"--author-key-digest", ""}),
                   "--author-key-digest: empty hex string");
  expect_bad_input(accepted_args({"--vmpl", "4"}), "--vmpl");
  expect_bad_input(accepted_args({"--min-tcb", "bl=1,tee=2"}), "--min-tcb: missing snp=N");
  expect_bad_input(accepted_args({"--min-tcb", "bl=1,tee=2,snp=3,microcode=256"}),
                   "--min-tcb microcode");
  expect_bad_input(accepted_args({"--min-tcb", "bl=1,bl=2"}), "--min-tcb: \"bl\" given twice");
  expect_bad_input(accepted_args({"--min-tcb", "bl=1,tee=2,snp=3,microcode=4,ucode=5"}),
                   "--min-tcb: unknown key \"ucode\"");
  expect_bad_input(
      {"report", "--report", "report.bin", "--vcek", "vcek.der", "--nonce", nonce_hex_},
      "--nonce requires --manifest");
  expect_bad_input({"report", "--report", "report.bin", "--vcek", "vcek.der", "--report-data",
                    std::string(128, '0'), "--nonce", nonce_hex_, "--manifest", "manifest.bin"},
                   "excludes");
  expect_bad_input({"report", "--report", "report.bin", "--ek-out", "ek.pem"},
                   "--ek-out requires --manifest");
  expect_bad_input({"report", "--report", "report.bin"},
                   "--vcek: required: the report is signed (SIGNATURE_ALGO 1)");
  expect_bad_input(
      {"report", "--report", "report.bin", "--vcek", "vcek.der", "--allow-unsigned-native"},
      "--allow-unsigned-native: checks the binding only: give --nonce and "
      "--manifest");
  expect_bad_input({"report"}, "--report is required");
  expect_bad_input({}, "A subcommand is required");
}

// The rollback options on a services manifest with the state entry (boot generation 7, digest
// B7...): accepted when the verifier last saw generation 7 with that digest, rejected naming the
// check when it saw 8.
TEST_F(VerifyCli, StateOptionsAcceptOrRejectNamingTheCheck) {
  const TestAmd& amd = TestAmd::get();
  const Bytes manifest =
      services_manifest({{vtpm_service_guid(), ek_}, {state_service_guid(), state_entry()}});
  fs::AttestationReport r = amd.report();
  const Bytes digest = sha512_of(Bytes(64, 0x3C), manifest);
  std::memcpy(r.report_data, digest.data(), 64);
  amd.sign(r);
  dir_.write("report-state.bin", Bytes(reinterpret_cast<const std::uint8_t*>(&r),
                                       reinterpret_cast<const std::uint8_t*>(&r) + sizeof r));
  dir_.write("manifest-state.bin", manifest);
  const std::string seen_digest = to_hex(Bytes(32, 0xB7));
  auto with = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> changes = {"--report", "report-state.bin", "--manifest",
                                        "manifest-state.bin"};
    changes.insert(changes.end(), extra.begin(), extra.end());
    return accepted_args(changes);
  };

  ProcessResult ok = run(with({"--min-state-generation", "7", "--state-digest", seen_digest,
                               "--require-state", "restored"}));
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("  pass  state-generation\n"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("  pass  state-digest\n"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("  pass  state-status\n"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("state: restored, binding development, boot generation 7 (digest " +
                        seen_digest + "), current generation 9"),
            std::string::npos)
      << ok.out;

  const ProcessResult rolled_back = run(with({"--min-state-generation", "8"}));
  EXPECT_EQ(rolled_back.exit_code, 1) << rolled_back.out << rolled_back.err;
  EXPECT_NE(rolled_back.out.find("checks failed: state-generation)\n"), std::string::npos)
      << rolled_back.out;
  EXPECT_NE(rolled_back.out.find("  FAIL  state-generation\n          expected: boot generation "
                                 "at least 8 (--min-state-generation)\n          actual:   boot "
                                 "generation 7 (restored)\n"),
            std::string::npos)
      << rolled_back.out;

  const ProcessResult forked =
      run(with({"--min-state-generation", "7", "--state-digest", to_hex(Bytes(32, 0x01))}));
  EXPECT_EQ(forked.exit_code, 1) << forked.out;
  EXPECT_NE(forked.out.find("checks failed: state-digest)\n"), std::string::npos) << forked.out;

  const ProcessResult json = run(with({"--output-format", "json"}));
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const nlohmann::json j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["manifest"]["kind"], "services");
  EXPECT_EQ(j["manifest"]["state"]["status"], "restored");
  EXPECT_EQ(j["manifest"]["state"]["boot_generation"], 7);
  EXPECT_EQ(j["manifest"]["state"]["current_generation"], 9);
  EXPECT_EQ(j["manifest"]["state"]["boot_digest"], seen_digest);

  // The vTPM-only manifest has no state entry: a rejection, not bad input.
  const ProcessResult absent = run(accepted_args({"--require-state", "persistent"}));
  EXPECT_EQ(absent.exit_code, 1) << absent.out;
  EXPECT_NE(absent.out.find("actual:   no cvtpm state entry in the manifest"), std::string::npos)
      << absent.out;

  expect_bad_input(with({"--min-state-generation", "seven"}), "--min-state-generation");
  expect_bad_input(with({"--min-state-generation", "7", "--state-digest", "00"}),
                   "--state-digest: must be 32 bytes (64 hex digits), got 1");
  expect_bad_input(with({"--state-digest", seen_digest}),
                   "--state-digest requires --min-state-generation");
  expect_bad_input(with({"--require-state", "fresh"}), "--require-state");
  expect_bad_input(
      {"report", "--report", "report.bin", "--vcek", "vcek.der", "--min-state-generation", "1"},
      "--min-state-generation requires --manifest");
  Bytes bad = manifest;
  bad[bad.size() - 96 + 4] = 9;  // status 9
  dir_.write("manifest-bad.bin", bad);
  expect_bad_input(with({"--manifest", "manifest-bad.bin"}),
                   "manifest-bad.bin: services manifest "
                   "entry 1 (cvtpm state): status 9");
}

TEST_F(VerifyCli, BadReferenceValues) {
  dir_.write("not.json", "{\"launch_digest\": ");
  expect_bad_input(accepted_args({"--reference-values", "not.json"}), "not.json: not valid JSON");
  dir_.write("array.json", "[]");
  expect_bad_input(accepted_args({"--reference-values", "array.json"}),
                   "array.json: not a JSON object");
  dir_.write("sev.json",
             "{\"mode\": \"sev\", \"launch_digest\": \"" + std::string(64, 'a') + "\"}");
  expect_bad_input(accepted_args({"--reference-values", "sev.json"}),
                   "sev.json: top level: mode \"sev\" has no SNP launch digest");
  dir_.write("none.json", "{\"mode\": \"snp\"}");
  expect_bad_input(accepted_args({"--reference-values", "none.json"}),
                   "none.json: top level has no \"launch_digest\" string");
  dir_.write("short.json", "{\"launch_digest\": \"abcd\"}");
  expect_bad_input(accepted_args({"--reference-values", "short.json"}),
                   "short.json: top level.launch_digest: a launch digest is 48 bytes");
  dir_.write("list.json", "{\"ovmf_launches\": {}}");
  expect_bad_input(accepted_args({"--reference-values", "list.json"}),
                   "list.json: \"ovmf_launches\" is not an array");
  dir_.write("empty-list.json", "{\"ovmf_launches\": []}");
  expect_bad_input(accepted_args({"--reference-values", "empty-list.json"}),
                   "empty-list.json: lists no launch digest");
}

TEST_F(VerifyCli, ReferenceValuesInEveryShapeCvtpmWrites) {
  const std::string digest = "\"launch_digest\": \"" + measurement_hex_ + "\"";
  const std::string other = "\"launch_digest\": \"" + std::string(96, 'b') + "\"";
  dir_.write("measure.json", "{\"tool\": \"cvtpm-measure 0.1.0\", \"mode\": \"snp\", " + digest +
                                 ", \"vcpus\": 4}");
  dir_.write("igvm.json", "{\"mode\": \"igvm\", " + digest + "}");
  dir_.write("listing.json", "{\"igvm\": {\"mode\": \"igvm\", " + other +
                                 "}, \"ovmf_launches\": [{\"mode\": \"snp\", " + other +
                                 "}, {\"mode\": \"snp\", " + digest +
                                 ", \"vcpus\": 2, \"vcpu_type\": \"EPYC-Milan\"}]}");
  for (const char* file : {"measure.json", "igvm.json", "listing.json"}) {
    const ProcessResult r = run(accepted_args({"--reference-values", file}));
    EXPECT_EQ(r.exit_code, 0) << file << r.out << r.err;
  }
  const ProcessResult listed = run(accepted_args({"--reference-values", "listing.json"}));
  EXPECT_NE(listed.out.find("(listing.json: ovmf_launches[1] (2 x \"EPYC-Milan\"))"),
            std::string::npos)
      << listed.out;
  dir_.write("others.json", "{\"igvm\": {\"mode\": \"igvm\", " + other + "}}");
  EXPECT_EQ(run(accepted_args({"--reference-values", "others.json"})).exit_code, 1);
}

TEST_F(VerifyCli, FetchBadInput) {
  expect_bad_input({"fetch", "--tcti", "mssim:port=2321", "--nonce", nonce_hex_, "--out", "."},
                   "--tcti: \"mssim:port=2321\": expected swtpm:host=HOST,port=PORT");
  expect_bad_input({"fetch", "--tcti", "swtpm:port=0", "--nonce", nonce_hex_, "--out", "."},
                   "--tcti: port 0");
  expect_bad_input({"fetch", "--tcti", "swtpm:path=/x", "--nonce", nonce_hex_, "--out", "."},
                   "--tcti: \"path=/x\": expected host=HOST or port=PORT");
  expect_bad_input({"fetch", "--tcti", "swtpm:port=1", "--nonce", "00", "--out", "."},
                   "--nonce: must be 64 bytes");
  expect_bad_input({"fetch", "--tcti", "swtpm:port=1", "--nonce", nonce_hex_, "--out", "nowhere"},
                   "nowhere: not a directory");
  // Port 1's successor on loopback: nothing listens there.
  expect_bad_input(
      {"fetch", "--tcti", "swtpm:host=127.0.0.1,port=1", "--nonce", nonce_hex_, "--out", "."},
      "--tcti: cannot connect to the control channel at 127.0.0.1:2: Connection "
      "refused");
}

}  // namespace
}  // namespace cvtpm::verify::testing
