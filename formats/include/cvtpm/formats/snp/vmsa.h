// The SEV-ES/SEV-SNP VM save area (VMSA): AMD APM vol. 2, table B-4 "VMSA Layout, State Save
// Area for SEV-ES". One 4 KiB page per vCPU; measured as a VMSA page at launch. Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::formats::snp {

// VMCB segment register (struct vmcb_seg); `attrib` is the 12-bit packed form
// (descriptor bits 8..15 in attrib[7:0], bits 20..23 in attrib[11:8]).
struct VmcbSegment {
  std::uint16_t selector;
  std::uint16_t attrib;
  std::uint32_t limit;
  std::uint64_t base;
};
static_assert(sizeof(VmcbSegment) == 16);

struct Vmsa {
  VmcbSegment es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr;
  std::uint64_t vmpl0_ssp, vmpl1_ssp, vmpl2_ssp, vmpl3_ssp;
  std::uint64_t u_cet;
  std::uint8_t reserved_0c8[2];
  std::uint8_t vmpl;
  std::uint8_t cpl;
  std::uint8_t reserved_0cc[4];
  std::uint64_t efer;
  std::uint8_t reserved_0d8[104];
  std::uint64_t xss, cr4, cr3, cr0, dr7, dr6, rflags, rip;
  std::uint64_t dr0, dr1, dr2, dr3;
  std::uint64_t dr0_addr_mask, dr1_addr_mask, dr2_addr_mask, dr3_addr_mask;
  std::uint8_t reserved_1c0[24];
  std::uint64_t rsp, s_cet, ssp, isst_addr, rax;
  std::uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
  std::uint64_t sysenter_cs, sysenter_esp, sysenter_eip, cr2;
  std::uint8_t reserved_248[32];
  std::uint64_t g_pat, dbgctl, br_from, br_to, last_excp_from, last_excp_to;
  std::uint8_t reserved_298[80];
  std::uint32_t pkru;
  std::uint8_t reserved_2ec[20];
  std::uint64_t reserved_300;
  std::uint64_t rcx, rdx, rbx;
  std::uint64_t reserved_320;
  std::uint64_t rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15;
  std::uint8_t reserved_380[16];
  std::uint64_t guest_exit_info_1, guest_exit_info_2, guest_exit_int_info, guest_nrip;
  std::uint64_t sev_features;
  std::uint64_t vintr_ctrl;
  std::uint64_t guest_exit_code;
  std::uint64_t virtual_tom;
  std::uint64_t tlb_id, pcpu_id, event_inj;
  std::uint64_t xcr0;
  std::uint8_t reserved_3f0[16];
  std::uint64_t x87_dp;
  std::uint32_t mxcsr;
  std::uint16_t x87_ftw, x87_fsw, x87_fcw, x87_fop, x87_ds, x87_cs;
  std::uint64_t x87_rip;
  std::uint8_t fpreg_x87[80];
  std::uint8_t fpreg_xmm[256];
  std::uint8_t fpreg_ymm[256];
  std::uint8_t unused[2448];
};
static_assert(sizeof(Vmsa) == 4096);
static_assert(offsetof(Vmsa, cs) == 0x010);
static_assert(offsetof(Vmsa, tr) == 0x090);
static_assert(offsetof(Vmsa, vmpl) == 0x0CA);
static_assert(offsetof(Vmsa, cpl) == 0x0CB);
static_assert(offsetof(Vmsa, efer) == 0x0D0);
static_assert(offsetof(Vmsa, xss) == 0x140);
static_assert(offsetof(Vmsa, cr4) == 0x148);
static_assert(offsetof(Vmsa, cr3) == 0x150);
static_assert(offsetof(Vmsa, cr0) == 0x158);
static_assert(offsetof(Vmsa, dr7) == 0x160);
static_assert(offsetof(Vmsa, dr6) == 0x168);
static_assert(offsetof(Vmsa, rflags) == 0x170);
static_assert(offsetof(Vmsa, rip) == 0x178);
static_assert(offsetof(Vmsa, rsp) == 0x1D8);
static_assert(offsetof(Vmsa, rax) == 0x1F8);
static_assert(offsetof(Vmsa, cr2) == 0x240);
static_assert(offsetof(Vmsa, g_pat) == 0x268);
static_assert(offsetof(Vmsa, pkru) == 0x2E8);
static_assert(offsetof(Vmsa, rcx) == 0x308);
static_assert(offsetof(Vmsa, rdx) == 0x310);
static_assert(offsetof(Vmsa, rbx) == 0x318);
static_assert(offsetof(Vmsa, rbp) == 0x328);
static_assert(offsetof(Vmsa, r8) == 0x340);
static_assert(offsetof(Vmsa, r15) == 0x378);
static_assert(offsetof(Vmsa, guest_exit_info_1) == 0x390);
static_assert(offsetof(Vmsa, sev_features) == 0x3B0);
static_assert(offsetof(Vmsa, vintr_ctrl) == 0x3B8);
static_assert(offsetof(Vmsa, guest_exit_code) == 0x3C0);
static_assert(offsetof(Vmsa, virtual_tom) == 0x3C8);
static_assert(offsetof(Vmsa, xcr0) == 0x3E8);
static_assert(offsetof(Vmsa, mxcsr) == 0x408);
static_assert(offsetof(Vmsa, x87_ftw) == 0x40C);
static_assert(offsetof(Vmsa, x87_fcw) == 0x410);
static_assert(offsetof(Vmsa, fpreg_x87) == 0x420);
static_assert(offsetof(Vmsa, fpreg_ymm) == 0x570);
static_assert(offsetof(Vmsa, unused) == 0x670);

