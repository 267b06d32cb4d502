// VMPL0 on the guest's other vCPUs. Under SNP with several VMPLs, a vCPU's call to the SVSM (a
// VMGEXIT asking for VMPL0) lands in that vCPU's own VMPL0 VMSA, so every vCPU the guest starts
// needs an SVSM context of its own: when the guest creates a vCPU (CREATE_VCPU), the firmware
// builds a VMPL0 VMSA for that APIC ID — 64-bit mode on the firmware's page tables, GDT and IDT,
// its own stack, seven exception (IST) stacks, TSS, thread control block and GHCB — and asks the
// hypervisor to start it. The AP registers its GHCB and runs the same request loop as the boot
// vCPU; one call is served at a time across vCPUs (the platform's service lock). Bare metal only.
#pragma once

#include <cstdint>

#include "cvtpm/snp/exception_gate.h"
#include "cvtpm/snp/ghcb_client.h"
#include "cvtpm/snp/snp_platform.h"
#include "mm/page_allocator.h"

namespace cvtpm::fw::snp_platform {

// The GHCB of the vCPU running this code (the boot vCPU's until APs exist); nullptr before
// early_boot() set it up.
snp::GhcbClient* current_ghcb();
void set_current_ghcb(snp::GhcbClient* boot_ghcb);
// The #VC/#HV nesting state of the vCPU running this code.
snp::ExceptionGate& current_exception_gate();

// The VcpuHost the SNP platform asks for VMPL0 contexts; pages come from `pages`.
void start_ap_support(mm::PageAllocator& pages);
snp::VcpuHost& ap_vcpu_host();
// An AP's VMPL0 life: registers its GHCB, then runs its request loop (fw_snp_ap_main).
[[noreturn]] void run_ap_context(void* context);

}  // namespace cvtpm::fw::snp_platform
