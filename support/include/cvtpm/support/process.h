// Running other programs: one-shot runs with captured output and a deadline, and long-running
// children (QEMU) that never outlive the tool that started them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace cvtpm {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal number if killed by a signal; 127 if it could not start
  std::string out;
  std::string err;
  bool timed_out = false;
};

// argv[0] is the program (a path, or a name looked up in PATH). Runs in `cwd` (current
// directory if empty) with stdin from /dev/null; kills the process if it outlives `timeout`.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::filesystem::path& cwd = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A child process that is killed when this object is destroyed and, through PR_SET_PDEATHSIG,
// when this process dies for any reason.
class ChildProcess {
 public:
  struct Options {
    std::filesystem::path cwd;
    std::filesystem::path stdout_file;  // empty: inherit
    std::filesystem::path stderr_file;  // empty: inherit
  };
  // Throws std::runtime_error if the program cannot be started.
  ChildProcess(const std::vector<std::string>& argv, const Options& options);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Non-blocking: the exit status if the child has exited, else -1.
  int poll();
  // Sends `signal`, waits up to `grace`, then SIGKILL; returns the exit status.
  int stop(int signal, std::chrono::milliseconds grace);
  int wait();

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

}  // namespace cvtpm
