// Where the host tools find the files cvtpm ships beside them (the firmware cvtpm-fw.elf, its
// stripped copy and build manifest): one search order for every tool, in the build tree and in
// an installed tree alike (docs/install.md, "Where the tools find their files").
//
//   1. --data-dir DIR       the tool's flag: only DIR is searched
//   2. CVTPM_DATA_DIR=DIR   the environment (set and not empty): only DIR is searched
//   3. the tool's own directory, when the file is there: the build tree (build/bin holds the
//      tools and the firmware side by side)
//   4. <tool's directory>/../lib/cvtpm: an installed tree (cmake --install, the .deb), whatever
//      its prefix (/usr, /usr/local, a scratch root)
//
// An override (1 or 2) that lacks the file is an error, never a reason to look elsewhere: a
// mistyped directory must not quietly run another firmware.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace cvtpm {

// The environment variable of step 2.
inline constexpr const char* kDataDirEnv = "CVTPM_DATA_DIR";

// The inputs of the search, explicit so tests can give every step its own directories.
struct DataSearch {
  std::optional<std::filesystem::path> flag_dir;  // --data-dir
  std::optional<std::filesystem::path> env_dir;   // CVTPM_DATA_DIR
  std::filesystem::path tool_dir;                 // the running tool's directory
};

// The search of the running process: `flag_dir` as given, CVTPM_DATA_DIR from the environment
// (ignored when empty), the directory of /proc/self/exe.
DataSearch process_data_search(const std::optional<std::string>& flag_dir);

// The directory of the running executable (symlinks resolved), "." if it cannot be read.
std::filesystem::path running_tool_dir();

// The installed data directory for a tool in `tool_dir` (step 4).
std::filesystem::path installed_data_dir(const std::filesystem::path& tool_dir);

// The path of `file` by the search order. Throws InputError naming the override that lacks it
// (--data-dir or CVTPM_DATA_DIR), or naming the file and every directory searched.
std::filesystem::path find_data_file(std::string_view file, const DataSearch& search);

// The search order as a paragraph for the tools' --help.
std::string data_search_help();

}  // namespace cvtpm
