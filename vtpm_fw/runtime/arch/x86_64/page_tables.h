// The firmware's final page tables, built into memory the caller provides (the firmware: pages of
// its pool, reached through the identity map; the SNP model in the tests: pages of the model's
// guest memory), so the same code runs on the hardware and on the model that walks them:
//   - an identity map of physical memory with 2 MiB pages (never executable), except page 0
//     (unmapped: NULL dereferences fault) and the firmware region, which is mapped with 4 KiB
//     pages — code read-only and executable, read-only data, writable data never executable
//     (W^X), and the stack guard pages left unmapped so an overflow faults;
//   - under SEV-SNP, the guest window: every guest-physical page outside the firmware region
//     (page 0 included) again at `guest_window` + GPA, writable, never executable, 2 MiB pages.
//     The SNP platform reaches guest memory only there (cvtpm/snp/hardware.h, AddressSpace);
//   - under SEV-SNP every entry carries the C-bit, except the firmware's pages shared with the
//     hypervisor.
// Entry formats: AMD64 APM vol. 2, "Long-Mode Page Translation" (4-level paging, PS bit at the
// PDPT and PD levels). Freestanding, no hardware access.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mm/image_layout.h"

namespace cvtpm::fw::x86 {

struct PagingPlan {
  mm::ImageLayout image;
  std::uint64_t region_start;  // the firmware region (image + pool), 2 MiB aligned
  std::uint64_t region_end;
  std::uint64_t identity_limit;  // map [0, identity_limit): at least 4 GiB, 1 GiB multiple
  bool nx;                       // the CPU supports no-execute
  // SEV-SNP: the C-bit, set in every entry so memory is accessed private (encrypted); 0 natively.
  std::uint64_t encryption_mask = 0;
  // 4 KiB pages of the firmware region mapped without the C-bit (shared with the hypervisor).
  const std::uint64_t* shared_pages = nullptr;
  std::size_t shared_page_count = 0;
  // 4 KiB pages of the image left unmapped (the stacks' guard pages).
  const std::uint64_t* guard_pages = nullptr;
  std::size_t guard_page_count = 0;
  // Non-zero: map [0, identity_limit) minus the firmware region again at guest_window + address
  // (2 MiB aligned, canonical). The SNP platform's guest window.
  std::uint64_t guest_window = 0;
};

// Where the tables live: pages handed out by the caller, addressed by their physical address.
class PageTableMemory {
 public:
  // Physical address of a page for a table (zeroed by the builder), or 0 if there is none.
  virtual std::uint64_t allocate_table() = 0;
  // The table at that physical address, for reading and writing.
  virtual std::uint64_t* table(std::uint64_t physical) = 0;

 protected:
  ~PageTableMemory() = default;
};

struct PagingResult {
  std::uint64_t root;         // physical address of the PML4 (CR3 without the C-bit); 0: failed
  std::uint64_t table_pages;  // page-table pages taken from the memory
};

// The identity map's extent for RAM ending at `ram_top`: at least 4 GiB (the MMIO window and the
// guest firmware's flash end there), rounded up to 1 GiB, at most 512 GiB.
std::uint64_t identity_limit_for(std::uint64_t ram_top);

// Builds the tables. Returns root 0 if the memory ran out of pages.
PagingResult build_page_tables(const PagingPlan& plan, PageTableMemory& memory);

// Sets or clears the C-bit of the 4 KiB mapping of `va` in the tables at `root`. A 2 MiB mapping
// is split first into `spare_table` (the physical address of a free page, 0: refuse to split);
// `split` says whether that happened (the caller then flushes every translation, not only va's).
// Returns false if `va` is not mapped, or is mapped by a 1 GiB page, or needs a split without a
// spare table. The caller invalidates the TLB.
bool set_leaf_encryption(PageTableMemory& memory, std::uint64_t root, std::uint64_t va,
                         bool encrypted, std::uint64_t cbit_mask, std::uint64_t spare_table,
                         bool& split);

}  // namespace cvtpm::fw::x86
