// What `cmake --install` and the .deb give users, tested on the real tools: the data-file search
// order from an installed layout (copies of the built tools in PREFIX/bin, the firmware in
// PREFIX/lib/cvtpm), the manual pages generated from --help, and bash completion.
// scripts/package-test.sh checks the .deb itself, installed into a scratch root.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cvtpm/support/files.h"
#include "process.h"
#include "synthetic_ovmf.h"
#include "temp_dir.h"
#include "tool_errors.h"

namespace cvtpm {
namespace {

namespace fs = std::filesystem;
using testing::expect_one_line_error;
using testing::ProcessResult;
using testing::run_process;
using testing::TempDir;

const fs::path kBin = CVTPM_BIN_DIR;
const fs::path kSource = CVTPM_SOURCE_DIR;

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> items;
  std::stringstream ss(list);
  for (std::string item; std::getline(ss, item, ',');) items.push_back(item);
  return items;
}

std::string file_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// ---------------------------------------------------------------------------------------------
// The search order from an installed layout.

#ifdef CVTPM_REAL_FIRMWARE
// Two firmwares that give different images: the tests' tiny one (T) and the real one (R), so
// an image shows which one a tool picked.
const fs::path kTestFirmware = CVTPM_TEST_FIRMWARE;
const fs::path kRealFirmware = CVTPM_REAL_FIRMWARE;

class InstalledLayout : public ::testing::Test {
 protected:
  InstalledLayout() {
    fs::create_directories(prefix() / "bin");
    fs::create_directories(prefix() / "lib/cvtpm");
    for (const char* tool : {"cvtpm-igvmgen", "cvtpm-launch"}) {
      fs::copy_file(kBin / tool, prefix() / "bin" / tool);
    }
    ovmf_ = dir_.write("ovmf.fd", testing::SyntheticOvmf{}.build());
  }
  fs::path prefix() const { return dir_ / "prefix"; }
  static void place(const fs::path& firmware, const fs::path& dir) {
    fs::create_directories(dir);
    fs::copy_file(firmware, dir / "cvtpm-fw.elf", fs::copy_options::overwrite_existing);
  }

  // Runs a tool with CVTPM_DATA_DIR set to `env_dir`, or removed when empty.
  ProcessResult run(const fs::path& tool, std::vector<std::string> args,
                    const std::string& env_dir = "") const {
    std::vector<std::string> argv = {"env", "-u", "CVTPM_DATA_DIR"};
    if (!env_dir.empty()) argv.push_back("CVTPM_DATA_DIR=" + env_dir);
    argv.push_back(tool.string());
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, dir_.path());
  }

  // The image the installed cvtpm-igvmgen builds without --firmware.
  std::string build(const std::string& env_dir = "", std::vector<std::string> extra = {},
                    const fs::path& tool = {}) const {
    std::vector<std::string> args = {"build", "--ovmf", ovmf_.string(), "-o", "out.igvm"};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessResult r = run(tool.empty() ? prefix() / "bin/cvtpm-igvmgen" : tool, args, env_dir);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string image = file_text(dir_ / "out.igvm");
    fs::remove(dir_ / "out.igvm");
    return image;
  }

