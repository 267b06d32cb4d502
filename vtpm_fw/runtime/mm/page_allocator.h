// Physical page allocator: a bitmap over one contiguous pool of 4 KiB pages (the free part of
// the firmware region). First fit with alignment; frees are checked. Pure bookkeeping — it
// never touches the pages — so it is host-tested (tests/firmware/page_allocator_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cvtpm::fw::mm {

inline constexpr std::size_t kPageSize = 4096;

class PageAllocator {
 public:
  // Words of bitmap needed for `page_count` pages.
  static constexpr std::size_t bitmap_words(std::size_t page_count) {
    return (page_count + 63) / 64;
  }

  // Takes over [base, base + page_count * kPageSize). `base` must be page aligned and non-zero
  // (0 is the failure value of allocate) and `bitmap` at least bitmap_words(page_count) long.
  // Returns false if not. Every page starts free.
  bool init(std::uint64_t base, std::size_t page_count, std::span<std::uint64_t> bitmap);

  // Takes pages out of the pool for good (boot parameter pages that sit inside it). The range
  // may extend beyond the pool; only the overlap is reserved. Returns false if a page of the
  // overlap was already in use.
  bool reserve(std::uint64_t address, std::size_t pages);

  // First run of `pages` free pages whose address is a multiple of `align_pages` pages (a power
  // of two). Returns the address, or 0 if none.
  std::uint64_t allocate(std::size_t pages, std::size_t align_pages = 1);

  // Returns pages from allocate(). Returns false and changes nothing if the range is not inside
  // the pool, not page aligned, or not entirely in use (a double free).
  bool free(std::uint64_t address, std::size_t pages);

  bool contains(std::uint64_t address) const {
    return address >= base_ && address - base_ < page_count_ * kPageSize;
  }
  bool is_used(std::uint64_t address) const;

  std::uint64_t base() const { return base_; }
  std::size_t total_pages() const { return page_count_; }
  std::size_t used_pages() const { return used_; }
  std::size_t reserved_pages() const { return reserved_; }
  // Largest number of pages in use at once, reserved pages included.
  std::size_t peak_pages() const { return peak_; }

 private:
  bool bit(std::size_t page) const { return (bitmap_[page / 64] >> (page % 64)) & 1; }
  void set_range(std::size_t first, std::size_t count, bool used);
  bool range_is(std::size_t first, std::size_t count, bool used) const;

  std::uint64_t base_ = 0;
  std::size_t page_count_ = 0;
  std::span<std::uint64_t> bitmap_;
  std::size_t used_ = 0;
  std::size_t reserved_ = 0;
  std::size_t peak_ = 0;
  std::size_t search_hint_ = 0;
};

}  // namespace cvtpm::fw::mm
