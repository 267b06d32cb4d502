// The final page tables: an identity map of physical memory with 2 MiB pages (never executable),
// except page 0 (unmapped: NULL dereferences fault) and the firmware region, which is mapped
// with 4 KiB pages — code read-only and executable, read-only data, writable data never
// executable (W^X), and the stack guard pages left unmapped so an overflow faults. Under SEV-SNP
// every entry carries the C-bit, except the firmware's pages shared with the hypervisor.
#pragma once

#include <cstddef>
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
  // SEV-SNP: the C-bit, set in every entry so memory is accessed private (encrypted); 0 natively.
  std::uint64_t encryption_mask = 0;
  // 4 KiB pages of the firmware region mapped without the C-bit (shared with the hypervisor).
  const std::uint64_t* shared_pages = nullptr;
  std::size_t shared_page_count = 0;
  // Non-zero: EFER's value before NXE is added, written without reading EFER (under SNP an RDMSR
  // could trap to the hypervisor, which would answer for the firmware's EFER).
  std::uint64_t known_efer = 0;
};

struct PagingResult {
  std::uint64_t root;         // CR3
  std::uint64_t table_pages;  // page-table pages taken from the allocator
};

// Builds the tables from `pages` and switches CR3 to them. Returns root 0 if the allocator ran
// out of pages (nothing was switched).
PagingResult build_and_activate(const PagingPlan& plan, mm::PageAllocator& pages);

}  // namespace cvtpm::fw::x86
