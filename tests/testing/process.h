// Runs a real binary the way a user would, capturing its outputs and exit status.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace cvtpm::testing {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal number if killed by a signal
  std::string out;
  std::string err;
  bool timed_out = false;
};

// argv[0] is the program path. Runs in `cwd` (current directory if empty) and kills the process
// if it outlives `timeout`.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::filesystem::path& cwd = {},
                          std::chrono::seconds timeout = std::chrono::seconds(60));

}  // namespace cvtpm::testing
