// The final page tables: an identity map of physical memory with 2 MiB pages (never executable),
// except page 0 (unmapped: NULL dereferences fault) and the firmware region, which is mapped
// with 4 KiB pages — code read-only and executable, read-only data, writable data never
// executable (W^X), and the stack guard pages left unmapped so an overflow faults.
#pragma once

#include <cstdint>

#include "mm/image_layout.h"
#include "mm/page_allocator.h"

namespace cvtpm::fw::x86 {

struct PagingPlan {
  mm::ImageLayout image;
  std::uint64_t region_start;  // the firmware region (image + pool)
  std::uint64_t region_end;
  std::uint64_t identity_limit;  // map [0, identity_limit): at least 4 GiB, 1 GiB multiple
  bool nx;                       // the CPU supports no-execute
};

struct PagingResult {
  std::uint64_t root;         // CR3
  std::uint64_t table_pages;  // page-table pages taken from the allocator
};

// Builds the tables from `pages` and switches CR3 to them. Returns root 0 if the allocator ran
// out of pages (nothing was switched).
PagingResult build_and_activate(const PagingPlan& plan, mm::PageAllocator& pages);

}  // namespace cvtpm::fw::x86
