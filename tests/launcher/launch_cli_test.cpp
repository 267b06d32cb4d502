// cvtpm-launch as users run it: the real binary against fake host trees, fake QEMU binaries that
// record how they were started, and real IGVM images built by cvtpm-igvmgen.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "cvtpm/support/digest.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/files.h"
#include "fake_host.h"
#include "process.h"
#include "synthetic_ovmf.h"
#include "temp_dir.h"
#include "tool_errors.h"

namespace cvtpm::launch {
namespace {

namespace fs = std::filesystem;
using cvtpm::testing::expect_one_line_error;
using cvtpm::testing::ProcessResult;
using cvtpm::testing::TempDir;

const std::string kBin = CVTPM_BIN_DIR;

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class LaunchCli : public ::testing::Test {
 protected:
  LaunchCli() {
    ovmf_ = dir_.write("OVMF.fd", cvtpm::testing::SyntheticOvmf{}.build());
    image_ = build_image("vtpm.igvm", {});
  }

  fs::path build_image(const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> argv = {
        kBin + "/cvtpm-igvmgen", "build", "--firmware",          CVTPM_TEST_FIRMWARE, "--ovmf",
        ovmf_.string(),          "-o",    (dir_ / name).string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ProcessResult r = cvtpm::testing::run_process(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return dir_ / name;
  }

  // The digest as cvtpm-measure computes it, independently of the launcher's path to it.
  std::string measured_digest(const fs::path& image) {
    ProcessResult r = cvtpm::testing::run_process(
        {kBin + "/cvtpm-measure", "igvm", "--check-kvm", "-o", "hex", image.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }

  ProcessResult launch(std::vector<std::string> args) {
    args.insert(args.begin(), kBin + "/cvtpm-launch");
    return cvtpm::testing::run_process(args, dir_.path());
  }

  // A host that can launch SNP guests (per the checks), with a fake QEMU that records argv.
  std::vector<std::string> snp_host_args() {
    testing::FakeQemuSpec q;
    q.version = "11.0.0";
    q.device_plane = true;
    root_ = testing::make_fake_host(dir_, {});
    qemu_ = testing::make_fake_qemu(dir_, "qemu", q);
    return {"--root", root_.string(), "--qemu", qemu_.string()};
  }

  void expect_bad_input(const std::vector<std::string>& args, const std::string& message) {
    expect_one_line_error(launch(args), "cvtpm-launch", message);
    EXPECT_FALSE(fs::exists(qemu_.string() + ".argv")) << "QEMU was started";
  }

  TempDir dir_;
  fs::path ovmf_, image_, root_, qemu_;
};

TEST_F(LaunchCli, HelpAndVersion) {
  EXPECT_EQ(launch({"--version"}).out, "cvtpm-launch 0.1.0\n");
  ProcessResult help = launch({"run", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--dry-run"), std::string::npos);
  EXPECT_EQ(launch({}).exit_code, 2);  // a subcommand is required
}

TEST_F(LaunchCli, CheckPrintsEveryRequirementAndExits3WhenOneIsMissing) {
  auto host = snp_host_args();
  ProcessResult ok = launch({"check", host[0], host[1], host[2], host[3]});
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find("Nothing detectable is missing. 1 requirement cannot be detected from "
                        "here (UNKNOWN, with what it needs)"),
            std::string::npos)
      << ok.out;
  EXPECT_EQ(ok.out.find("MISSING"), std::string::npos) << ok.out;

  testing::FakeQemuSpec upstream;  // 10.1: SNP and IGVM, below COCONUT-SVSM's QEMU 11
  auto qemu101 = testing::make_fake_qemu(dir_, "qemu101", upstream);
  ProcessResult missing = launch({"check", "--root", root_.string(), "--qemu", qemu101.string()});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_NE(missing.out.find("QEMU >= 11.0.0 (" + qemu101.string() + ")"), std::string::npos)
      << missing.out;
  EXPECT_NE(missing.out.find("MISSING  version 10.1.0"), std::string::npos) << missing.out;
  EXPECT_NE(missing.out.find("fix: QEMU >= 11.0 with SVSM support"), std::string::npos);

  ProcessResult json =
      launch({"check", "--root", root_.string(), "--qemu", qemu101.string(), "--json"});
  auto j = nlohmann::json::parse(json.out);
  EXPECT_FALSE(j["nothing_missing"].get<bool>());
  EXPECT_EQ(j["missing"], 2);  // QEMU 11 and, so, its SVSM support
  EXPECT_EQ(j["unknown"], 1);  // the host kernel's
  EXPECT_EQ(j["requirements"].size(), 10u);
}

// What cannot be detected is UNKNOWN with what to install, never MISSING, and does not make
// check fail: a QEMU 11 without device-plane on an SNP host.
TEST_F(LaunchCli, CheckSaysUnknownForWhatItCannotDetectAndExits0) {
  root_ = testing::make_fake_host(dir_, {});
  testing::FakeQemuSpec q;
  q.version = "11.0.0";
  qemu_ = testing::make_fake_qemu(dir_, "qemu", q);
  ProcessResult r = launch({"check", "--root", root_.string(), "--qemu", qemu_.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.find("MISSING"), std::string::npos) << r.out;
  std::vector<std::string> unknown;  // the names of the UNKNOWN rows
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find("  UNKNOWN  ");
    if (at != std::string::npos)
      unknown.push_back(line.substr(0, line.find_last_not_of(' ', at) + 1));
  }
  EXPECT_EQ(unknown, (std::vector<std::string>{"QEMU with SVSM (multi-VMPL) support",
                                               "Host kernel with SVSM (multi-VMPL) support"}))
      << r.out;
  EXPECT_NE(r.out.find("needs: QEMU >= 11.0 with SVSM support: COCONUT-SVSM's qemu, branch "
                       "'svsm'"),
            std::string::npos);
  EXPECT_NE(r.out.find("needs: the host kernel of COCONUT-SVSM's linux, branch 'svsm'"),
            std::string::npos);
  EXPECT_NE(r.out.find("2 requirements cannot be detected from here"), std::string::npos);
}

TEST_F(LaunchCli, DryRunPrintsTheExpectedDigestAndTheExactCommand) {
  auto host = snp_host_args();
  std::vector<std::string> args = {"run",     "--igvm",    image_.string(), "--dry-run",
                                   "--vcpus", "2",         "--memory",      "4G",
                                   "--disk",  "root.qcow2"};
  args.insert(args.end(), host.begin(), host.end());
  ProcessResult r = launch(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string digest = measured_digest(image_);
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "# expected SNP launch digest: " + digest);
  const std::string command = r.out.substr(r.out.find('\n') + 1);
  EXPECT_NE(command.find("-machine q35,memory-backend=mem0,igvm-cfg=igvm0,accel=kvm,"
                         "confidential-guest-support=cgs0,kernel-irqchip=split,device-plane=2 "),
            std::string::npos)
      << command;  // device-plane from the image's guest VMPL (2)
  EXPECT_NE(command.find("-object memory-backend-memfd,size=4096M,id=mem0,share=true,"
                         "prealloc=false,reserve=false "),
            std::string::npos);
  EXPECT_NE(command.find("-object igvm-cfg,id=igvm0,file=" + image_.string()), std::string::npos);
  EXPECT_NE(command.find("-object sev-snp-guest,id=cgs0,cbitpos=51,reduced-phys-bits=1,"),
            std::string::npos);  // the C-bit from the host's CPUID (its EBX[11:6] is 5)
  EXPECT_NE(command.find("-smp 2 -no-reboot"), std::string::npos);
  EXPECT_EQ(command.find(" -m "), std::string::npos);  // the memory backend sizes the guest
  EXPECT_NE(command.find("-drive file=root.qcow2,if=none,id=disk0,format=qcow2"),
            std::string::npos);
  EXPECT_NE(command.find("-nographic -vga none -serial mon:stdio\n"), std::string::npos);
  EXPECT_FALSE(fs::exists(qemu_.string() + ".argv"));
  // Only the host kernel's support cannot be detected: a note, not a refusal.
  EXPECT_EQ(r.err,
            "cvtpm-launch: note: cannot be detected here: Host kernel with SVSM (multi-VMPL) "
            "support (needs: the host kernel of COCONUT-SVSM's linux, branch 'svsm' (its "
            "INSTALL.md))\n");

  args.push_back("--json");
  auto j = nlohmann::json::parse(launch(args).out);
  EXPECT_EQ(j["expected_launch_digest"], digest);
  EXPECT_EQ(j["igvm"]["sha256"], to_hex(sha256(load_file(image_))));
  EXPECT_EQ(j["command"].get<std::string>() + "\n", command);
  EXPECT_EQ(j["qemu_argv"][0], qemu_.string());
}

// The form launch_guest.sh uses for a QEMU without device-plane: the same line without it.
TEST_F(LaunchCli, DryRunForAQemuWithoutDevicePlaneLeavesItOut) {
  root_ = testing::make_fake_host(dir_, {});
  testing::FakeQemuSpec q;
  q.version = "11.0.0";
  qemu_ = testing::make_fake_qemu(dir_, "qemu", q);
  ProcessResult r = launch({"run", "--igvm", image_.string(), "--dry-run", "--root", root_.string(),
                            "--qemu", qemu_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(" -machine q35,memory-backend=mem0,igvm-cfg=igvm0,accel=kvm,"
                       "confidential-guest-support=cgs0 -object "),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("device-plane"), std::string::npos);
  EXPECT_NE(r.err.find("note: cannot be detected here: QEMU with SVSM (multi-VMPL) support"),
            std::string::npos)
      << r.err;
}

// No SEV in CPUID: no C-bit is made up, not even for a dry run; --cbitpos gives one.
TEST_F(LaunchCli, DryRunWithoutAReadableCbitFailsClearlyUnlessGivenOne) {
  testing::FakeHostSpec no_sev;
  no_sev.cpu_snp = false;
  root_ = testing::make_fake_host(dir_, no_sev);
  testing::FakeQemuSpec q;
  q.version = "11.0.0";
  q.device_plane = true;
  qemu_ = testing::make_fake_qemu(dir_, "qemu", q);
  std::vector<std::string> args = {"run",    "--igvm",       image_.string(), "--dry-run",
                                   "--root", root_.string(), "--qemu",        qemu_.string()};
  ProcessResult r = launch(args);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "cvtpm-launch: error: the host's C-bit position cannot be read: CPUID 0x8000001F "
            "reports no SEV (EAX bit 1 clear); for another host, pass --cbitpos with its value "
            "(`cvtpm-launch check` there prints it)\n");

  args.insert(args.end(), {"--cbitpos", "47"});
  ProcessResult given = launch(args);
  ASSERT_EQ(given.exit_code, 0) << given.err;
  EXPECT_NE(given.out.find("sev-snp-guest,id=cgs0,cbitpos=47,reduced-phys-bits=1,"),
            std::string::npos);
  EXPECT_NE(given.err.find("note: this host cannot run the command"), std::string::npos);
}

TEST_F(LaunchCli, ConfigFileWithFlagsWinning) {
  auto host = snp_host_args();
  dir_.write("launch.json", R"({"igvm": ")" + image_.string() +
                                R"(", "vcpus": 4, "memory": "8G", "network": false})");
  std::vector<std::string> args = {"run", "--config", "launch.json", "--vcpus", "3", "--dry-run"};
  args.insert(args.end(), host.begin(), host.end());
  ProcessResult r = launch(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("memory-backend-memfd,size=8192M,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-smp 3 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-nic none"), std::string::npos);
}

TEST_F(LaunchCli, RunRecordsTheDigestThenStartsQemuWithTheDryRunCommand) {
  auto host = snp_host_args();
  std::vector<std::string> args = {"run", "--igvm", image_.string(), "--out-dir", "runs"};
  args.insert(args.end(), host.begin(), host.end());
  fs::create_directory(dir_ / "runs");
  ProcessResult r = launch(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;  // the fake QEMU's status
  auto record = nlohmann::json::parse(read_text(dir_ / "runs" / "vtpm.launch.json"));
  EXPECT_EQ(record["expected_launch_digest"], measured_digest(image_));
  std::vector<std::string> started;
  std::istringstream argv_file(read_text(qemu_.string() + ".argv"));
  for (std::string line; std::getline(argv_file, line);) started.push_back(line);
  std::vector<std::string> expected = record["qemu_argv"];
  expected.erase(expected.begin());  // the script records its arguments, not its own name
  EXPECT_EQ(started, expected);
}

// `run --state`: COM3 on a socket next to the launch record, QEMU started as a child (the fake
// one records its argv and exits 0, as QEMU's status) and the state served while it runs. No SNP
// host here: nothing speaks the state link, so nothing is written.
TEST_F(LaunchCli, RunWithStatePassesCom3AndServesItWhileQemuRuns) {
  auto host = snp_host_args();
  const fs::path state = dir_ / "vtpm.state";
  std::vector<std::string> args = {"run",  "--igvm",  image_.string(), "--out-dir",
                                   "runs", "--state", state.string(),  "--dry-run"};
  args.insert(args.end(), host.begin(), host.end());
  fs::create_directory(dir_ / "runs");
  ProcessResult dry = launch(args);
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find(" -serial mon:stdio -serial null -serial "
                         "unix:runs/vtpm.state.sock,server=on,wait=off"),
            std::string::npos)
      << dry.out;
  args.erase(std::find(args.begin(), args.end(), "--dry-run"));
  ProcessResult r = launch(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("vTPM state: " + state.string() + ", served on COM3"), std::string::npos)
      << r.out;
  auto record = nlohmann::json::parse(read_text(dir_ / "runs" / "vtpm.launch.json"));
  EXPECT_EQ(record["state"]["file"], state.string());
  std::vector<std::string> started;
  std::istringstream argv_file(read_text(qemu_.string() + ".argv"));
  for (std::string line; std::getline(argv_file, line);) started.push_back(line);
  std::vector<std::string> expected = record["qemu_argv"];
  expected.erase(expected.begin());
  EXPECT_EQ(started, expected);
  EXPECT_FALSE(fs::exists(state)) << "nothing spoke the state link, so nothing was written";
  EXPECT_FALSE(fs::exists(dir_ / "runs" / "vtpm.state.sock"));
}

TEST_F(LaunchCli, RunStateBadInputStartsNothing) {
  auto host = snp_host_args();
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"run", "--igvm", image_.string()});
    args.insert(args.end(), host.begin(), host.end());
    return args;
  };
  expect_bad_input(with({"--state-reset"}), "--state-reset: needs --state");
  expect_bad_input(with({"--state", "/nonexistent/dir/vtpm.state"}),
                   "--state: /nonexistent/dir: no such directory");
  expect_bad_input(with({"--state", dir_.path().string()}),
                   "--state: " + dir_.path().string() + ": not a regular file");
  fs::create_directory(dir_ / "a,b");
  expect_bad_input(with({"--state", "s.state", "--out-dir", "a,b"}),
                   "--out-dir: a,b/vtpm.state.sock: QEMU's -serial unix: takes no comma");
  EXPECT_FALSE(fs::exists(dir_ / "s.state"));
}

// An image built with --state-binding identity gets its state key only from a launch whose ID
// block has SVN >= its minimum; `run --state` says so before starting anything.
TEST_F(LaunchCli, RunStateWithAnIdentityImageNeedsAnIdBlockWithTheMinimumSvn) {
  auto host = snp_host_args();
  ASSERT_EQ(cvtpm::testing::run_process({"openssl", "ecparam", "-name", "secp384r1", "-genkey",
                                         "-noout", "-out", (dir_ / "id.pem").string()})
                .exit_code,
            0);
  const fs::path identity =
      build_image("identity.igvm", {"--state-binding", "identity", "--state-min-svn", "3"});
  auto signed_with = [&](unsigned svn) {
    const fs::path out = dir_ / ("identity-svn" + std::to_string(svn) + ".igvm");
    ProcessResult r = cvtpm::testing::run_process(
        {kBin + "/cvtpm-measure", "igvm", "sign", identity.string(), "--id-key",
         (dir_ / "id.pem").string(), "--family-id", std::string(32, 'f'), "--image-id",
         std::string(32, '1'), "--svn", std::to_string(svn), "-o", out.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return out;
  };
  auto run = [&](const fs::path& image, std::vector<std::string> extra) {
    std::vector<std::string> args = {"run", "--igvm", image.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), host.begin(), host.end());
    return args;
  };
  expect_bad_input(run(identity, {"--state", "s.state"}),
                   "--state: " + identity.string() +
                       " binds its vTPM state to its ID block (identity, minimum SVN 3) but the "
                       "launch has none");
  const fs::path old = signed_with(2);
  expect_bad_input(run(old, {"--state", "s.state"}),
                   "--state: " + old.string() +
                       " binds its vTPM state to ID blocks with SVN >= 3, the launch's has 2");
  EXPECT_FALSE(fs::exists(dir_ / "s.state"));
  ProcessResult ok = launch(run(signed_with(3), {"--state", "s.state", "--dry-run"}));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  // Without --state the TPM is ephemeral: nothing to check.
  ProcessResult ephemeral = launch(run(identity, {"--dry-run"}));
  EXPECT_EQ(ephemeral.exit_code, 0) << ephemeral.err;
}

TEST_F(LaunchCli, RunRefusesAnUnsuitableHostWithExit3AndStartsNothing) {
  testing::FakeHostSpec no_sev;
  no_sev.dev_sev = false;
  root_ = testing::make_fake_host(dir_, no_sev);
  testing::FakeQemuSpec q;
  q.device_plane = true;
  qemu_ = testing::make_fake_qemu(dir_, "qemu", q);
  ProcessResult r = launch(
      {"run", "--igvm", image_.string(), "--root", root_.string(), "--qemu", qemu_.string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("/dev/sev: absent (fix: load the ccp module"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(qemu_.string() + ".argv"));
  EXPECT_FALSE(fs::exists(dir_ / "vtpm.launch.json"));
}

TEST_F(LaunchCli, BadInputStartsNothing) {
  auto host = snp_host_args();
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "run");
    args.insert(args.end(), host.begin(), host.end());
    return args;
  };
  expect_bad_input(with({"--igvm", "missing.igvm"}),
                   "missing.igvm: cannot open: No such file or directory");
  expect_bad_input(with({"--igvm", ovmf_.string()}), "OVMF.fd: ");  // not an IGVM file
  const fs::path native_only = build_image("native.igvm", {"--platform", "native"});
  expect_bad_input(with({"--igvm", native_only.string()}), "declares no SEV-SNP platform");
  dir_.write("bad.json", "{\"vcpus\": ");
  expect_bad_input(with({"--config", "bad.json"}), "bad.json: not valid JSON");
  dir_.write("unknown.json", "{\"cpus\": 2}");
  expect_bad_input(with({"--config", "unknown.json"}), "unknown.json: unknown config key 'cpus'");
  expect_bad_input(with({"--igvm", image_.string(), "--id-block", std::string(128, 'A')}),
                   "--id-auth: --id-block and --id-auth go together");
  expect_bad_input(with({"--igvm", image_.string(), "--vcpus", "0"}),
                   "--vcpus: 0 is not between 1 and 1024");
  expect_bad_input(with({}), "--igvm: required");
}

// `emulate --state`'s options are checked before anything starts (no QEMU: these never boot).
TEST_F(LaunchCli, EmulateStateBadInputStartsNothing) {
  auto emulate = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "emulate");
    return launch(args);
  };
  const std::string state = (dir_.path() / "vtpm.state").string();
  expect_one_line_error(emulate({"--state-reset"}), "cvtpm-launch", "--state-reset: needs --state");
  expect_one_line_error(emulate({"--dev-key", std::string(64, '1')}), "cvtpm-launch",
                        "--dev-key: needs --state");
  expect_one_line_error(emulate({"--state", state, "--dev-key", "12"}), "cvtpm-launch",
                        "--dev-key: must be 64 hex digits (32 bytes)");
  expect_one_line_error(emulate({"--state", state, "--dev-key", std::string(64, 'g')}),
                        "cvtpm-launch", "--dev-key: must be 64 hex digits (32 bytes)");
  expect_one_line_error(emulate({"--state", "/nonexistent/dir/vtpm.state"}), "cvtpm-launch",
                        "--state: /nonexistent/dir: no such directory");
  expect_one_line_error(emulate({"--state", dir_.path().string()}), "cvtpm-launch",
                        "--state: " + dir_.path().string() + ": not a regular file");
  EXPECT_FALSE(fs::exists(state));
}

// `emulate --guest`'s options are checked before anything starts (no QEMU: these never boot).
TEST_F(LaunchCli, EmulateGuestBadInputStartsNothing) {
  const std::string file = dir_.write("file.bin", std::vector<std::uint8_t>{1}).string();
  auto emulate = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "emulate");
    return launch(args);
  };
  expect_one_line_error(emulate({"--kernel", file}), "cvtpm-launch", "--kernel: needs --guest");
  expect_one_line_error(emulate({"--disk", file}), "cvtpm-launch", "--disk: needs --guest");
  expect_one_line_error(emulate({"--guest", "--kernel", "/nonexistent/vmlinuz"}), "cvtpm-launch",
                        "--kernel: /nonexistent/vmlinuz: not a readable file");
  expect_one_line_error(emulate({"--guest", "--initrd", file}), "cvtpm-launch",
                        "--initrd: needs --kernel");
  expect_one_line_error(emulate({"--guest", "--append", "quiet"}), "cvtpm-launch",
                        "--append: needs --kernel");
  expect_one_line_error(emulate({"--guest", "--ovmf-vars", file}), "cvtpm-launch",
                        "--ovmf-vars: needs --ovmf");
  expect_one_line_error(emulate({"--guest", "--ovmf", "/nonexistent/OVMF.fd"}), "cvtpm-launch",
                        "--ovmf: /nonexistent/OVMF.fd: not a readable file");
  expect_one_line_error(emulate({"--guest", "--disk", file + ".vmdk"}), "cvtpm-launch",
                        "--disk: " + file + ".vmdk: not a readable file");
  expect_one_line_error(emulate({"--guest", "--smoke"}), "cvtpm-launch",
                        "--smoke: not with --guest");
  expect_one_line_error(emulate({"--guest", "--guest-memory", "64M"}), "cvtpm-launch",
                        "--guest-memory: '64M' is below the 256 MiB a guest needs");
}