  // The image of an explicitly named firmware, by the build tree's tool.
  std::string image_of(const fs::path& firmware) const {
    ProcessResult r = run(kBin / "cvtpm-igvmgen", {"build", "--firmware", firmware.string(),
                                                   "--ovmf", ovmf_.string(), "-o", "ref.igvm"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return file_text(dir_ / "ref.igvm");
  }

  TempDir dir_;
  fs::path ovmf_;
};

TEST_F(InstalledLayout, TheTwoFirmwaresGiveDifferentImages) {
  EXPECT_NE(image_of(kTestFirmware), image_of(kRealFirmware));
}

TEST_F(InstalledLayout, IgvmgenFindsTheFirmwareInLibCvtpm) {
  place(kTestFirmware, prefix() / "lib/cvtpm");
  EXPECT_EQ(build(), image_of(kTestFirmware));
}

TEST_F(InstalledLayout, TheToolsOwnDirectoryComesFirst) {
  place(kRealFirmware, prefix() / "lib/cvtpm");
  place(kTestFirmware, prefix() / "bin");
  EXPECT_EQ(build(), image_of(kTestFirmware));
}

TEST_F(InstalledLayout, EnvironmentThenFlagOverride) {
  place(kRealFirmware, prefix() / "lib/cvtpm");
  place(kTestFirmware, dir_ / "env");
  place(kRealFirmware, dir_ / "flag");
  EXPECT_EQ(build((dir_ / "env").string()), image_of(kTestFirmware));
  place(kTestFirmware, prefix() / "lib/cvtpm");
  EXPECT_EQ(build((dir_ / "env").string(), {"--data-dir", (dir_ / "flag").string()}),
            image_of(kRealFirmware));
}

TEST_F(InstalledLayout, ALinkToTheToolStillFindsItsTree) {
  place(kTestFirmware, prefix() / "lib/cvtpm");
  fs::create_directories(dir_ / "elsewhere");
  fs::create_symlink(prefix() / "bin/cvtpm-igvmgen", dir_ / "elsewhere/cvtpm-igvmgen");
  EXPECT_EQ(build("", {}, dir_ / "elsewhere/cvtpm-igvmgen"), image_of(kTestFirmware));
}

TEST_F(InstalledLayout, NoFirmwareIsBadInputNamingWhereItLooked) {
  const auto before = dir_.entries();
  expect_one_line_error(
      run(prefix() / "bin/cvtpm-igvmgen", {"build", "--ovmf", ovmf_.string(), "-o", "out.igvm"}),
      "cvtpm-igvmgen",
      "cvtpm-fw.elf: not found next to the tool (" + (prefix() / "bin").string() +
          ") nor in its installed data directory (" + (prefix() / "lib/cvtpm").string() + ")");
  EXPECT_EQ(dir_.entries(), before);
}

TEST_F(InstalledLayout, AnOverrideWithoutTheFirmwareIsNotAFallBack) {
  place(kTestFirmware, prefix() / "lib/cvtpm");
  fs::create_directories(dir_ / "empty");
  expect_one_line_error(
      run(prefix() / "bin/cvtpm-igvmgen", {"build", "--ovmf", ovmf_.string(), "-o", "out.igvm"},
          (dir_ / "empty").string()),
      "cvtpm-igvmgen", "CVTPM_DATA_DIR: " + (dir_ / "empty").string() + " has no cvtpm-fw.elf");
  EXPECT_FALSE(fs::exists(dir_ / "out.igvm"));
}

// The launcher resolves the firmware before it starts QEMU or the bridge.
TEST_F(InstalledLayout, LaunchNamesAMissingFirmwareBeforeStartingAnything) {
  expect_one_line_error(run(prefix() / "bin/cvtpm-launch", {"emulate", "--smoke"}), "cvtpm-launch",
                        "cvtpm-fw.elf: not found next to the tool");
  fs::create_directories(dir_ / "empty");
  expect_one_line_error(
      run(prefix() / "bin/cvtpm-launch", {"emulate", "--smoke", "--data-dir", "empty"}),
      "cvtpm-launch", "--data-dir: empty has no cvtpm-fw.elf");
  ProcessResult both =
      run(prefix() / "bin/cvtpm-launch", {"emulate", "--data-dir", "empty", "--firmware", "x.elf"});
  EXPECT_EQ(both.exit_code, 2);
  // CLI11 names the pair in either order.
  EXPECT_TRUE(both.err.find("--data-dir excludes --firmware") != std::string::npos ||
              both.err.find("--firmware excludes --data-dir") != std::string::npos)
      << both.err;
}

TEST_F(InstalledLayout, HelpTellsTheSearchOrder) {
  for (const char* tool : {"cvtpm-igvmgen", "cvtpm-launch"}) {
    ProcessResult r = run(prefix() / "bin" / tool, {"--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("CVTPM_DATA_DIR"), std::string::npos) << tool;
    EXPECT_NE(r.out.find("../lib/cvtpm"), std::string::npos) << tool;
  }
}
#endif  // CVTPM_REAL_FIRMWARE

// ---------------------------------------------------------------------------------------------
// Manual pages: one per tool, rendered by man without a warning, made again byte for byte.

#ifdef CVTPM_MAN_DIR
const fs::path kManDir = CVTPM_MAN_DIR;

// `man -l` renders a page; --warnings passes groff's warnings to stderr. The text comes back
// with every run of white space as one space (man justifies lines).
ProcessResult render(const fs::path& page) {
  ProcessResult r =
      run_process({"env", "MANWIDTH=100", "man", "--warnings", "-E", "UTF-8", "-l", page.string()});
  std::string text;
  for (char c : r.out) {
    const bool space = c == ' ' || c == '\n';
    if (!space) {
      text += c;
    } else if (!text.empty() && text.back() != ' ') {
      text += ' ';
    }
  }
  r.out = text;
  return r;
}

TEST(ManPages, EveryToolHasAPageThatRendersCleanly) {
  const std::vector<std::string> tools = split(CVTPM_TOOLS);
  ASSERT_EQ(tools.size(), 6u);
  for (const std::string& tool : tools) {
    const fs::path page = kManDir / (tool + ".1.gz");
    ASSERT_TRUE(fs::exists(page)) << page;
    ProcessResult r = render(page);
    EXPECT_EQ(r.exit_code, 0) << tool << ": " << r.err;
    EXPECT_EQ(r.err, "") << tool;
    EXPECT_NE(r.out.find("NAME " + tool + " - "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--version"), std::string::npos) << tool;
  }
}

TEST(ManPages, SubcommandsAndTheSearchOrderAreInThem) {
  ProcessResult launch = render(kManDir / "cvtpm-launch.1.gz");
  for (const char* text : {"CVTPM-LAUNCH EMULATE", "CVTPM-LAUNCH RUN", "CVTPM-LAUNCH CHECK",
                           "--data-dir", "--ovmf-vars", "CVTPM_DATA_DIR"}) {
    EXPECT_NE(launch.out.find(text), std::string::npos) << text;
  }
  ProcessResult igvmgen = render(kManDir / "cvtpm-igvmgen.1.gz");
  for (const char* text : {"CVTPM-IGVMGEN BUILD", "CVTPM-IGVMGEN DUMP", "CVTPM_DATA_DIR"}) {
    EXPECT_NE(igvmgen.out.find(text), std::string::npos) << text;
  }
}

TEST(ManPages, TheSameToolGivesTheSameBytes) {
  TempDir dir;
  const fs::path again = dir / "cvtpm-launch.1.gz";
  ProcessResult r =
      run_process({"env", "SOURCE_DATE_EPOCH=" CVTPM_SOURCE_DATE_EPOCH, "HELP2MAN=" CVTPM_HELP2MAN,
                   (kSource / "packaging/man_page.sh").string(), (kBin / "cvtpm-launch").string(),
                   CVTPM_LAUNCH_SUMMARY, again.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(file_text(again), file_text(kManDir / "cvtpm-launch.1.gz"));
}
#endif  // CVTPM_MAN_DIR

// ---------------------------------------------------------------------------------------------
// Bash completion, as bash-completion calls it: COMP_WORDS/COMP_CWORD set, the function run,
// COMPREPLY read back.

class BashCompletion : public ::testing::Test {
 protected:
  // The completions of the command line `words` (the last word being completed).
  std::vector<std::string> complete(const std::vector<std::string>& words) const {
    std::string array;
    for (const std::string& w : words) array += "'" + w + "' ";
    const std::string script = "source '" + (kSource / "packaging/bash-completion/cvtpm").string() +
                               "'; PATH='" + kBin.string() + "':$PATH; COMP_WORDS=(" + array +
                               "); COMP_CWORD=" + std::to_string(words.size() - 1) +
                               "; _cvtpm; printf '%s\\n' \"${COMPREPLY[@]}\"";
    ProcessResult r = run_process({"bash", "--norc", "-c", script}, dir_.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> lines;
    std::stringstream ss(r.out);
    for (std::string line; std::getline(ss, line);) {
      if (!line.empty()) lines.push_back(line);
    }
    return lines;
  }
  TempDir dir_;
};

using Words = std::vector<std::string>;

TEST_F(BashCompletion, SubcommandsThenTheirOptions) {
  EXPECT_EQ(complete({"cvtpm-launch", "em"}), Words{"emulate"});
  EXPECT_EQ(complete({"cvtpm-launch", "emulate", "--data"}), Words{"--data-dir"});
  EXPECT_EQ(complete({"cvtpm-igvmgen", "build", "--allow"}), Words{"--allow-non-svsm-ovmf"});
  EXPECT_EQ(complete({"cvtpm-measure", "--vcpu-t"}), Words{"--vcpu-type"});
  EXPECT_EQ(complete({"cvtpm-tpm-bridge", "--qemu"}), Words{"--qemu-socket"});
}

TEST_F(BashCompletion, ValuesByTheirType) {
  dir_.write("image.igvm", "x");
  fs::create_directories(dir_ / "images");
  // A FILE takes files and directories, a DIR only directories, a number nothing.
  EXPECT_EQ(complete({"cvtpm-launch", "run", "--igvm", "ima"}), (Words{"image.igvm", "images"}));
  EXPECT_EQ(complete({"cvtpm-launch", "emulate", "--data-dir", "ima"}), Words{"images"});
  EXPECT_EQ(complete({"cvtpm-launch", "emulate", "--port", ""}), Words{});
  // After a flag, subcommands and options are offered again.
  EXPECT_EQ(complete({"cvtpm-verify", "--version", "rep"}), Words{"report"});
}

TEST_F(BashCompletion, AnUnknownToolOffersNothing) {
  EXPECT_EQ(complete({"cvtpm-no-such-tool", "x"}), Words{});
}

}  // namespace
}  // namespace cvtpm
