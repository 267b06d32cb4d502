// The data-file search order (cvtpm/support/data_files.h), one test per step and per way a step
// can fail, on directories made for each test. tests/install runs the real tools through it.
#include "cvtpm/support/data_files.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "cvtpm/support/error.h"
#include "temp_dir.h"

namespace cvtpm {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

constexpr const char* kFile = "cvtpm-fw.elf";

// A tree with a tool directory (prefix/bin), its installed data directory (prefix/lib/cvtpm)
// and two override directories; each may hold its own copy of the file, told apart by content.
class DataFilesTest : public ::testing::Test {
 protected:
  DataFilesTest() {
    for (const fs::path& d : {bin(), lib(), flag_dir(), env_dir()}) fs::create_directories(d);
  }
  fs::path bin() const { return dir_ / "prefix/bin"; }
  fs::path lib() const { return dir_ / "prefix/lib/cvtpm"; }
  fs::path flag_dir() const { return dir_ / "flag"; }
  fs::path env_dir() const { return dir_ / "env"; }
  static void put(const fs::path& d) { std::ofstream(d / kFile) << "x"; }

  DataSearch search() const { return {std::nullopt, std::nullopt, bin()}; }

  TempDir dir_;
};

std::string error_of(const DataSearch& s) {
  try {
    find_data_file(kFile, s);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST_F(DataFilesTest, InstalledDirectoryIsLibCvtpmBesideBin) {
  EXPECT_EQ(installed_data_dir("/usr/bin"), fs::path("/usr/lib/cvtpm"));
  EXPECT_EQ(installed_data_dir("/opt/x/bin/"), fs::path("/opt/x/lib/cvtpm"));
  EXPECT_EQ(installed_data_dir(bin()), lib());
}

TEST_F(DataFilesTest, Step4InstalledTree) {
  put(lib());
  EXPECT_EQ(find_data_file(kFile, search()), lib() / kFile);
}

TEST_F(DataFilesTest, Step3TheToolsOwnDirectoryComesBeforeTheInstalledTree) {
  put(lib());
  put(bin());
  EXPECT_EQ(find_data_file(kFile, search()), bin() / kFile);
}

TEST_F(DataFilesTest, Step3ADirectoryOfThatNameIsNotTheFile) {
  fs::create_directories(bin() / kFile);
  put(lib());
  EXPECT_EQ(find_data_file(kFile, search()), lib() / kFile);
}

TEST_F(DataFilesTest, Step2EnvironmentComesBeforeTheToolsDirectories) {
  put(bin());
  put(lib());
  put(env_dir());
  DataSearch s = search();
  s.env_dir = env_dir();
  EXPECT_EQ(find_data_file(kFile, s), env_dir() / kFile);
}

TEST_F(DataFilesTest, Step2EnvironmentWithoutTheFileIsAnErrorNotAFallBack) {
  put(bin());
  DataSearch s = search();
  s.env_dir = env_dir();
  EXPECT_EQ(error_of(s), "CVTPM_DATA_DIR: " + env_dir().string() + " has no cvtpm-fw.elf");
  s.env_dir = dir_ / "missing";
  EXPECT_EQ(error_of(s), "CVTPM_DATA_DIR: " + (dir_ / "missing").string() + ": not a directory");
}

TEST_F(DataFilesTest, Step1FlagComesBeforeEverything) {
  put(bin());
  put(lib());
  put(env_dir());
  put(flag_dir());
  DataSearch s = search();
  s.env_dir = env_dir();
  s.flag_dir = flag_dir();
  EXPECT_EQ(find_data_file(kFile, s), flag_dir() / kFile);
}

TEST_F(DataFilesTest, Step1FlagWithoutTheFileIsAnErrorNotAFallBack) {
  put(env_dir());
  put(bin());
  DataSearch s = search();
  s.env_dir = env_dir();
  s.flag_dir = flag_dir();
  EXPECT_EQ(error_of(s), "--data-dir: " + flag_dir().string() + " has no cvtpm-fw.elf");
}

TEST_F(DataFilesTest, NothingFoundNamesTheFileAndWhereItLooked) {
  EXPECT_EQ(error_of(search()), "cvtpm-fw.elf: not found next to the tool (" + bin().string() +
                                    ") nor in its installed data directory (" + lib().string() +
                                    "); give --data-dir DIR or CVTPM_DATA_DIR=DIR");
}

TEST_F(DataFilesTest, ProcessSearchReadsTheEnvironmentAndTheExecutable) {
  ::setenv(kDataDirEnv, env_dir().c_str(), 1);
  DataSearch s = process_data_search(std::string("given"));
  EXPECT_EQ(s.flag_dir, fs::path("given"));
  EXPECT_EQ(s.env_dir, env_dir());
  EXPECT_EQ(s.tool_dir, fs::read_symlink("/proc/self/exe").parent_path());
  // An empty variable is no override (as if unset).
  ::setenv(kDataDirEnv, "", 1);
  EXPECT_FALSE(process_data_search(std::nullopt).env_dir.has_value());
  ::unsetenv(kDataDirEnv);
  EXPECT_FALSE(process_data_search(std::nullopt).env_dir.has_value());
}

TEST_F(DataFilesTest, HelpTellsTheOrder) {
  const std::string help = data_search_help();
  const auto flag = help.find("--data-dir");
  const auto env = help.find("CVTPM_DATA_DIR");
  const auto own = help.find("own directory");
  const auto installed = help.find("../lib/cvtpm");
  ASSERT_NE(installed, std::string::npos) << help;
  EXPECT_LT(flag, env);
  EXPECT_LT(env, own);
  EXPECT_LT(own, installed);
}

}  // namespace
}  // namespace cvtpm
