// The firmware heap: alignment, splitting and coalescing (everything freed returns one block
// per region), realloc in place and by moving, growth through the region source, detection of
// invalid and double frees and of overwritten headers, and a randomized run with content checks
// against a model, verifying the heap's own consistency walk after every step.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "mm/heap.h"

namespace cvtpm::fw::mm {
namespace {

struct Regions {
  std::vector<std::vector<std::uint8_t>> blocks;
  std::size_t limit = 8;
  std::size_t region_size = 64 * 1024;
  std::size_t grows = 0;

  static bool grow(void* context, std::size_t min_bytes, void** start, std::size_t* bytes) {
    auto* self = static_cast<Regions*>(context);
    if (self->blocks.size() >= self->limit) return false;
    const std::size_t size = std::max<std::size_t>(min_bytes, self->region_size);
    self->blocks.emplace_back(size + 16);
    ++self->grows;
    // Deliberately misaligned by 8: the heap must align the region itself.
    *start = self->blocks.back().data() + 8;
    *bytes = size;
    return true;
  }
};

struct Errors {
  std::vector<std::string> messages;
  static void record(void* context, const char* what, const void*) {
    static_cast<Errors*>(context)->messages.push_back(what);
  }
};

class HeapTest : public ::testing::Test {
 protected:
  void SetUp() override { heap.init(Regions::grow, &regions, Errors::record, &errors, 0x5eed); }
  Regions regions;
  Errors errors;
  Heap heap;
};

TEST_F(HeapTest, AllocationsAreAlignedUsableAndDisjoint) {
  std::vector<std::pair<std::uint8_t*, std::size_t>> blocks;
  for (std::size_t size : {0, 1, 15, 16, 17, 31, 32, 33, 100, 1000, 1024, 1025, 4096, 50000}) {
    auto* p = static_cast<std::uint8_t*>(heap.allocate(size));
    ASSERT_NE(p, nullptr) << size;
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % Heap::kAlignment, 0u);
    EXPECT_GE(heap.usable_size(p), size);
    std::memset(p, static_cast<int>(size & 0xFF), size);
    blocks.emplace_back(p, size);
  }
  for (auto& [p, size] : blocks) {
    for (std::size_t i = 0; i < size; ++i) {
      ASSERT_EQ(p[i], static_cast<std::uint8_t>(size & 0xFF));
    }
  }
  EXPECT_TRUE(heap.check());
  EXPECT_EQ(heap.stats().live_allocations, blocks.size());
  for (auto& [p, size] : blocks) heap.free(p);
  EXPECT_TRUE(heap.check());
  EXPECT_EQ(heap.stats().used_bytes, 0u);
  EXPECT_TRUE(errors.messages.empty());
}

TEST_F(HeapTest, FreeCoalescesBackIntoOneBlock) {
  std::vector<void*> blocks;
  for (int i = 0; i < 100; ++i) blocks.push_back(heap.allocate(200));
  ASSERT_EQ(regions.grows, 1u);
  // Free in an order that exercises merging with the next, the previous and both neighbours.
  for (int i = 0; i < 100; i += 3) heap.free(blocks[i]);
  for (int i = 2; i < 100; i += 3) heap.free(blocks[i]);
  for (int i = 1; i < 100; i += 3) heap.free(blocks[i]);
  ASSERT_TRUE(heap.check());
  // The whole region is one free block again: the largest possible request fits without growth.
  const std::size_t region = heap.stats().region_bytes;
  void* big = heap.allocate(region - 64);
  EXPECT_NE(big, nullptr);
  EXPECT_EQ(regions.grows, 1u);
  heap.free(big);
  EXPECT_TRUE(heap.check());
}

TEST_F(HeapTest, GrowsWhenFullAndFailsCleanlyAtTheLimit) {
  regions.limit = 2;
  std::vector<void*> blocks;
  for (;;) {
    void* p = heap.allocate(10000);
    if (p == nullptr) break;
    blocks.push_back(p);
  }
  EXPECT_EQ(regions.grows, 2u);
  EXPECT_GE(blocks.size(), 12u);
  EXPECT_EQ(heap.allocate(1u << 30), nullptr);
  EXPECT_EQ(heap.allocate(~std::size_t{0}), nullptr);  // no overflow in the size arithmetic
  EXPECT_EQ(heap.allocate_zeroed(~std::size_t{0} / 2, 4), nullptr);
  EXPECT_TRUE(heap.check());
  for (void* p : blocks) heap.free(p);
  EXPECT_TRUE(heap.check());
}

TEST_F(HeapTest, AllocateZeroedZeroesReusedMemory) {
  auto* p = static_cast<std::uint8_t*>(heap.allocate(512));
  std::memset(p, 0xAB, 512);
  heap.free(p);
  auto* q = static_cast<std::uint8_t*>(heap.allocate_zeroed(64, 8));
  ASSERT_NE(q, nullptr);
  for (int i = 0; i < 512; ++i) {
    ASSERT_EQ(q[i], 0) << i;
  }
  heap.free(q);
}

TEST_F(HeapTest, ReallocKeepsContentsInPlaceOrMoved) {
  auto* p = static_cast<std::uint8_t*>(heap.reallocate(nullptr, 100));
  for (int i = 0; i < 100; ++i) p[i] = static_cast<std::uint8_t>(i);
  // Shrink: same block.
  EXPECT_EQ(heap.reallocate(p, 40), p);
  // Grow into the free space after it (nothing else allocated yet): same block.
  auto* grown = static_cast<std::uint8_t*>(heap.reallocate(p, 5000));
  EXPECT_EQ(grown, p);
  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(grown[i], i);
  }
  // Block the neighbour, then grow: moves, contents kept.
  void* neighbour = heap.allocate(16);
  auto* moved = static_cast<std::uint8_t*>(heap.reallocate(grown, 20000));
  ASSERT_NE(moved, nullptr);
  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(moved[i], i);
  }
  EXPECT_TRUE(heap.check());
  EXPECT_EQ(heap.reallocate(moved, 0), nullptr);  // realloc(p, 0) frees
  heap.free(neighbour);
  EXPECT_TRUE(heap.check());
  EXPECT_EQ(heap.stats().live_allocations, 0u);
}

