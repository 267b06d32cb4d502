// cvtpm-igvmgen as users run it: the real binary, its outputs, files and exit statuses.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>

#include "cvtpm/formats/boot/boot_params.h"
#include "cvtpm/formats/igvm/igvm_file.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/measure/igvm_measure.h"
#include "cvtpm/support/files.h"
#include "process.h"
#include "raw_igvm.h"
#include "synthetic_ovmf.h"
#include "temp_dir.h"
#include "tool_errors.h"

namespace cvtpm::igvmgen {
namespace {

namespace igvm = formats::igvm;
using testing::expect_one_line_error;
using testing::ProcessResult;
using testing::TempDir;

const std::string kIgvmgen = std::string(CVTPM_BIN_DIR) + "/cvtpm-igvmgen";
constexpr const char* kDebianOvmf = "/usr/share/OVMF/OVMF_CODE.fd";

class IgvmgenCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ovmf_ = dir_.write("ovmf.fd", testing::SyntheticOvmf{}.build()).string();
  }

  ProcessResult run(std::vector<std::string> args) const {
    args.insert(args.begin(), kIgvmgen);
    return testing::run_process(args, dir_.path());
  }

  std::vector<std::string> build_args(const std::string& out = "out.igvm") const {
    return {"build", "--firmware", CVTPM_TEST_FIRMWARE, "--ovmf", ovmf_, "-o", out};
  }

  // Bad input: status 2, one stderr line with `expected`, nothing on stdout, and no file left
  // in the directory besides the inputs.
  void expect_bad_input(const std::vector<std::string>& args, const std::string& expected) const {
    const auto before = dir_.entries();
    expect_one_line_error(run(args), "cvtpm-igvmgen", expected);
    EXPECT_EQ(dir_.entries(), before);
  }

  igvm::IgvmFile parse_output(const std::string& name = "out.igvm") const {
    return igvm::parse_igvm(load_file(dir_ / name), name);
  }

  TempDir dir_;
  std::string ovmf_;
};

