// The firmware's SEV-SNP platform at VMPL0 (docs/snp-platform.md): the steps main.cpp runs when
// the entry word says kSnp, around the runtime's own boot stages. The SNP logic itself is
// vtpm_fw/snp (SnpFirmware); this file gives it the processor (X86SnpHardware), the firmware's
// memory and heap, the console through the GHCB, the #VC handler and the termination path.
// Bare metal only.
#pragma once

#include <cstdint>
#include <span>

#include "console/port_io.h"
#include "mm/page_allocator.h"
#include "platform/native/boot_info.h"

namespace cvtpm::fw::snp_platform {

// Whether the entry word names the SNP platform.
bool is_snp_entry(std::uint32_t entry_eax);

// First thing on an SNP boot, before the console and the IDT exist: BootParams, the GHCB
// protocol and hypervisor features, the CPUID table, the boot vCPU's GHCB. Nothing can be printed
// yet: a failure asks the hypervisor to terminate the guest.
void early_boot(std::uint64_t boot_params_gpa);
// Port I/O through the GHCB (the console's UART).
console::PortIo& console_io();
// After the console: what early_boot() learned.
void log_early_state();
// After the IDT: CPUID, port I/O and MSR accesses that trap (#VC) are emulated from now on.
void install_vc_handler();
// The firmware region outside the launched image becomes validated memory (before the page
// allocator hands any of it out). Panics on failure.
void accept_firmware_memory();
// The page tables' C-bit and the firmware pages that stay shared (the boot GHCB).
std::uint64_t encryption_mask();
std::span<const std::uint64_t> shared_pages();
// The guest window for the final page tables (cvtpm/snp/hardware.h), or 0 when not on SNP; once
// those tables are active, use_guest_window() makes the SNP code reach guest memory through it.
std::uint64_t guest_window();
void use_guest_window();
// EFER as the SNP entry set it (SVME | LME | LMA), or 0 when not on SNP.
std::uint64_t known_efer();
// Reads the boot information (the BootParams layout of IGVM boots) for SNP.
bool read_boot_info(std::uint64_t boot_params_gpa, native::BootInfo& out, native::BootError& error);
// Guest preparation, the TPM, then the request loop of the boot vCPU, forever.
[[noreturn]] void serve(const native::BootInfo& info, mm::PageAllocator& pages);
// The panic path's last step under SNP: ask the hypervisor to terminate the guest.
void terminate_hook(bool failed);

}  // namespace cvtpm::fw::snp_platform
