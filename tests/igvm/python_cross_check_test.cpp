// A second, independent reader in another language (tests/igvm/igvm_reference.py: zlib's CRC-32,
// hashlib's SHA-384) agrees with cvtpm on real images and on hand-built files.
#include <gtest/gtest.h>

#include <filesystem>

#include "cvtpm/formats/igvm/igvm_file.h"
#include "cvtpm/measure/igvm_measure.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/files.h"
#include "process.h"
#include "raw_igvm.h"
#include "synthetic_ovmf.h"
#include "temp_dir.h"

namespace cvtpm::testing {
namespace {

constexpr const char* kPython = "/usr/bin/python3";
const std::string kScript = std::string(CVTPM_SOURCE_DIR) + "/tests/igvm/igvm_reference.py";
const std::string kIgvmgen = std::string(CVTPM_BIN_DIR) + "/cvtpm-igvmgen";

class PythonCrossCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kPython)) GTEST_SKIP() << kPython << " not installed";
  }

  // "crc-ok <headers> <digest>" from the Python reader must match cvtpm's parse and digest.
  void expect_agreement(const std::filesystem::path& file) const {
    ProcessResult r = run_process({kPython, kScript, file.string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto parsed = formats::igvm::parse_igvm(load_file(file), file.string());
    const std::string digest = to_hex(measure::measure_igvm(parsed, {}, file.string()).digest);
    EXPECT_EQ(r.out, "crc-ok " + std::to_string(parsed.header_count()) + " " + digest + "\n");
  }

  TempDir dir_;
};

TEST_F(PythonCrossCheck, TheCvtpmImage) {
  const auto ovmf = dir_.write("ovmf.fd", SyntheticOvmf{}.build());
  ProcessResult b = run_process({kIgvmgen, "build", "--firmware", CVTPM_TEST_FIRMWARE, "--ovmf",
                                 ovmf.string(), "-o", (dir_ / "image.igvm").string()});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  expect_agreement(dir_ / "image.igvm");
}

TEST_F(PythonCrossCheck, TheCvtpmImageWithDebianOvmf) {
  if (!std::filesystem::exists("/usr/share/OVMF/OVMF_CODE.fd")) GTEST_SKIP() << "no Debian OVMF";
  ProcessResult b = run_process({kIgvmgen, "build", "--firmware", CVTPM_TEST_FIRMWARE, "--ovmf",
                                 "/usr/share/OVMF/OVMF_CODE.fd", "-o",
                                 (dir_ / "debian.igvm").string(), "--allow-non-svsm-ovmf"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  expect_agreement(dir_ / "debian.igvm");
}

TEST_F(PythonCrossCheck, EveryPageType) {
  RawIgvm f(2);
  f.platform(1, 2, 2)
      .platform(2, 0)
      .area(0x3000, 0)
      .insert(0x10000, 3, 0)
      .page(0x20000, 3, 0, 0, pattern_page(1))
      .page(0x21000, 3, 0, 0, std::nullopt)
      .page(0x22000, 1, 2, 0, pattern_page(2))
      .page(0x23000, 1, 0, 1, std::nullopt)
      .page(0x24000, 1, 0, 2, pattern_page(3))
      .page(0x25000, 1, 0, 3, std::nullopt)
      .page(0x200000, 1, 1, 0, std::nullopt)
      .page(0x26000, 2, 0, 0, pattern_page(4))
      .vp_context(0xFFFFFFFFF000, 1, 0, pattern_page(5));
  expect_agreement(dir_.write("every.igvm", f.build()));
}

}  // namespace
}  // namespace cvtpm::testing
