// VMSAs the SVSM creates: the guest firmware's boot vCPU in the x86 reset state at the guest
// VMPL (what an SVSM gives OVMF: real mode at the reset vector, as COCONUT-SVSM's guest VMSA),
// and the SVSM's own VMPL0 context for another vCPU (64-bit mode on the firmware's tables).
// Freestanding.
#pragma once

#include <cstdint>

#include "cvtpm/formats/snp/vmsa.h"

namespace cvtpm::snp {

using formats::snp::kEferSvme;

struct ResetVmsaConfig {
  std::uint64_t reset_eip;      // OVMF's reset vector (0xFFFFFFF0)
  std::uint8_t vmpl;            // the guest VMPL
  std::uint64_t sev_features;   // SEV_FEATURES of the guest's VMSAs
  std::uint32_t cpu_signature;  // CPUID(1).EAX, which RDX holds at reset
};

// The architectural reset state (AMD APM vol. 2, "Processor Initialization State"), with the
// SEV-ES specifics every SNP VMSA carries: EFER.SVME set, sev_features, vmpl.
void build_reset_vmsa(formats::snp::Vmsa& vmsa, const ResetVmsaConfig& config);

struct Vmpl0ContextConfig {
  std::uint64_t rip;
  std::uint64_t rsp;
  std::uint64_t cr0, cr3, cr4, efer;
  std::uint64_t gdtr_base;
  std::uint16_t gdtr_limit;
  std::uint64_t idtr_base;
  std::uint16_t idtr_limit;
  std::uint64_t tss_base;  // a 64-bit TSS of 0x68 bytes, loaded as selector 0x18
  std::uint64_t fs_base;
  std::uint64_t gs_base;
  std::uint64_t sev_features;
  std::uint64_t rdi;  // first argument of the entry function
};

// A 64-bit VMPL0 context: code selector 0x08, data 0x10 (the firmware's GDT), interrupts off.
void build_vmpl0_context(formats::snp::Vmsa& vmsa, const Vmpl0ContextConfig& config);

}  // namespace cvtpm::snp
