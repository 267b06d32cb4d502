// The firmware heap behind malloc/free: boundary-tag blocks with segregated free lists, split on
// allocation and coalesced on free, growing by whole regions from a caller-supplied source (the
// page allocator in the firmware, plain memory in the host tests). Headers carry a check word so
// an invalid or double free and overwritten headers are reported instead of corrupting the heap.
// Not thread safe (the firmware runs one CPU). Host-tested (tests/firmware/heap_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::fw::mm {

class Heap {
 public:
  static constexpr std::size_t kAlignment = 16;
  static constexpr std::size_t kMaxRegions = 64;

  // Supplies a new region of at least `min_bytes` (16-byte aligned start); returns false when
  // out of memory.
  using GrowFn = bool (*)(void* context, std::size_t min_bytes, void** start, std::size_t* bytes);
  // Reports a misuse or corruption (`what` names it, `pointer` is the offending address). The
  // firmware panics; tests record it. If it returns, the operation is abandoned.
  using ErrorFn = void (*)(void* context, const char* what, const void* pointer);

  struct Stats {
    std::size_t region_bytes = 0;  // memory the heap owns
    std::size_t used_bytes = 0;    // blocks in use, headers included
    std::size_t peak_used_bytes = 0;
    std::size_t live_allocations = 0;
    std::uint64_t total_allocations = 0;
  };

  void init(GrowFn grow_fn, void* grow_context, ErrorFn on_error, void* error_context,
            std::uint64_t cookie);

  // Hands the heap a region it may carve up (also what GrowFn results go through).
  bool add_region(void* start, std::size_t bytes);

  void* allocate(std::size_t bytes);
  void* allocate_zeroed(std::size_t count, std::size_t size);
  void* reallocate(void* pointer, std::size_t bytes);
  void free(void* pointer);
  // Bytes the caller may use at `pointer` (at least what it asked for).
  std::size_t usable_size(const void* pointer) const;

  const Stats& stats() const { return stats_; }

  // Walks every region and free list; true if all headers, footers, flags, links and counters
  // are consistent. For tests and the self-test.
  bool check() const;

 private:
  struct Block;
  struct Region {
    std::uintptr_t start;
    std::uintptr_t end;  // address of the end sentinel block
  };
  static constexpr std::size_t kSmallBins = 62;  // 48 .. 1024 bytes in 16-byte steps
  static constexpr std::size_t kLargeBins = 54;  // power-of-two classes above 1024
  static constexpr std::size_t kBins = kSmallBins + kLargeBins;

  static std::size_t bin_index(std::size_t block_size);
  void stamp(Block* block, std::size_t size, std::uint64_t flags) const;
  bool header_ok(const Block* block) const;
  void link(Block* block);
  void unlink(Block* block);
  Block* take_fit(std::size_t need);
  void mark_used(Block* block, std::size_t need);
  enum class Operation { kFree, kRealloc };
  Block* block_of(const void* pointer, Operation operation) const;
  bool grow(std::size_t need);
  void error(const char* what, const void* pointer) const;

  GrowFn grow_ = nullptr;
  void* grow_context_ = nullptr;
  ErrorFn on_error_ = nullptr;
  void* error_context_ = nullptr;
  std::uint64_t cookie_ = 0;
  Block* bins_[kBins] = {};
  std::uint64_t bin_map_[2] = {};
  Region regions_[kMaxRegions] = {};
  std::size_t region_count_ = 0;
  Stats stats_;
};

}  // namespace cvtpm::fw::mm