TEST_F(HeapTest, ReportsDoubleAndInvalidFrees) {
  void* keep = heap.allocate(64);  // keeps p's block from merging away
  void* p = heap.allocate(64);
  void* after = heap.allocate(64);
  heap.free(p);
  heap.free(p);
  ASSERT_EQ(errors.messages.size(), 1u);
  EXPECT_EQ(errors.messages[0], "free(): double free");
  EXPECT_EQ(heap.reallocate(p, 10), nullptr);
  ASSERT_EQ(errors.messages.size(), 2u);
  EXPECT_EQ(errors.messages[1], "realloc(): pointer already freed");

  int on_stack = 0;
  heap.free(&on_stack);
  ASSERT_EQ(errors.messages.size(), 3u);
  EXPECT_EQ(errors.messages[2], "free(): pointer not from the heap");

  auto* q = static_cast<std::uint8_t*>(heap.allocate(64));
  std::memset(q, 0x5A, 64);
  heap.free(q + 32);  // inside a block: its "header" fails the check word
  ASSERT_EQ(errors.messages.size(), 4u);
  EXPECT_EQ(errors.messages[3], "heap: invalid pointer or overwritten block header");
  heap.free(q);
  heap.free(keep);
  heap.free(after);
  EXPECT_TRUE(heap.check());
  EXPECT_EQ(heap.stats().live_allocations, 0u);
}

TEST_F(HeapTest, DetectsAnOverflowIntoTheNextHeader) {
  auto* a = static_cast<std::uint8_t*>(heap.allocate(32));
  void* b = heap.allocate(32);
  std::memset(a, 0x41, heap.usable_size(a) + 8);  // runs into b's header
  EXPECT_FALSE(heap.check());
  heap.free(a);
  ASSERT_FALSE(errors.messages.empty());
  EXPECT_EQ(errors.messages.back(), "heap: block after a freed block is corrupt (overflow?)");
  (void)b;
}

TEST_F(HeapTest, RandomizedAgainstAModel) {
  std::mt19937_64 rng(987654321);
  struct Live {
    std::size_t size;
    std::uint8_t fill;
  };
  std::map<std::uint8_t*, Live> live;
  auto verify = [](std::uint8_t* p, const Live& l) {
    for (std::size_t i = 0; i < l.size; ++i) {
      if (p[i] != l.fill) return false;
    }
    return true;
  };
  regions.limit = 64;
  regions.region_size = 1024 * 1024;
  for (int step = 0; step < 30000; ++step) {
    const unsigned op = static_cast<unsigned>(rng() % 10);
    if (live.empty() || op < 5) {
      const std::size_t size = (rng() % 4 == 0) ? rng() % 20000 : rng() % 300;
      auto* p = static_cast<std::uint8_t*>(heap.allocate(size));
      ASSERT_NE(p, nullptr);
      ASSERT_EQ(live.count(p), 0u);
      const auto fill = static_cast<std::uint8_t>(rng());
      std::memset(p, fill, size);
      live[p] = {size, fill};
    } else if (op < 8) {
      auto it = live.begin();
      std::advance(it, static_cast<long>(rng() % live.size()));
      ASSERT_TRUE(verify(it->first, it->second));
      heap.free(it->first);
      live.erase(it);
    } else {
      auto it = live.begin();
      std::advance(it, static_cast<long>(rng() % live.size()));
      const Live old = it->second;
      const std::size_t size = rng() % 6000;
      auto* p = static_cast<std::uint8_t*>(heap.reallocate(it->first, size));
      live.erase(it);
      if (size == 0) {
        ASSERT_EQ(p, nullptr);
        continue;
      }
      ASSERT_NE(p, nullptr);
      for (std::size_t i = 0; i < std::min(size, old.size); ++i) {
        ASSERT_EQ(p[i], old.fill);
      }
      std::memset(p, old.fill, size);
      live[p] = {size, old.fill};
    }
    if (step % 97 == 0) {
      ASSERT_TRUE(heap.check()) << "step " << step;
    }
  }
  ASSERT_TRUE(heap.check());
  for (auto& [p, l] : live) {
    ASSERT_TRUE(verify(p, l));
    heap.free(p);
  }
  EXPECT_TRUE(heap.check());
  EXPECT_EQ(heap.stats().used_bytes, 0u);
  EXPECT_TRUE(errors.messages.empty());
}

}  // namespace
}  // namespace cvtpm::fw::mm