TEST_F(LaunchCli, IdBlockMustVouchForTheImage) {
  auto host = snp_host_args();
  for (const char* key : {"id.pem"}) {
    ASSERT_EQ(cvtpm::testing::run_process({"openssl", "ecparam", "-name", "secp384r1", "-genkey",
                                           "-noout", "-out", (dir_ / key).string()})
                  .exit_code,
              0);
  }
  auto id_block_for = [&](const std::string& digest) {
    ProcessResult r = cvtpm::testing::run_process(
        {kBin + "/cvtpm-measure", "id-block", "--measurement", digest, "--id-key",
         (dir_ / "id.pem").string(), "--output-format", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out);
  };
  auto good = id_block_for(measured_digest(image_));
  std::vector<std::string> args = {"run",       "--igvm",       image_.string(),
                                   "--dry-run", "--id-block",   good["id_block"],
                                   "--id-auth", good["id_auth"]};
  args.insert(args.end(), host.begin(), host.end());
  ProcessResult r = launch(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(",id-block=" + good["id_block"].get<std::string>() + ",id-auth="),
            std::string::npos);

  auto other = id_block_for(std::string(96, 'e'));
  args[5] = other["id_block"];
  args[7] = other["id_auth"];
  expect_bad_input(args, "--id-block: vouches for launch digest " + std::string(96, 'e'));
}

}  // namespace
}  // namespace cvtpm::launch
