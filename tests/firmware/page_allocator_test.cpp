// The physical page allocator: first fit with alignment, reservations, checked frees, peak
// accounting, and a randomized run against a simple model (a set of owned page ranges).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "mm/page_allocator.h"

namespace cvtpm::fw::mm {
namespace {

constexpr std::uint64_t kBase = 0x0800'0000 + 0x40'0000;  // page aligned, not 2 MiB aligned

class PageAllocatorTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(pages.init(kBase, kPages, bitmap)); }
  static constexpr std::size_t kPages = 300;
  std::vector<std::uint64_t> bitmap =
      std::vector<std::uint64_t>(PageAllocator::bitmap_words(kPages));
  PageAllocator pages;
};

TEST(PageAllocatorInit, RejectsBadPools) {
  std::vector<std::uint64_t> bitmap(2);
  PageAllocator p;
  EXPECT_FALSE(p.init(0, 10, bitmap));          // 0 is the failure value
  EXPECT_FALSE(p.init(kBase + 1, 10, bitmap));  // unaligned
  EXPECT_FALSE(p.init(kBase, 129, bitmap));     // bitmap too small for 129 pages
  EXPECT_TRUE(p.init(kBase, 128, bitmap));
  EXPECT_EQ(p.total_pages(), 128u);
}

TEST_F(PageAllocatorTest, AllocatesFirstFitAndFrees) {
  const std::uint64_t a = pages.allocate(1);
  const std::uint64_t b = pages.allocate(3);
  EXPECT_EQ(a, kBase);
  EXPECT_EQ(b, kBase + kPageSize);
  EXPECT_EQ(pages.used_pages(), 4u);
  EXPECT_TRUE(pages.is_used(b + 2 * kPageSize));
  EXPECT_FALSE(pages.is_used(b + 3 * kPageSize));
  EXPECT_TRUE(pages.free(a, 1));
  // The freed page is found again first.
  EXPECT_EQ(pages.allocate(1), kBase);
  EXPECT_EQ(pages.peak_pages(), 4u);
}

TEST_F(PageAllocatorTest, HonoursPhysicalAlignment) {
  ASSERT_EQ(pages.allocate(1), kBase);
  // 2 MiB alignment = 512 pages: the pool (kBase = 132 MiB, 300 pages) holds no such address.
  EXPECT_EQ(pages.allocate(1, 512), 0u);
  const std::uint64_t a = pages.allocate(2, 16);
  EXPECT_EQ(a % (16 * kPageSize), 0u);
  EXPECT_GE(a, kBase + kPageSize);
  EXPECT_EQ(pages.allocate(1, 3), 0u);  // not a power of two
  EXPECT_EQ(pages.allocate(1, 0), 0u);
}

TEST_F(PageAllocatorTest, RejectsBadFrees) {
  const std::uint64_t a = pages.allocate(4);
  EXPECT_FALSE(pages.free(a + 1, 1));                       // unaligned
  EXPECT_FALSE(pages.free(kBase - kPageSize, 1));           // below the pool
  EXPECT_FALSE(pages.free(kBase + kPages * kPageSize, 1));  // above
  EXPECT_FALSE(pages.free(a, 5));                           // runs into a free page
  EXPECT_FALSE(pages.free(a, 0));
  EXPECT_TRUE(pages.free(a, 4));
  EXPECT_FALSE(pages.free(a, 4));  // double free
  EXPECT_EQ(pages.used_pages(), 0u);
}

TEST_F(PageAllocatorTest, ExhaustionAndContiguity) {
  EXPECT_EQ(pages.allocate(kPages + 1), 0u);
  const std::uint64_t all = pages.allocate(kPages);
  EXPECT_EQ(all, kBase);
  EXPECT_EQ(pages.allocate(1), 0u);
  // Free every other page: 150 free pages, but no two adjacent.
  for (std::size_t i = 0; i < kPages; i += 2) {
    ASSERT_TRUE(pages.free(kBase + i * kPageSize, 1));
  }
  EXPECT_EQ(pages.allocate(2), 0u);
  EXPECT_NE(pages.allocate(1), 0u);
}

TEST_F(PageAllocatorTest, ReservationsClipToThePoolAndRefuseUsedPages) {
  EXPECT_TRUE(pages.reserve(kBase - 2 * kPageSize, 4));  // overlaps the first 2 pages
  EXPECT_EQ(pages.reserved_pages(), 2u);
  EXPECT_TRUE(pages.is_used(kBase));
  EXPECT_TRUE(pages.is_used(kBase + kPageSize));
  EXPECT_FALSE(pages.reserve(kBase + kPageSize, 1));  // already taken
  // An unaligned page-sized range touches two pages.
  EXPECT_TRUE(pages.reserve(kBase + 10 * kPageSize + 100, 1));
  EXPECT_TRUE(pages.is_used(kBase + 10 * kPageSize));
  EXPECT_TRUE(pages.is_used(kBase + 11 * kPageSize));
  EXPECT_FALSE(pages.is_used(kBase + 12 * kPageSize));
  EXPECT_TRUE(pages.reserve(0, 1));                                      // outside: nothing to do
  EXPECT_TRUE(pages.reserve(kBase + 299 * kPageSize, ~std::size_t{0}));  // huge: clipped, no wrap
  EXPECT_EQ(pages.reserved_pages(), 5u);
  EXPECT_EQ(pages.allocate(1), kBase + 2 * kPageSize);
}

TEST_F(PageAllocatorTest, RandomizedAgainstAModel) {
  std::mt19937_64 rng(12345);
  std::map<std::uint64_t, std::size_t> owned;  // address -> pages
  std::size_t model_used = 0;
  std::size_t model_peak = 0;
  for (int step = 0; step < 20000; ++step) {
    if (owned.empty() || rng() % 3 != 0) {
      const std::size_t n = 1 + rng() % 8;
      const std::size_t align = std::size_t{1} << (rng() % 4);
      const std::uint64_t a = pages.allocate(n, align);
      if (a == 0) continue;
      ASSERT_EQ(a % (align * kPageSize), 0u);
      ASSERT_GE(a, kBase);
      ASSERT_LE(a + n * kPageSize, kBase + kPages * kPageSize);
      // No overlap with anything owned.
      auto next = owned.lower_bound(a);
      if (next != owned.end()) {
        ASSERT_LE(a + n * kPageSize, next->first);
      }
      if (next != owned.begin()) {
        auto prev = std::prev(next);
        ASSERT_LE(prev->first + prev->second * kPageSize, a);
      }
      owned[a] = n;
      model_used += n;
      model_peak = std::max(model_peak, model_used);
    } else {
      auto it = owned.begin();
      std::advance(it, static_cast<long>(rng() % owned.size()));
      ASSERT_TRUE(pages.free(it->first, it->second));
      model_used -= it->second;
      owned.erase(it);
    }
    ASSERT_EQ(pages.used_pages(), model_used);
  }
  EXPECT_EQ(pages.peak_pages(), model_peak);
}

}  // namespace
}  // namespace cvtpm::fw::mm
