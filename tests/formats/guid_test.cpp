#include "cvtpm/formats/guid.h"

#include <gtest/gtest.h>

#include "synthetic_ovmf.h"

namespace cvtpm::formats {
namespace {

TEST(Guid, ParsesToMixedEndianBytes) {
  constexpr Guid g = Guid::parse("96b582de-1fb2-45f7-baea-a366c55a082d");
  const std::uint8_t expected[16] = {0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
                                     0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d};
  EXPECT_TRUE(std::equal(std::begin(g.bytes), std::end(g.bytes), std::begin(expected)));
  auto independent = testing::guid_bytes("96b582de-1fb2-45f7-baea-a366c55a082d");
  EXPECT_TRUE(std::equal(std::begin(g.bytes), std::end(g.bytes), independent.begin()));
}

TEST(Guid, ComparesByValue) {
  constexpr Guid a = Guid::parse("00f771de-1a7e-4fcb-890e-68c77e2fb44e");
  constexpr Guid b = Guid::parse("00F771DE-1A7E-4FCB-890E-68C77E2FB44E");
  constexpr Guid c = Guid::parse("00f771de-1a7e-4fcb-890e-68c77e2fb44f");
  static_assert(a == b);
  EXPECT_FALSE(a == c);
}

}  // namespace
}  // namespace cvtpm::formats
