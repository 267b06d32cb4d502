// The project's rule for bad input, as every tool's CLI tests check it: exit status 2, nothing on
// stdout, and exactly one stderr line "<tool>: error: <subject>: <problem>" naming what is wrong.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "process.h"

namespace cvtpm::testing {

inline void expect_one_line_error(const ProcessResult& r, std::string_view tool,
                                  std::string_view expected) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(r.err.starts_with(std::string(tool) + ": error: ")) << r.err;
  EXPECT_NE(r.err.find(expected), std::string::npos)
      << "expected \"" << expected << "\" in stderr: " << r.err;
}

}  // namespace cvtpm::testing
