// Memory accesses that survive a #VC (guarded_access.S): the SNP platform copies guest memory
// and guest VMSAs with them, because the guest can have the hypervisor convert such a page behind
// the SVSM's back, and a private access to a page that is no longer validated raises #VC
// PAGE_NOT_VALIDATED at VMPL0 (AMD64 APM vol. 2 §15.36.10). COCONUT-SVSM guards its guest
// accesses the same way, with an exception table (kernel/src/mm/guestmem.rs). Only #VC is fixed
// up: a #PF in these copies would be a missing mapping, a firmware bug, and still panics.
// Bare metal only.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" bool fw_guarded_copy(void* dst, const void* src, std::size_t n);
extern "C" bool fw_guarded_exchange8(std::uint8_t* p, std::uint8_t value, std::uint8_t* old);

namespace cvtpm::fw::x86 {

// Where a guarded access that faulted at `rip` resumes (its fault label, where it returns
// false), or 0 when `rip` is not in a guarded access.
std::uint64_t guarded_fault_resume(std::uint64_t rip);

}  // namespace cvtpm::fw::x86