// SEV_FEATURES bits (VMSA offset 0x3B0).
namespace sev_features {
inline constexpr std::uint64_t kSnpActive = 1ULL << 0;
inline constexpr std::uint64_t kVirtualTom = 1ULL << 1;
inline constexpr std::uint64_t kReflectVc = 1ULL << 2;
inline constexpr std::uint64_t kRestrictedInjection = 1ULL << 3;
inline constexpr std::uint64_t kAlternateInjection = 1ULL << 4;
inline constexpr std::uint64_t kDebugSwap = 1ULL << 5;
inline constexpr std::uint64_t kPreventHostIbs = 1ULL << 6;
inline constexpr std::uint64_t kBtbIsolation = 1ULL << 7;
inline constexpr std::uint64_t kVmplSss = 1ULL << 8;
inline constexpr std::uint64_t kSecureTsc = 1ULL << 9;
inline constexpr std::uint64_t kVmgexitParameter = 1ULL << 10;
inline constexpr std::uint64_t kIbsVirtualization = 1ULL << 12;
inline constexpr std::uint64_t kVmsaRegProt = 1ULL << 14;
inline constexpr std::uint64_t kSmtProtection = 1ULL << 15;
}  // namespace sev_features

// EFER.SVME: set in every SEV-ES/SNP VMSA; a VMSA without it cannot be entered.
inline constexpr std::uint64_t kEferSvme = 1ULL << 12;

// Register values of the x86 reset state (AMD APM vol. 2, "Processor Initialization State") as
// KVM gives them to a vCPU, which every VMSA built here starts from (the measured initial VMSAs,
// the image's VMPL0 VMSA, the SVSM's guest and AP VMSAs).
namespace reset_state {
inline constexpr std::uint64_t kCr4 = 0x40;  // MCE: KVM sets it
inline constexpr std::uint64_t kDr6 = 0xFFFF'0FF0;
inline constexpr std::uint64_t kDr7 = 0x400;
inline constexpr std::uint64_t kRflags = 0x2;  // the reserved bit 1; interrupts off
inline constexpr std::uint64_t kPat = 0x0007'0406'0007'0406;
inline constexpr std::uint64_t kXcr0 = 0x1;  // x87 state enabled
inline constexpr std::uint32_t kMxcsr = 0x1F80;
inline constexpr std::uint16_t kX87Fcw = 0x37F;  // FNINIT's control word, as KVM sets it
}  // namespace reset_state

// Packs descriptor attribute bits 8..23 (as in a GDT entry's high dword >> 8) into the VMCB
// segment `attrib` form, e.g. 0xC09B -> 0xC9B.
constexpr std::uint16_t vmcb_attrib(std::uint16_t descriptor_attr) {
  return static_cast<std::uint16_t>((descriptor_attr & 0xFF) | ((descriptor_attr >> 4) & 0xF00));
}
static_assert(vmcb_attrib(0xC09B) == 0xC9B && vmcb_attrib(0xA093) == 0xA93);

}  // namespace cvtpm::formats::snp
