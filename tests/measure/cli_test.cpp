// cvtpm-measure as users run it: the real binary, its stdout, stderr and exit status.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cvtpm/measure/snp_keys.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/files.h"
#include "process.h"
#include "synthetic_ovmf.h"
#include "temp_dir.h"
#include "tool_errors.h"

namespace cvtpm::measure {
namespace {

using testing::expect_one_line_error;
using testing::ProcessResult;
using testing::SyntheticOvmf;
using testing::TempDir;

const std::string kMeasure = std::string(CVTPM_BIN_DIR) + "/cvtpm-measure";

class MeasureCli : public ::testing::Test {
 protected:
  ProcessResult run(std::vector<std::string> args) const {
    args.insert(args.begin(), kMeasure);
    return testing::run_process(args, dir_.path());
  }

  // Asserts the bad-input contract: status 2, nothing on stdout, exactly one line on stderr
  // that contains `expected`.
  void expect_bad_input(const std::vector<std::string>& args, const std::string& expected) const {
    expect_one_line_error(run(args), "cvtpm-measure", expected);
  }

  std::string ovmf(const SyntheticOvmf& spec = {}, const std::string& name = "ovmf.fd") const {
    return dir_.write(name, spec.build()).string();
  }

  std::vector<std::string> snp_args(const std::string& ovmf_path) const {
    return {"--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC-Milan", "--ovmf", ovmf_path};
  }

