// The model's x86-64 page walk for VMPL0 (the firmware's own accesses and the linear addresses
// PVALIDATE and RMPADJUST take), written from the AMD64 APM vol. 2 and independent of the
// firmware's page-table code:
//   - §5.3.1 canonical addresses: bits 63:48 equal bit 47, otherwise #GP;
//   - §5.3.3 (long mode, 4-level): PML4E bits 47:39, PDPTE 38:30 (PS = 1: 1 GiB page), PDE 29:21
//     (PS = 1: 2 MiB page), PTE 20:12; an entry with P = 0 ends the walk with #PF;
//   - §5.6.3 with CR0.WP = 1 (entry.S sets it): a supervisor write needs R/W = 1 at every level;
//   - §15.34.5 and §15.34.6 (SEV): the page-table walk itself is always a private access; the
//     C-bit of the leaf decides whether the data access is private; the C-bit is not part of the
//     guest-physical address.
// Table pages are read through a callback so the caller applies the RMP rules to them (a walk
// through a page that is not validated faults, APM §15.36.10, Table 15-39).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace cvtpm::snp::model {

struct WalkResult {
  bool ok = false;
  std::uint64_t gpa = 0;   // the translated guest-physical address (C-bit removed)
  bool encrypted = false;  // C-bit of the leaf: the data access is private
  std::uint64_t page_size = 0;
  std::string fault;  // why the walk failed (#GP / #PF and the level)
};

// Reads the 8-byte entry at a guest-physical address of a table page, or nullopt if that private
// read itself faults (the callback records why).
using EntryReader = std::function<std::optional<std::uint64_t>(std::uint64_t gpa)>;

WalkResult walk_long_mode(std::uint64_t cr3, std::uint64_t linear, bool write,
                          std::uint8_t cbit_position, const EntryReader& read_entry);

}  // namespace cvtpm::snp::model
