// Changing the C-bit (SEV memory encryption) of one 4 KiB page in the page tables the CPU uses:
// the SNP platform shares its GHCB and guest-request pages with the hypervisor this way. Works on
// the 32-bit entry's boot tables (2 MiB pages: the covering large page is split into 4 KiB entries
// in a spare table first) and on the final tables (4 KiB pages in the firmware region). Bare
// metal only.
#pragma once

#include <cstdint>

namespace cvtpm::fw::x86::snp {

// `va` is identity mapped. `cbit_mask` = 1 << C-bit position. `spare_table`: a page-aligned
// page for splitting a 2 MiB mapping (nullptr: refuse to split); `spare_used` says whether it was
// used. Flushes the TLB. Returns false if `va` is not mapped or would need a split without a
// spare table.
bool set_page_encryption(std::uint64_t va, bool encrypted, std::uint64_t cbit_mask,
                         std::uint64_t* spare_table, bool& spare_used);

}  // namespace cvtpm::fw::x86::snp
