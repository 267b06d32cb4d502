#include "cvtpm/support/process.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "temp_dir.h"

namespace cvtpm {
namespace {

TEST(RunProcess, CapturesOutputsAndExitStatus) {
  ProcessResult r = run_process({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.timed_out);
}

TEST(RunProcess, MissingProgramAndTimeout) {
  EXPECT_EQ(run_process({"/nonexistent/program"}).exit_code, 127);
  auto start = std::chrono::steady_clock::now();
  ProcessResult r = run_process({"sleep", "10"}, {}, std::chrono::milliseconds(200));
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 128 + SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(RunProcess, RunsInTheGivenDirectory) {
  testing::TempDir dir;
  EXPECT_EQ(run_process({"pwd"}, dir.path()).out, dir.path().string() + "\n");
}

TEST(ChildProcess, StopsWithTheSignalAndLogsOutput) {
  testing::TempDir dir;
  ChildProcess child({"sh", "-c", "echo started; exec sleep 30"}, {{}, dir / "out.log", {}});
  for (int i = 0; i < 200 && std::filesystem::file_size(dir / "out.log") == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(child.poll(), -1);
  EXPECT_EQ(child.stop(SIGTERM, std::chrono::seconds(5)), 128 + SIGTERM);
  std::ifstream log(dir / "out.log");
  std::string line;
  std::getline(log, line);
  EXPECT_EQ(line, "started");
}

TEST(ChildProcess, DestructorLeavesNoProcessBehind) {
  pid_t pid = 0;
  {
    ChildProcess child({"sleep", "30"}, {});
    pid = child.pid();
    EXPECT_EQ(::kill(pid, 0), 0);
  }
  EXPECT_NE(::kill(pid, 0), 0);  // reaped: the pid no longer exists
}

}  // namespace
}  // namespace cvtpm
