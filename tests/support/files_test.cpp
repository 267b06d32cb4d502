#include "cvtpm/support/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "cvtpm/support/error.h"
#include "temp_dir.h"

namespace cvtpm {
namespace {

using testing::TempDir;

TEST(ReadFile, ReadsRegularFilesAndDevNull) {
  TempDir dir;
  auto p = dir.write("a.bin", "hello");
  EXPECT_EQ(read_file(p), (std::vector<std::uint8_t>{'h', 'e', 'l', 'l', 'o'}));
  EXPECT_TRUE(read_file("/dev/null").empty());
}

TEST(ReadFile, ErrorsNameThePath) {
  TempDir dir;
  try {
    read_file(dir / "missing.fd");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              (dir / "missing.fd").string() + ": cannot open: No such file or directory");
  }
  EXPECT_THROW(read_file(dir.path()), InputError);
}

TEST(WriteFileAtomic, ReplacesTheDestinationAndLeavesNoTemporary) {
  TempDir dir;
  auto p = dir.write("out.bin", "old contents");
  write_file_atomic(p, std::string_view("new"));
  EXPECT_EQ(read_file(p), (std::vector<std::uint8_t>{'n', 'e', 'w'}));
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(WriteFileAtomic, FailureLeavesNothingBehind) {
  TempDir dir;
  EXPECT_THROW(write_file_atomic(dir / "no-such-dir" / "out.bin", std::string_view("x")),
               InputError);
  // A read-only directory: the temporary cannot be created, nothing appears.
  std::filesystem::create_directory(dir / "ro");
  ::chmod((dir / "ro").c_str(), 0555);
  if (::geteuid() != 0) {  // root ignores directory permissions
    EXPECT_THROW(write_file_atomic(dir / "ro" / "out.bin", std::string_view("x")), InputError);
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "ro" / "out.bin") && ::geteuid() != 0);
}

}  // namespace
}  // namespace cvtpm