  TempDir dir_;
};

TEST_F(MeasureCli, HelpAndVersion) {
  ProcessResult help = run({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--vcpu-type"), std::string::npos);
  EXPECT_NE(help.out.find("id-block"), std::string::npos);
  ProcessResult version = run({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out, "cvtpm-measure 0.1.0\n");
  ProcessResult sub_help = run({"id-block", "--help"});
  EXPECT_EQ(sub_help.exit_code, 0);
  EXPECT_NE(sub_help.out.find("--author-key"), std::string::npos);
}

TEST_F(MeasureCli, PrintsOnlyTheDigest) {
  ProcessResult r = run(snp_args(ovmf()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.size(), 97u);
  EXPECT_EQ(r.out.back(), '\n');
  EXPECT_EQ(r.err, "");
  ProcessResult b64 = run([&] {
    auto a = snp_args(ovmf());
    a.insert(a.end(), {"--output-format", "base64"});
    return a;
  }());
  ASSERT_EQ(b64.exit_code, 0);
  EXPECT_EQ(to_hex(parse_base64(b64.out.substr(0, b64.out.size() - 1), "b64")),
            r.out.substr(0, 96));
}

TEST_F(MeasureCli, VerboseLabelsTheDigestAndListsRegionsOnStderr) {
  auto args = snp_args(ovmf());
  ProcessResult plain = run(args);
  args.push_back("-v");
  ProcessResult r = run(args);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "Calculated SEV_SNP guest measurement: " + plain.out);
  EXPECT_NE(r.err.find("gpa 0xffffc000 len 0x4000 (Normal page)\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("gpa 0x80d000 len 0x1000 (Secrets page)\n"), std::string::npos);
  EXPECT_NE(r.err.find("gpa 0xfffffffff000 len 0x1000 (VMSA page)\n"), std::string::npos);
}

TEST_F(MeasureCli, JsonRecordsEveryInputOfTheDigest) {
  std::string path = ovmf();
  auto kernel = dir_.write("bzImage", "kernel bytes");
  auto args = snp_args(path);
  args.insert(args.end(), {"--kernel", kernel.string(), "--append", "console=ttyS0",
                           "--guest-features", "0x21", "--output-format", "json"});
  ProcessResult r = run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  auto hex_args = args;
  hex_args.resize(hex_args.size() - 2);
  EXPECT_EQ(j["launch_digest"].get<std::string>() + "\n", run(hex_args).out);
  EXPECT_EQ(j["mode"], "snp");
  EXPECT_EQ(j["vcpus"], 2);
  EXPECT_EQ(j["vcpu_type"], "EPYC-Milan");
  EXPECT_EQ(j["vcpu_signature"], "0x00a00f11");
  EXPECT_EQ(j["guest_features"], "0x21");
  EXPECT_EQ(j["vmm_type"], "QEMU");
  EXPECT_EQ(j["inputs"]["ovmf"]["file"], "ovmf.fd");  // base name only: no host paths
  EXPECT_EQ(j["inputs"]["ovmf"]["sha256"], to_hex(sha256(read_file(path))));
  EXPECT_EQ(j["inputs"]["kernel"]["sha256"], to_hex(sha256(read_file(kernel))));
  EXPECT_TRUE(j["inputs"]["initrd"].is_null());
  EXPECT_EQ(j["inputs"]["append"], "console=ttyS0");
  EXPECT_EQ(r.out.find(dir_.path().string()), std::string::npos);
}

TEST_F(MeasureCli, OvmfHashSeedsTheFullDigest) {
  std::string path = ovmf();
  ProcessResult hash = run({"--mode", "snp:ovmf-hash", "--ovmf", path});
  ASSERT_EQ(hash.exit_code, 0);
  auto seeded = snp_args(path);
  seeded.insert(seeded.end(), {"--snp-ovmf-hash", hash.out.substr(0, 96)});
  EXPECT_EQ(run(seeded).out, run(snp_args(path)).out);
}

TEST_F(MeasureCli, DumpVmsaWritesOnePagePerVcpu) {
  ProcessResult r = run([&] {
    auto a = snp_args(ovmf());
    a.push_back("--dump-vmsa");
    return a;
  }());
  ASSERT_EQ(r.exit_code, 0);
  auto v0 = read_file(dir_ / "vmsa0.bin");
  auto v1 = read_file(dir_ / "vmsa1.bin");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "vmsa2.bin"));
  ASSERT_EQ(v0.size(), 4096u);
  EXPECT_EQ(v0[0x310], 0x11);  // RDX = EPYC-Milan signature 0x00A00F11
  EXPECT_EQ(v0[0x178], 0xF0);  // BSP RIP 0xFFF0
  EXPECT_EQ(v1[0x178], 0x04);  // AP RIP from the reset block 0x80B004
}

TEST_F(MeasureCli, SevAndSevEsModes) {
  std::string path = ovmf();
  ProcessResult sev = run({"--mode", "sev", "--ovmf", path});
  ASSERT_EQ(sev.exit_code, 0) << sev.err;
  EXPECT_EQ(sev.out, to_hex(sha256(read_file(path))) + "\n");
  ProcessResult seves =
      run({"--mode", "seves", "--vcpus", "1", "--vcpu-type", "EPYC", "--ovmf", path});
  ASSERT_EQ(seves.exit_code, 0) << seves.err;
  EXPECT_EQ(seves.out.size(), 65u);
}

TEST_F(MeasureCli, BadFiles) {
  expect_bad_input(snp_args((dir_ / "missing.fd").string()),
                   (dir_ / "missing.fd").string() + ": cannot open: No such file or directory");
  expect_bad_input(snp_args(dir_.path().string()), dir_.path().string() + ": is a directory");
  SyntheticOvmf no_footer;
  no_footer.footer = false;
  expect_bad_input(snp_args(ovmf(no_footer, "plain.fd")), "plain.fd: no OVMF footer table");
  SyntheticOvmf no_meta;
  no_meta.metadata = false;
  expect_bad_input(snp_args(ovmf(no_meta, "nometa.fd")),
                   "nometa.fd: OVMF footer table has no SEV metadata");
  SyntheticOvmf overlap;
  overlap.sections = {{0x800000, 0x2000, 1}, {0x801000, 0x1000, 2}};
  expect_bad_input(snp_args(ovmf(overlap, "overlap.fd")), "overlap.fd: SEV metadata section 1");
  SyntheticOvmf overflow;
  overflow.sections = {{0xFFFFF000, 0x2000, 1}};
  expect_bad_input(snp_args(ovmf(overflow, "overflow.fd")), "overflows 4 GiB");
}

TEST_F(MeasureCli, KernelNeedsAnOvmfWithKernelHashes) {
  SyntheticOvmf x64;
  x64.sections = {{0x800000, 0x9000, 1}, {0x80D000, 0x1000, 2}, {0x80E000, 0x1000, 3}};
  auto args = snp_args(ovmf(x64, "OvmfX64.fd"));
  args.insert(args.end(), {"--kernel", "/dev/null"});
  expect_bad_input(args, "OvmfX64.fd: OVMF SEV metadata has no SNP_KERNEL_HASHES section");
  auto no_kernel = snp_args(ovmf());
  no_kernel.insert(no_kernel.end(), {"--initrd", "/dev/null"});
  expect_bad_input(no_kernel, "--initrd: --kernel required when using --initrd");
}

TEST_F(MeasureCli, BadNumbersAndOptions) {
  std::string path = ovmf();
  auto with = [&](std::vector<std::string> extra) {
    auto a = std::vector<std::string>{"--mode", "snp", "--ovmf", path};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  expect_bad_input(with({"--vcpus", "0", "--vcpu-type", "EPYC"}),
                   "--vcpus: '0' is not a vCPU count between 1 and 1024");
  expect_bad_input(with({"--vcpus", "100000", "--vcpu-type", "EPYC"}),
                   "--vcpus: '100000' is not a vCPU count");
  expect_bad_input(with({"--vcpus", "two", "--vcpu-type", "EPYC"}),
                   "--vcpus: 'two' is not an unsigned integer");
  expect_bad_input(with({"--vcpu-type", "EPYC"}), "--vcpus: missing --vcpus N in guest mode 'snp'");
  expect_bad_input(with({"--vcpus", "1"}), "missing --vcpu-type or --vcpu-sig or --vcpu-family");
  expect_bad_input(with({"--vcpus", "1", "--vcpu-type", "Pentium"}),
                   "--vcpu-type: unknown vCPU type 'Pentium'");
  expect_bad_input(with({"--vcpus", "1", "--vcpu-type", "EPYC", "--snp-ovmf-hash", "12zz"}),
                   "--snp-ovmf-hash: not a hex string");
  expect_bad_input(with({"--vcpus", "1", "--vcpu-type", "EPYC", "--snp-ovmf-hash", "abcd"}),
                   "--snp-ovmf-hash: must be 48 bytes");
  expect_bad_input(with({"--vcpus", "1", "--vcpu-type", "EPYC", "--guest-features", "0xZZ"}),
                   "--guest-features: '0xZZ' is not an unsigned integer");
  expect_bad_input(with({"--vcpus", "1", "--vcpu-type", "EPYC", "--guest-features", "0x20"}),
                   "--guest-features: 0x20 lacks bit 0");
  expect_bad_input(with({"--vcpus", "1", "--vcpu-type", "EPYC", "--vmm-type", "xen"}),
                   "--vmm-type: unknown VMM type 'xen'");
  expect_bad_input({"--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC"}, "--ovmf: required");
  expect_bad_input({"--ovmf", path}, "--mode: required");
  expect_bad_input(with({"--no-such-option"}), "no-such-option");
  expect_bad_input({"--mode", "tdx", "--ovmf", path}, "--mode");
}

TEST_F(MeasureCli, IdBlockForADigest) {
  // Keys from the openssl command line, as users make them.
  for (const char* name : {"id.pem", "author.pem"}) {
    ProcessResult k = testing::run_process({"/usr/bin/openssl", "ecparam", "-name", "secp384r1",
                                            "-genkey", "-noout", "-out", (dir_ / name).string()});
    ASSERT_EQ(k.exit_code, 0) << k.err;
  }
  const std::string digest(96, 'a');
  ProcessResult r =
      run({"id-block", "--measurement", digest, "--id-key", "id.pem", "--author-key", "author.pem",
           "--family-id", "00112233445566778899aabbccddeeff", "--svn", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string qemu, id_hash, author;
  std::getline(lines, qemu);
  std::getline(lines, id_hash);
  std::getline(lines, author);
  ASSERT_TRUE(qemu.starts_with("id-block=")) << qemu;
  EXPECT_TRUE(qemu.ends_with(",author-key-enabled=on"));
  std::string block_b64 = qemu.substr(9, qemu.find(",id-auth=") - 9);
  std::size_t auth_at = qemu.find(",id-auth=") + 9;
  std::string auth_b64 = qemu.substr(auth_at, qemu.find(",author-key-enabled") - auth_at);
  auto block = parse_base64(block_b64, "id-block");
  auto auth = parse_base64(auth_b64, "id-auth");
  ASSERT_EQ(block.size(), 0x60u);
  ASSERT_EQ(auth.size(), 0x1000u);
  EXPECT_EQ(to_hex(std::span(block).first(48)), digest);
  EXPECT_EQ(block[0x30], 0x00);
  EXPECT_EQ(block[0x3F], 0xFF);
  EXPECT_EQ(block[0x54], 3);

  formats::snp::IdAuthInfo info;
  std::memcpy(&info, auth.data(), sizeof info);
  EXPECT_TRUE(verify_snp_signature(info.id_key, block, info.id_block_sig));
  EXPECT_TRUE(verify_snp_signature(info.author_key, struct_bytes(info.id_key), info.id_key_sig));
  EXPECT_EQ(id_hash, "id_key_hash: " + to_base64(public_key_digest(info.id_key)));
  EXPECT_EQ(author, "author_key: " + to_base64(public_key_digest(info.author_key)));

  // The same digest in base64, JSON output.
  ProcessResult j = run({"id-block", "--measurement", to_base64(parse_hex(digest, "d")), "--id-key",
                         "id.pem", "--output-format", "json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  auto json = nlohmann::json::parse(j.out);
  EXPECT_EQ(json["launch_digest"], digest);
  EXPECT_EQ(json["author_key_enabled"], false);
  EXPECT_TRUE(json["author_key_digest"].is_null());
  EXPECT_EQ(json["policy"], "0x30000");
}

TEST_F(MeasureCli, IdBlockBadInput) {
  expect_bad_input({"id-block", "--measurement", "abcd", "--id-key", "id.pem"}, "--measurement:");
  const std::string digest(96, 'b');
  expect_bad_input({"id-block", "--measurement", digest, "--id-key", "missing.pem"},
                   "missing.pem: cannot open");
  dir_.write("junk.pem", "junk");
  expect_bad_input({"id-block", "--measurement", digest, "--id-key", "junk.pem"},
                   "junk.pem: not an unencrypted PEM private key");
  expect_bad_input(
      {"id-block", "--measurement", digest, "--id-key", "junk.pem", "--policy", "0x10000"},
      "--policy: 0x10000 lacks bit 17");
  expect_bad_input({"id-block", "--id-key", "junk.pem"}, "--measurement");
}

}  // namespace
}  // namespace cvtpm::measure