TEST_F(IgvmgenCli, HelpAndVersion) {
  ProcessResult help = run({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("build"), std::string::npos);
  EXPECT_NE(help.out.find("dump"), std::string::npos);
  ProcessResult build_help = run({"build", "--help"});
  EXPECT_EQ(build_help.exit_code, 0);
  for (const char* option :
       {"--firmware", "--ovmf", "--platform", "--policy", "--sev-features", "--guest-vmpl",
        "--serial-port", "--ek-algorithm", "--allow-non-svsm-ovmf"}) {
    EXPECT_NE(build_help.out.find(option), std::string::npos) << option;
  }
  ProcessResult version = run({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out, "cvtpm-igvmgen 0.1.0\n");
  EXPECT_EQ(run({}).exit_code, 2);
}

TEST_F(IgvmgenCli, BuildsQuietlyAndReproducibly) {
  ProcessResult a = run(build_args("a.igvm"));
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, "");
  EXPECT_EQ(a.err, "");
  ProcessResult b = run(build_args("b.igvm"));
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(read_file(dir_ / "a.igvm"), read_file(dir_ / "b.igvm"));
  const igvm::IgvmFile f = parse_output("a.igvm");
  EXPECT_EQ(f.platforms.size(), 2u);
  // The bytes hold no host path.
  const auto bytes = read_file(dir_ / "a.igvm");
  const std::string path = dir_.path().string();
  EXPECT_EQ(std::search(bytes.begin(), bytes.end(), path.begin(), path.end()), bytes.end());
}

TEST_F(IgvmgenCli, VerbosePrintsTheLayout) {
  auto args = build_args();
  args.push_back("-v");
  ProcessResult r = run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("0x8005000      0x1000  boot parameters"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("0xffffc000      0x4000  OVMF"), std::string::npos) << r.err;
}

TEST_F(IgvmgenCli, OptionsReachTheImage) {
  auto args = build_args();
  args.insert(args.end(), {"--platform", "snp", "--policy", "0x70000", "--sev-features",
                           "debug-swap,restricted-injection", "--guest-sev-features", "0x1,0x20",
                           "--guest-vmpl", "3", "--serial-port", "com2", "--ek-algorithm",
                           "ecc-p256", "--debug-log"});
  ProcessResult r = run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const igvm::IgvmFile f = parse_output();
  EXPECT_EQ(f.format_version, 1u);
  ASSERT_EQ(f.platforms.size(), 1u);
  EXPECT_EQ(std::get<igvm::GuestPolicy>(f.initialization[0]).policy, 0x70000u);
  const auto& vp = std::get<igvm::VpContextDirective>(f.directives.back());
  formats::snp::Vmsa vmsa;
  std::memcpy(&vmsa, vp.data.span().data(), sizeof vmsa);
  EXPECT_EQ(vmsa.sev_features, 0x29u);
  formats::boot::BootParams p{};
  for (const auto& d : f.directives) {
    const auto* page = std::get_if<igvm::PageDirective>(&d);
    if (page && page->gpa == 0x8005000) std::memcpy(&p, page->data.span().data(), sizeof p);
  }
  EXPECT_EQ(p.magic, formats::boot::kBootParamsMagic);
  EXPECT_EQ(p.guest_sev_features, 0x21u);
  EXPECT_EQ(p.guest_vmpl, 3);
  EXPECT_EQ(p.debug_serial_port, 0x2F8);
  EXPECT_EQ(p.ek_algorithm, 1);
  EXPECT_EQ(p.flags, formats::boot::boot_flags::kDebugLog);
  EXPECT_EQ(p.state_binding, 2u);  // measurement, the default
  EXPECT_EQ(p.state_min_svn, 0u);
}

// The persistent vTPM's binding is in the measured BootParams: another binding, another digest.
TEST_F(IgvmgenCli, StateBindingReachesTheMeasuredBootParams) {
  auto boot_params_of = [&](const igvm::IgvmFile& f) {
    formats::boot::BootParams p{};
    for (const auto& d : f.directives) {
      const auto* page = std::get_if<igvm::PageDirective>(&d);
      if (page && page->gpa == 0x8005000) std::memcpy(&p, page->data.span().data(), sizeof p);
    }
    return p;
  };
  auto args = build_args();
  args.insert(args.end(), {"--platform", "snp"});
  ASSERT_EQ(run(args).exit_code, 0);
  const igvm::IgvmFile measurement = parse_output();
  args.insert(args.end(), {"--state-binding", "identity", "--state-min-svn", "7"});
  ProcessResult r = run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const igvm::IgvmFile identity = parse_output();
  EXPECT_EQ(boot_params_of(measurement).state_binding, 2u);
  const formats::boot::BootParams p = boot_params_of(identity);
  EXPECT_EQ(p.state_binding, 3u);
  EXPECT_EQ(p.state_min_svn, 7u);
  EXPECT_NE(measure::measure_igvm(measurement, {}, "m").digest,
            measure::measure_igvm(identity, {}, "i").digest);
}

TEST_F(IgvmgenCli, RefusesBadInputWithoutLeavingFiles) {
  auto with = [&](std::vector<std::string> extra) {
    auto args = build_args();
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  // Without --firmware the search order finds cvtpm-fw.elf (tests/install); an override that
  // lacks it is bad input.
  expect_bad_input({"build", "--ovmf", ovmf_, "-o", "out.igvm", "--data-dir", "no-such-dir"},
                   "--data-dir: no-such-dir: not a directory");
  expect_bad_input(with({"--data-dir", "."}), " excludes --");
  expect_bad_input(with({"--platform", "tdx"}), "--platform: unknown platform 'tdx'");
  expect_bad_input(with({"--sev-features", "warp-drive"}),
                   "--sev-features: unknown SEV feature 'warp-drive'");
  expect_bad_input(with({"--sev-features", "vtom"}), "sets vTOM");
  expect_bad_input(with({"--sev-features", "restricted-injection,alternate-injection"}),
                   "sets both Restricted and Alternate Injection");
  expect_bad_input(with({"--guest-vmpl", "0"}), "--guest-vmpl: 0 is not a lower VMPL");
  expect_bad_input(with({"--guest-vmpl", "4"}), "--guest-vmpl: 4 is not a lower VMPL");
  expect_bad_input(with({"--policy", "0x10000"}), "--policy: 0x10000 lacks bit 17");
  expect_bad_input(with({"--serial-port", "0x10000"}), "--serial-port");
  expect_bad_input(with({"--ek-algorithm", "rsa1024"}), "--ek-algorithm");
  expect_bad_input(with({"--state-binding", "chip"}), "--state-binding: unknown binding 'chip'");
  expect_bad_input(with({"--state-binding", "identity"}),
                   "--state-binding: identity needs --state-min-svn");
  expect_bad_input(with({"--state-binding", "identity", "--state-min-svn", "0"}),
                   "--state-min-svn: 0 would let any launch without an ID block");
  expect_bad_input(with({"--state-binding", "identity", "--state-min-svn", "4294967296"}),
                   "--state-min-svn");
  expect_bad_input(with({"--state-min-svn", "3"}),
                   "--state-min-svn: needs --state-binding identity");
  expect_bad_input({"build", "--firmware", "missing.elf", "--ovmf", ovmf_, "-o", "out.igvm"},
                   "missing.elf: cannot open");
  dir_.write("not.elf",
             "text, not an ELF file, long enough to have a header........"
             "..............................");
  expect_bad_input({"build", "--firmware", "not.elf", "--ovmf", ovmf_, "-o", "out.igvm"},
                   "not.elf: offset 0x0: not an ELF file");
  testing::SyntheticOvmf no_caa;
  no_caa.sections.erase(no_caa.sections.begin() + 4);
  const auto no_caa_path = dir_.write("nocaa.fd", no_caa.build());
  expect_bad_input({"build", "--firmware", CVTPM_TEST_FIRMWARE, "--ovmf", no_caa_path.string(),
                    "-o", "out.igvm"},
                   "nocaa.fd: OVMF SEV metadata has no SVSM_CAA (calling area) section");
  expect_bad_input({"build", "--firmware", CVTPM_TEST_FIRMWARE, "--ovmf", no_caa_path.string(),
                    "-o", "missing-dir/out.igvm", "--allow-non-svsm-ovmf"},
                   "missing-dir/out.igvm: cannot create a temporary file");
}

TEST_F(IgvmgenCli, DebianOvmfBuildsOnlyWithAllowNonSvsm) {
  if (!std::filesystem::exists(kDebianOvmf)) GTEST_SKIP() << kDebianOvmf << " not installed";
  expect_bad_input(
      {"build", "--firmware", CVTPM_TEST_FIRMWARE, "--ovmf", kDebianOvmf, "-o", "out.igvm"},
      std::string(kDebianOvmf) + ": OVMF SEV metadata has no SVSM_CAA");
  ProcessResult r = run({"build", "--firmware", CVTPM_TEST_FIRMWARE, "--ovmf", kDebianOvmf, "-o",
                         "out.igvm", "--allow-non-svsm-ovmf"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const igvm::IgvmFile f = parse_output();
  const auto size = std::filesystem::file_size(kDebianOvmf);
  std::size_t ovmf_pages = 0;
  for (const auto& d : f.directives) {
    const auto* p = std::get_if<igvm::PageDirective>(&d);
    if (p && p->gpa >= 0x100000000 - size) ++ovmf_pages;
  }
  EXPECT_EQ(ovmf_pages, size / 4096);
  // Identical OVMF pages (0xFF padding) are stored once: the file is smaller than OVMF itself.
  EXPECT_LT(std::filesystem::file_size(dir_ / "out.igvm"), size);
}

TEST_F(IgvmgenCli, DumpsEveryHeader) {
  ASSERT_EQ(run(build_args()).exit_code, 0);
  ProcessResult text = run({"dump", "out.igvm"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  for (const char* line :
       {"format version 2, architecture x64\n",
        "  [0] SUPPORTED_PLATFORM platform sev-snp compatibility_mask 0x1 highest_vtl 2",
        "  [2] GUEST_POLICY compatibility_mask 0x1 platforms sev-snp policy 0x30000 "
        "policy_bits abi 0.0, smt, reserved-1\n",
        "  [3] REQUIRED_MEMORY compatibility_mask 0x3 platforms sev-snp|native gpa 0x8000000 "
        "size 0x2000000",
        "  [6] VP_COUNT_PARAMETER area 0 byte_offset 0x0\n",
        "  [9] PARAMETER_INSERT compatibility_mask 0x3 platforms sev-snp|native gpa 0x8008000 "
        "area 0\n",
        "  [11..15] PAGE_DATA compatibility_mask 0x3 platforms sev-snp|native gpa 0x8000000 "
        "end 0x8005000 pages 5 data_type NORMAL data file\n",
        "  [18] PAGE_DATA compatibility_mask 0x1 platforms sev-snp gpa 0x8006000 end 0x8007000 "
        "pages 1 data_type CPUID_DATA data file\n",
        "  [19] PAGE_DATA compatibility_mask 0x1 platforms sev-snp gpa 0x8007000 end 0x8008000 "
        "pages 1 data_type SECRETS data zero\n",
        "format native\n", "        rax 0xc7b00002\n", "format vmsa sha384 ",
        "        rax 0xc7b00003\n",
        "        sev_features_names snp,restricted-injection,debug-swap\n"}) {
    EXPECT_NE(text.out.find(line), std::string::npos) << "missing: " << line << "\n" << text.out;
  }
  ProcessResult json = run({"dump", "out.igvm", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["file"], "out.igvm");
  EXPECT_EQ(j["size"], std::filesystem::file_size(dir_ / "out.igvm"));
  EXPECT_EQ(j["platforms"].size(), 2u);
  const auto& directives = j["directives"];
  const auto& vmsa = directives.back();
  EXPECT_EQ(vmsa["type"], "VP_CONTEXT");
  EXPECT_EQ(vmsa["gpa"], "0xfffffffff000");
  EXPECT_EQ(vmsa["registers"]["cr0"], "0x31");
  EXPECT_EQ(vmsa["registers"]["rsi"], "0x8005000");
  EXPECT_FALSE(vmsa["registers"].contains("other_nonzero_bytes"));
  EXPECT_EQ(directives[8]["type"], "PAGE_DATA");
  EXPECT_EQ(directives[8]["pages"], 5);
}

TEST_F(IgvmgenCli, DumpRefusesMalformedFiles) {
  ASSERT_EQ(run(build_args()).exit_code, 0);
  auto bytes = read_file(dir_ / "out.igvm");
  bytes[0x14] ^= 0xFF;
  dir_.write("bad.igvm", bytes);
  expect_bad_input({"dump", "bad.igvm"}, "bad.igvm: offset 0x14: checksum");
  bytes.resize(100);
  dir_.write("short.igvm", bytes);
  expect_bad_input({"dump", "short.igvm"}, "short.igvm: offset 0x10: total_file_size");
  expect_bad_input({"dump", "none.igvm"}, "none.igvm: cannot open");
}

}  // namespace
}  // namespace cvtpm::igvmgen
