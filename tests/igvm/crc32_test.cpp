#include "cvtpm/formats/igvm/crc32.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "raw_igvm.h"

namespace cvtpm::formats::igvm {
namespace {

TEST(Crc32, PublishedCheckValue) {
  const std::string check = "123456789";
  EXPECT_EQ(crc32(reinterpret_cast<const std::uint8_t*>(check.data()), check.size()), 0xCBF43926u);
  EXPECT_EQ(crc32(nullptr, 0), 0u);
}

TEST(Crc32, IncrementalEqualsOneShotAndTheBitwiseReference) {
  testing::Bytes data(10000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 31 + 7);
  const std::uint32_t whole = crc32(data.data(), data.size());
  EXPECT_EQ(whole, testing::bitwise_crc32(data.data(), data.size()));
  Crc32 pieces;
  pieces.update(data.data(), 17).update(data.data() + 17, 4000).update(data.data() + 4017, 5983);
  EXPECT_EQ(pieces.value(), whole);
}

}  // namespace
}  // namespace cvtpm::formats::igvm
