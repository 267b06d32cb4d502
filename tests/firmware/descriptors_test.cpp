// The IST assignment of the exception vectors (arch/x86_64/descriptors.h): an exception whose
// handler returns must not share its IST stack with any other vector, or that vector arriving
// while the handler runs starts over the handler's frame.
#include <gtest/gtest.h>

#include "arch/x86_64/descriptors.h"
#include "arch/x86_64/stacks.h"

namespace cvtpm::fw::x86 {
namespace {

constexpr int kHv = 28;
constexpr int kVc = 29;

TEST(Descriptors, TheExceptionsThatReturnHaveAnIstStackOfTheirOwn) {
  for (const int returning : {kHv, kVc}) {
    for (int vector = 0; vector < 32; ++vector) {
      if (vector == returning) continue;
      EXPECT_NE(ist_for_vector(vector), ist_for_vector(returning))
          << "vector " << vector << " shares the IST stack of vector " << returning;
    }
  }
}

TEST(Descriptors, EveryVectorUsesAnIstStackThatExists) {
  for (int vector = 0; vector < 32; ++vector) {
    EXPECT_GE(ist_for_vector(vector), 1) << vector;
    EXPECT_LE(ist_for_vector(vector), kIstCount) << vector;
  }
}

}  // namespace
}  // namespace cvtpm::fw::x86
