// The public sev-snp-measure vectors (../shared/vectors), each run through the real binary with
// the vector's own argv from the project root.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "process.h"

namespace cvtpm::measure {
namespace {

const std::filesystem::path kRoot = CVTPM_SOURCE_DIR;
const std::filesystem::path kVectors =
    kRoot / ".." / "shared" / "vectors" / "snp-measure-public.json";

struct Vector {
  std::string name;
  std::vector<std::string> argv;
  std::string expected;
};

std::vector<Vector> load_vectors() {
  std::vector<Vector> out;
  std::ifstream f(kVectors);
  if (!f) return {Vector{"absent", {}, ""}};  // reported as a skip, never a pass
  for (const auto& v : nlohmann::json::parse(f)) {
    out.push_back({v["name"], v["argv"].get<std::vector<std::string>>(), v["expected"]});
  }
  return out;
}

void PrintTo(const Vector& v, std::ostream* os) {
  *os << v.name;
}

class PublicVector : public ::testing::TestWithParam<Vector> {};

TEST_P(PublicVector, Reproduces) {
  const Vector& v = GetParam();
  if (v.name == "absent") GTEST_SKIP() << "vectors not found at " << kVectors;
  for (const std::string& arg : v.argv) {
    if (arg.starts_with("/usr/share/OVMF/") && !std::filesystem::exists(arg)) {
      GTEST_SKIP() << arg << " is missing: install Debian's ovmf package (scripts/install-deps.sh)";
    }
  }
  std::vector<std::string> argv{std::string(CVTPM_BIN_DIR) + "/cvtpm-measure"};
  argv.insert(argv.end(), v.argv.begin(), v.argv.end());
  testing::ProcessResult r = testing::run_process(argv, kRoot);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, v.expected + "\n");
}

std::string test_name(const ::testing::TestParamInfo<Vector>& info) {
  std::string name = info.param.name;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(SevSnpMeasure, PublicVector, ::testing::ValuesIn(load_vectors()),
                         test_name);

}  // namespace
}  // namespace cvtpm::measure
