// Builds the final page tables (arch/x86_64/page_tables.h) from the page allocator's pool and
// switches to them. Bare metal only.
#pragma once

#include <cstdint>

#include "arch/x86_64/page_tables.h"
#include "mm/page_allocator.h"

namespace cvtpm::fw::x86 {

// Non-zero: EFER's value before NXE is added, written without reading EFER (under SNP an RDMSR
// could trap to the hypervisor, which would answer for the firmware's EFER).
struct Activation {
  std::uint64_t known_efer = 0;
};

// Builds the tables from `pages` and switches CR3 to them. Returns root 0 if the allocator ran
// out of pages (nothing was switched).
PagingResult build_and_activate(const PagingPlan& plan, const Activation& activation,
                                mm::PageAllocator& pages);

// The guard pages of every stack (stacks.h), for PagingPlan::guard_pages.
struct GuardPages {
  std::uint64_t pages[8];
  std::size_t count;
};
GuardPages stack_guard_pages();

}  // namespace cvtpm::fw::x86
