// `cvtpm-launch emulate` end to end: the real firmware under QEMU TCG, the real bridge, tpm2-tools.
// Registered only in builds that produce the firmware (not the sanitizer preset).
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "cvtpm/support/process.h"
#include "emulated_processes.h"
#include "temp_dir.h"

namespace cvtpm::launch {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::processes_mentioning;
using testing::read_text;

const std::string kLaunch = std::string(CVTPM_BIN_DIR) + "/cvtpm-launch";

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

}  // namespace
}  // namespace cvtpm::launch
