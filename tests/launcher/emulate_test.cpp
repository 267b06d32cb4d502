// `cvtpm-launch emulate` end to end: the real firmware under QEMU TCG, the real bridge, tpm2-tools.
// Registered only in builds that produce the firmware (not the sanitizer preset).
//
// With --guest, the firmware is the TPM of a second VM, through cvtpm-tpm-bridge and QEMU's
// tpm-emulator backend. OVMF (Debian 12's) measures its boot into it, the same at every boot;
// Debian 12's cloud kernel with the busybox initramfs of scripts/guest-assets.sh reads the PCRs
// and the event log from it, and tpm2_eventlog replays that log on the host to the PCRs the
// guest read. Neither QEMU outlives the other, nor the launcher. The kernel comes from the
// Debian archive through scripts/install-deps.sh; without it the Linux test fails, naming what
// is missing.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "cvtpm/support/process.h"
#include "emulated_processes.h"
#include "ports.h"
#include "temp_dir.h"

namespace cvtpm::launch {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::kLaunch;
using testing::processes_mentioning;
using testing::read_text;

TEST(Emulate, SmokeTestPassesAgainstTheFirmware) {
  cvtpm::testing::TempDir dir;
  ProcessResult r =
      run_process({kLaunch, "emulate", "--smoke", "--log-dir", (dir / "logs").string()}, {}, 300s);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << read_text(dir / "logs/console.log");
  EXPECT_NE(r.out.find("connect with:  tpm2_getrandom -T swtpm:host=127.0.0.1,port="),
            std::string::npos);
  EXPECT_NE(r.out.find("smoke: TPM2_PCR_Read(16) ... ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("smoke test passed"), std::string::npos);
  EXPECT_TRUE(processes_mentioning((dir / "logs").string()).empty())
      << "QEMU or the bridge outlived the launcher";
}

TEST(Emulate, NoQemuSurvivesTheLauncherWhateverStopsIt) {
  for (int sig : {SIGINT, SIGKILL}) {
    cvtpm::testing::TempDir dir;
    const fs::path logs = dir / "logs";
    ChildProcess launcher({kLaunch, "emulate", "--log-dir", logs.string()},
                          {{}, dir / "out.log", dir / "err.log"});
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    while (read_text(dir / "out.log").find("vTPM ready") == std::string::npos) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << read_text(dir / "err.log");
      ASSERT_EQ(launcher.poll(), -1) << read_text(dir / "err.log");
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_FALSE(processes_mentioning(logs.string()).size() < 2)
        << "QEMU and the bridge should be running";
    ::kill(launcher.pid(), sig);
    const int status = launcher.wait();
    if (sig == SIGINT) {
      EXPECT_EQ(status, 0);
      EXPECT_NE(read_text(dir / "out.log").find("emulation stopped; QEMU is gone"),
                std::string::npos);
    }
    const auto gone_by = std::chrono::steady_clock::now() + 10s;
    while (!processes_mentioning(logs.string()).empty() &&
           std::chrono::steady_clock::now() < gone_by) {
      std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(processes_mentioning(logs.string()).empty()) << "after signal " << sig;
  }
}

TEST(Emulate, MissingFirmwareIsABadInput) {
  ProcessResult r = run_process({kLaunch, "emulate", "--firmware", "/nonexistent/fw.elf"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "cvtpm-launch: error: /nonexistent/fw.elf: firmware not found (build it: cmake --build "
            "--preset default --target cvtpm-fw)\n");
  EXPECT_EQ(r.out, "");
}

const fs::path kAssets = fs::path(CVTPM_SOURCE_DIR) / "scripts/guest-assets.sh";
// A TCG boot of OVMF and Linux takes 10-15 s on an idle 2-core machine; the bound covers a
// loaded CI machine, and every boot here is bounded by it.
constexpr auto kBootBound = 240s;

// SHA-256 PCRs as "0x..." in lower case, by index.
using Pcrs = std::map<int, std::string>;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The guest's "cvtpm-guest: pcr-sha256 N HEX" lines.
Pcrs guest_pcrs(const std::string& console) {
  Pcrs pcrs;
  static const std::regex line("cvtpm-guest: pcr-sha256 ([0-9]+) ([0-9A-Fa-f]{64})");
  for (std::sregex_iterator it(console.begin(), console.end(), line), end; it != end; ++it) {
    pcrs[std::stoi((*it)[1])] = "0x" + lower((*it)[2]);
  }
  return pcrs;
}

// The base64 event log between the guest's markers, decoded with base64(1).
std::string event_log(const std::string& console, const fs::path& dir) {
  const std::string begin = "cvtpm-guest: eventlog-begin";
  const auto from = console.find(begin);
  const auto to = console.find("cvtpm-guest: eventlog-end");
  if (from == std::string::npos || to == std::string::npos || to < from) return "";
  std::string text = console.substr(from + begin.size(), to - from - begin.size());
  std::erase(text, '\r');
  std::ofstream(dir / "eventlog.b64") << text;
  const ProcessResult r =
      run_process({"sh", "-c", "base64 -d eventlog.b64 > eventlog.bin"}, dir, 30s);
  return r.exit_code == 0 ? (dir / "eventlog.bin").string() : "";
}

// tpm2_eventlog's replay: the sha256 bank of its "pcrs:" section.
Pcrs replayed_pcrs(const std::string& yaml) {
  Pcrs pcrs;
  const auto pcrs_at = yaml.find("\npcrs:");
  const auto bank = yaml.find("\n  sha256:", pcrs_at == std::string::npos ? 0 : pcrs_at);
  if (pcrs_at == std::string::npos || bank == std::string::npos) return pcrs;
  std::istringstream lines(yaml.substr(bank + 11));
  static const std::regex entry(R"(^\s{4}(\d+)\s*:\s*(0x[0-9a-fA-F]{64})\s*$)");
  for (std::string l; std::getline(lines, l);) {
    std::smatch m;
    if (!std::regex_match(l, m, entry)) break;  // the next bank
    pcrs[std::stoi(m[1])] = lower(m[2]);
  }
  return pcrs;
}

std::string asset(const std::string& what) {
  const ProcessResult r = run_process({kAssets.string(), "path", what}, {}, 30s);
  return r.exit_code == 0 ? r.out.substr(0, r.out.find('\n')) : "";
}

TEST(GuestVm, LinuxReadsTheFirmwareTpmAndItsEventLogReplaysToThesePcrs) {
  const std::string kernel = asset("kernel");
  ASSERT_FALSE(kernel.empty())
      << run_process({kAssets.string(), "path", "kernel"}).err
      << "the Linux guest test needs Debian 12's cloud kernel in the cache";
  cvtpm::testing::TempDir dir;
  const fs::path initrd = dir / "initramfs.cpio.gz";
  const ProcessResult built = run_process({kAssets.string(), "initramfs", initrd.string()});
  ASSERT_EQ(built.exit_code, 0) << built.err;

  const auto start = std::chrono::steady_clock::now();
  const ProcessResult r = run_process(
      {kLaunch, "emulate", "--guest", "--kernel", kernel, "--initrd", initrd.string(), "--append",
       "console=ttyS0 loglevel=4 panic=-1", "--log-dir", (dir / "logs").string()},
      {}, kBootBound);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("boot_seconds", std::to_string(seconds));
  ASSERT_FALSE(r.timed_out) << "no power-off within the bound\n" << r.out.substr(0, 4000);
  ASSERT_EQ(r.exit_code, 0) << r.err << read_text(dir / "logs/guest-qemu.log");

  // The guest found a TPM 2 and read its PCRs: OVMF measured into it (PCR 0 not zero).
  const Pcrs read = guest_pcrs(r.out);
  ASSERT_EQ(read.size(), 24u) << r.out.substr(0, 4000);
  EXPECT_NE(read.at(0), "0x" + std::string(64, '0'));
  EXPECT_NE(r.out.find("cvtpm-guest: done"), std::string::npos);

  // That TPM was the firmware's: QEMU's INIT reached it, and every command went through the
  // bridge (hundreds of them: OVMF's measurements, Linux's driver, the PCR reads).
  EXPECT_NE(read_text(dir / "logs/console.log").find("CMD_INIT: TPM reset"), std::string::npos);
  EXPECT_NE(read_text(dir / "logs/bridge.log").find("QEMU data channel"), std::string::npos);

  // The event log the guest read replays, on the host, to the PCRs it read: 0 to 7.
  const std::string log = event_log(r.out, dir.path());
  ASSERT_FALSE(log.empty()) << "no event log on the console";
  const ProcessResult replay = run_process({"tpm2_eventlog", log}, {}, 60s);
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  const Pcrs replayed = replayed_pcrs(replay.out);
  for (int i = 0; i <= 7; ++i) {
    ASSERT_TRUE(replayed.count(i)) << "tpm2_eventlog replays no PCR " << i << "\n" << replay.out;
    EXPECT_EQ(replayed.at(i), read.at(i)) << "PCR " << i;
  }
  // Both QEMUs and the bridge are gone.
  EXPECT_TRUE(processes_mentioning((dir / "logs").string()).empty());
}

// OVMF alone (no kernel, no disk) ends in its UEFI shell; PCR 0 is read from the host through
// the bridge's tpm2-tools port while the guest runs.
std::string pcr0_after_ovmf(const fs::path& dir) {
  const fs::path logs = dir / "logs";
  const std::string port = std::to_string(fw::testing::free_port_pair());
  ChildProcess launcher({kLaunch, "emulate", "--guest", "--port", port, "--log-dir", logs.string()},
                        {{}, dir / "out.log", dir / "err.log"});
  const auto deadline = std::chrono::steady_clock::now() + kBootBound;
  while (read_text(dir / "out.log").find("UEFI Interactive Shell") == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline || launcher.poll() >= 0) {
      ADD_FAILURE() << "OVMF did not reach its shell\n" << read_text(dir / "err.log");
      return "";
    }
    std::this_thread::sleep_for(100ms);
  }
  const ProcessResult pcr =
      run_process({"tpm2_pcrread", "-T", "swtpm:host=127.0.0.1,port=" + port, "sha256:0"}, {}, 60s);
  ::kill(launcher.pid(), SIGINT);
  EXPECT_EQ(launcher.wait(), 0) << read_text(dir / "err.log");
  EXPECT_TRUE(processes_mentioning(logs.string()).empty());
  EXPECT_EQ(pcr.exit_code, 0) << pcr.err;
  static const std::regex value(R"(0 : (0x[0-9A-Fa-f]{64}))");
  std::smatch m;
  return std::regex_search(pcr.out, m, value) ? lower(m[1]) : "";
}

TEST(GuestVm, OvmfMeasuresIntoTheFirmwareTpmTheSameAtEveryBoot) {
  cvtpm::testing::TempDir first, second;
  const std::string a = pcr0_after_ovmf(first.path());
  const std::string b = pcr0_after_ovmf(second.path());
  ASSERT_FALSE(a.empty());
  EXPECT_NE(a, "0x" + std::string(64, '0'));
  EXPECT_EQ(a, b);
}

// Whichever of the two QEMUs ends, or the launcher is killed: nothing is left running.
TEST(GuestVm, EitherQemuEndingEndsTheOther) {
  struct Case {
    const char* what;
    const char*
        victim;  // in the log directory, on the victim's command line; nullptr: the launcher
    int signal;
    int expected_status;
  };
  const Case cases[] = {
      {"the guest's QEMU killed", "OVMF_VARS.fd", SIGKILL, 1},
      {"the firmware's QEMU killed", "vtpm-link.sock,server=on", SIGKILL, 1},
      {"the launcher killed", nullptr, SIGKILL, 128 + SIGKILL},
  };
  for (const Case& c : cases) {
    cvtpm::testing::TempDir dir;
    const fs::path logs = dir / "logs";
    ChildProcess launcher({kLaunch, "emulate", "--guest", "--log-dir", logs.string()},
                          {{}, dir / "out.log", dir / "err.log"});
    const auto deadline = std::chrono::steady_clock::now() + kBootBound;
    while (read_text(dir / "out.log").find("starting the guest VM") == std::string::npos) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << c.what;
      ASSERT_EQ(launcher.poll(), -1) << c.what << read_text(dir / "err.log");
      std::this_thread::sleep_for(50ms);
    }
    std::this_thread::sleep_for(300ms);  // the guest QEMU is up
    // The launcher, both QEMUs and the bridge.
    ASSERT_EQ(processes_mentioning(logs.string()).size(), 4u) << c.what;
    if (c.victim == nullptr) {
      ::kill(launcher.pid(), c.signal);
    } else {
      const std::vector<pid_t> victims = processes_mentioning((logs / c.victim).string());
      ASSERT_EQ(victims.size(), 1u) << c.what;
      ::kill(victims[0], c.signal);
    }
    EXPECT_EQ(launcher.wait(), c.expected_status) << c.what << read_text(dir / "err.log");
    const auto gone_by = std::chrono::steady_clock::now() + 10s;
    while (!processes_mentioning(logs.string()).empty() &&
           std::chrono::steady_clock::now() < gone_by) {
      std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(processes_mentioning(logs.string()).empty()) << c.what;
  }
}

}  // namespace
}  // namespace cvtpm::launch
