// The two support/ extensions the IGVM code relies on (ByteBuffer::slice and the gathered
// write_file_atomic); they live here until the lead moves them to tests/support.
#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>

#include "cvtpm/support/error.h"
#include "cvtpm/support/files.h"
#include "temp_dir.h"

namespace cvtpm {
namespace {

TEST(ByteBufferSlice, SharesStorageAndOutlivesTheOriginal) {
  std::vector<std::uint8_t> bytes(100);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i);
  ByteBuffer slice;
  const std::uint8_t* base = nullptr;
  {
    const ByteBuffer whole(std::move(bytes));
    base = whole.data();
    slice = whole.slice(10, 20);
    EXPECT_EQ(slice.data(), base + 10);  // no copy
  }
  ASSERT_EQ(slice.size(), 20u);
  EXPECT_EQ(slice.span()[0], 10);
  EXPECT_EQ(slice.span()[19], 29);
  EXPECT_EQ(slice.slice(5, 0).size(), 0u);
  EXPECT_EQ(slice.slice(20, 0).size(), 0u);
  EXPECT_THROW(slice.slice(21, 0), std::out_of_range);
  EXPECT_THROW(slice.slice(10, 11), std::out_of_range);
  EXPECT_THROW(slice.slice(1, SIZE_MAX), std::out_of_range);
}

TEST(WriteFileAtomic, WritesPiecesInOrderAndLeavesNoTemporary) {
  testing::TempDir dir;
  const std::vector<std::uint8_t> a = {1, 2, 3}, b = {}, c = {4, 5};
  const std::span<const std::uint8_t> pieces[] = {a, b, c};
  write_file_atomic(dir / "out", pieces);
  EXPECT_EQ(read_file(dir / "out"), (std::vector<std::uint8_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
  try {
    write_file_atomic(dir / "missing" / "out", pieces);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot create a temporary file"), std::string::npos);
  }
}

}  // namespace
}  // namespace cvtpm
