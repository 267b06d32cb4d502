#include "mm/page_allocator.h"

namespace cvtpm::fw::mm {

bool PageAllocator::init(std::uint64_t base, std::size_t page_count,
                         std::span<std::uint64_t> bitmap) {
  if (base == 0 || base % kPageSize != 0 || bitmap.size() < bitmap_words(page_count)) return false;
  base_ = base;
  page_count_ = page_count;
  bitmap_ = bitmap.first(bitmap_words(page_count));
  for (auto& word : bitmap_) word = 0;
  used_ = reserved_ = peak_ = search_hint_ = 0;
  return true;
}

void PageAllocator::set_range(std::size_t first, std::size_t count, bool used) {
  for (std::size_t page = first; page < first + count; ++page) {
    const std::uint64_t mask = std::uint64_t{1} << (page % 64);
    if (used) {
      bitmap_[page / 64] |= mask;
    } else {
      bitmap_[page / 64] &= ~mask;
    }
  }
}

bool PageAllocator::range_is(std::size_t first, std::size_t count, bool used) const {
  for (std::size_t page = first; page < first + count; ++page) {
    if (bit(page) != used) return false;
  }
  return true;
}

bool PageAllocator::is_used(std::uint64_t address) const {
  return contains(address) && bit((address - base_) / kPageSize);
}

bool PageAllocator::reserve(std::uint64_t address, std::size_t pages) {
  const std::uint64_t end_of_pool = base_ + page_count_ * kPageSize;
  std::uint64_t first = address & ~std::uint64_t{kPageSize - 1};
  // Saturating end: a huge `pages` must not wrap around.
  std::uint64_t end = address + pages * kPageSize;
  if (pages > (~std::uint64_t{0} - address) / kPageSize) end = ~std::uint64_t{0};
  if (first < base_) first = base_;
  if (end > end_of_pool) end = end_of_pool;
  if (first >= end) return true;
  const std::size_t first_page = (first - base_) / kPageSize;
  const std::size_t count = (end - first + kPageSize - 1) / kPageSize;
  if (!range_is(first_page, count, false)) return false;
  set_range(first_page, count, true);
  reserved_ += count;
  used_ += count;
  if (used_ > peak_) peak_ = used_;
  return true;
}

std::uint64_t PageAllocator::allocate(std::size_t pages, std::size_t align_pages) {
  if (pages == 0 || pages > page_count_ || align_pages == 0 ||
      (align_pages & (align_pages - 1)) != 0) {
    return 0;
  }
  // Alignment is of the physical address, not of the index into the pool.
  const std::uint64_t align_bytes = std::uint64_t{align_pages} * kPageSize;
  for (int pass = 0; pass < 2; ++pass) {
    std::size_t page = pass == 0 ? search_hint_ : 0;
    const std::size_t stop = pass == 0 ? page_count_ : search_hint_ + pages;
    while (page + pages <= page_count_ && page < stop) {
      const std::uint64_t address = base_ + page * kPageSize;
      const std::uint64_t aligned = (address + align_bytes - 1) & ~(align_bytes - 1);
      page = (aligned - base_) / kPageSize;
      if (page + pages > page_count_) break;
      std::size_t run = 0;
      while (run < pages && !bit(page + run)) ++run;
      if (run == pages) {
        set_range(page, pages, true);
        used_ += pages;
        if (used_ > peak_) peak_ = used_;
        search_hint_ = page + pages;
        return base_ + page * kPageSize;
      }
      page += run + 1;
    }
  }
  return 0;
}

bool PageAllocator::free(std::uint64_t address, std::size_t pages) {
  if (pages == 0 || address % kPageSize != 0 || !contains(address)) return false;
  const std::size_t first = (address - base_) / kPageSize;
  if (pages > page_count_ - first || !range_is(first, pages, true)) return false;
  set_range(first, pages, false);
  used_ -= pages;
  if (first < search_hint_) search_hint_ = first;
  return true;
}

}  // namespace cvtpm::fw::mm
