// What `cvtpm-launch emulate` leaves behind: the processes whose command line mentions a test's
// private log directory (QEMUs and the bridge all do), and the logs in it.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace cvtpm::launch::testing {

// The launcher under test, next to the firmware and the bridge it starts.
inline const std::string kLaunch = std::string(CVTPM_BIN_DIR) + "/cvtpm-launch";

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Live (not zombie) processes whose command line contains `needle`.
inline std::vector<pid_t> processes_mentioning(const std::string& needle) {
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_text(entry.path() / "cmdline");
    for (char& c : cmdline) c = c == '\0' ? ' ' : c;
    const std::string state = read_text(entry.path() / "stat");
    const bool zombie = state.find(") Z ") != std::string::npos;
    if (!zombie && cmdline.find(needle) != std::string::npos) pids.push_back(std::stoi(name));
  }
  return pids;
}

}  // namespace cvtpm::launch::testing
