#include "cvtpm/snp/vmsa_builder.h"

#include <cstring>

namespace cvtpm::snp {

namespace fs = formats::snp;

namespace {

namespace reset = fs::reset_state;
using fs::kEferSvme;

fs::VmcbSegment segment(std::uint16_t selector, std::uint16_t attrib, std::uint32_t limit,
                        std::uint64_t base) {
  return fs::VmcbSegment{selector, attrib, limit, base};
}

}  // namespace

void build_reset_vmsa(fs::Vmsa& vmsa, const ResetVmsaConfig& config) {
  std::memset(&vmsa, 0, sizeof vmsa);
  // CS:IP = F000:FFF0 with CS.base = the top of the reset vector's 64 KiB.
  vmsa.cs = segment(0xF000, 0x9B, 0xFFFF, config.reset_eip & 0xFFFF'0000);
  vmsa.rip = config.reset_eip & 0xFFFF;
  const fs::VmcbSegment data = segment(0, 0x93, 0xFFFF, 0);
  vmsa.ds = vmsa.es = vmsa.fs = vmsa.gs = vmsa.ss = data;
  vmsa.gdtr = segment(0, 0, 0xFFFF, 0);
  vmsa.idtr = segment(0, 0, 0xFFFF, 0);
  vmsa.ldtr = segment(0, 0x82, 0xFFFF, 0);
  vmsa.tr = segment(0, 0x8B, 0xFFFF, 0);
  vmsa.cr0 = 0x6000'0010;  // CD | NW | ET
  vmsa.efer = kEferSvme;
  vmsa.dr6 = reset::kDr6;
  vmsa.dr7 = reset::kDr7;
  vmsa.rflags = reset::kRflags;
  vmsa.g_pat = reset::kPat;
  vmsa.xcr0 = reset::kXcr0;
  vmsa.mxcsr = reset::kMxcsr;
  vmsa.x87_ftw = 0x5555;
  vmsa.x87_fcw = 0x40;
  vmsa.rdx = config.cpu_signature;
  vmsa.vmpl = config.vmpl;
  vmsa.sev_features = config.sev_features;
}

void build_vmpl0_context(fs::Vmsa& vmsa, const Vmpl0ContextConfig& config) {
  std::memset(&vmsa, 0, sizeof vmsa);
  vmsa.cs = segment(0x08, fs::vmcb_attrib(0xA09B), 0xFFFF'FFFF, 0);
  const fs::VmcbSegment data = segment(0x10, fs::vmcb_attrib(0xC093), 0xFFFF'FFFF, 0);
  vmsa.ds = vmsa.es = vmsa.ss = data;
  vmsa.fs = segment(0, 0, 0, config.fs_base);
  vmsa.gs = segment(0, 0, 0, config.gs_base);
  vmsa.gdtr = segment(0, 0, config.gdtr_limit, config.gdtr_base);
  vmsa.idtr = segment(0, 0, config.idtr_limit, config.idtr_base);
  vmsa.ldtr = segment(0, 0x82, 0, 0);
  vmsa.tr = segment(0x18, 0x8B, 0x67, config.tss_base);  // busy 64-bit TSS
  vmsa.cr0 = config.cr0;
  vmsa.cr3 = config.cr3;
  vmsa.cr4 = config.cr4;
  vmsa.efer = config.efer | kEferSvme;
  vmsa.rip = config.rip;
  vmsa.rsp = config.rsp;
  vmsa.rdi = config.rdi;
  vmsa.rflags = reset::kRflags;
  vmsa.dr6 = reset::kDr6;
  vmsa.dr7 = reset::kDr7;
  vmsa.g_pat = reset::kPat;
  vmsa.xcr0 = reset::kXcr0;
  vmsa.mxcsr = reset::kMxcsr;
  vmsa.x87_fcw = reset::kX87Fcw;
  vmsa.vmpl = 0;
  vmsa.sev_features = config.sev_features;
}

}  // namespace cvtpm::snp
