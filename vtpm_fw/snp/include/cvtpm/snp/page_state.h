// Page ownership changes at VMPL0: accepting memory as validated private memory (page state
// change to private, then PVALIDATE), giving a page to the hypervisor as shared memory, and the
// RMPADJUST steps that grant or revoke a lower VMPL's access. Freestanding.
#pragma once

#include <cstdint>

#include "cvtpm/snp/ghcb_client.h"
#include "cvtpm/snp/hardware.h"
#include "cvtpm/snp/status.h"

namespace cvtpm::snp {

// Makes [gpa, gpa + size) (page aligned) private and validated: the page state change goes
// through `ghcb` when it is bound (else the MSR protocol, one page at a time), then PVALIDATE
// with 2 MiB pages where the range and the RMP allow it. A page that was already validated is
// an error: only the launch validates pages before us, and validating twice is what a hypervisor
// remapping a validated page to another address would make us do.
SnpStatus accept_private(SnpHardware& hardware, GhcbClient* ghcb, std::uint64_t gpa,
                         std::uint64_t size);

// Turns the validated private page at gpa into a page shared with the hypervisor: rescinds it,
// asks the hypervisor to make it shared, and clears the C-bit of the firmware's mapping.
SnpStatus make_page_shared(SnpHardware& hardware, GhcbClient* ghcb, std::uint64_t gpa);

// Sets the permissions of `vmpl` (1..3) on [gpa, gpa + size) (page aligned), 2 MiB at a time
// where `size_2m` says the RMP has 2 MiB entries, else 4 KiB.
SnpStatus set_vmpl_permissions(SnpHardware& hardware, std::uint64_t gpa, std::uint64_t size,
                               std::uint8_t vmpl, std::uint8_t permissions, PageSize page_size);

// Removes every permission of VMPLs `from_vmpl`..3 on one page of `page_size`.
SnpStatus revoke_lower_vmpls(SnpHardware& hardware, std::uint64_t gpa, PageSize page_size,
                             std::uint8_t from_vmpl);

// Zeroes [gpa, gpa + size) through private mappings.
SnpStatus zero_private(SnpHardware& hardware, std::uint64_t gpa, std::uint64_t size);

}  // namespace cvtpm::snp
