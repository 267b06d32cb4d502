#include "cvtpm/support/data_files.h"

#include <cstdlib>
#include <system_error>

#include "cvtpm/support/error.h"

// The installed data directory relative to the installed tools' directory ("../lib/cvtpm"),
// computed by CMake from the install rules (CMakeLists.txt: CVTPM_INSTALL_DATADIR) so the two
// cannot disagree.
#ifndef CVTPM_DATA_DIR_FROM_BIN
#error "CVTPM_DATA_DIR_FROM_BIN must be defined by the build (support/CMakeLists.txt)"
#endif

namespace cvtpm {
namespace fs = std::filesystem;

fs::path running_tool_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path(".") : exe.parent_path();
}

DataSearch process_data_search(const std::optional<std::string>& flag_dir) {
  DataSearch s;
  if (flag_dir) s.flag_dir = *flag_dir;
  const char* env = std::getenv(kDataDirEnv);
  if (env != nullptr && *env != '\0') s.env_dir = env;
  s.tool_dir = running_tool_dir();
  return s;
}

fs::path installed_data_dir(const fs::path& tool_dir) {
  return (tool_dir / CVTPM_DATA_DIR_FROM_BIN).lexically_normal();
}

namespace {

bool has_file(const fs::path& dir, std::string_view file) {
  std::error_code ec;
  return fs::is_regular_file(dir / file, ec);
}

// An override names one directory; it must hold the file.
fs::path from_override(const fs::path& dir, std::string_view file, const std::string& subject) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(subject, dir.string() + ": not a directory");
  if (!has_file(dir, file)) {
    throw InputError(subject, dir.string() + " has no " + std::string(file));
  }
  return dir / file;
}

}  // namespace

fs::path find_data_file(std::string_view file, const DataSearch& search) {
  if (search.flag_dir) return from_override(*search.flag_dir, file, "--data-dir");
  if (search.env_dir) return from_override(*search.env_dir, file, kDataDirEnv);
  if (has_file(search.tool_dir, file)) return search.tool_dir / file;
  const fs::path installed = installed_data_dir(search.tool_dir);
  if (has_file(installed, file)) return installed / file;
  throw InputError(std::string(file), "not found next to the tool (" + search.tool_dir.string() +
                                          ") nor in its installed data directory (" +
                                          installed.string() + "); give --data-dir DIR or " +
                                          kDataDirEnv + "=DIR");
}

std::string data_search_help() {
  return std::string(
             "Data files (the firmware cvtpm-fw.elf) are searched in this order: --data-dir "
             "DIR; else the environment variable ") +
         kDataDirEnv +
         "; else this tool's own directory (the build tree's bin/); else "
         "<this tool's directory>/" CVTPM_DATA_DIR_FROM_BIN
         " (an installed tree). A directory given by --data-dir or " +
         kDataDirEnv + " must hold the file: nothing else is searched then.";
}

}  // namespace cvtpm
