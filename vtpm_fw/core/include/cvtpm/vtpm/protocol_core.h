// Core protocol (protocol 0) of the SVSM specification (pub. 58019, "Core Protocol"):
//
//   call  name                 inputs                                    outputs
//   0     SVSM_CORE_REMAP_CA   RCX = GPA of the new calling area (4K)    -
//   1     SVSM_CORE_PVALIDATE  RCX = GPA of the request list (8-byte     list header `next`
//                              aligned, within one page)
//   2     SVSM_CORE_CREATE_VCPU RCX = VMSA GPA (4K), RDX = CAA GPA (4K),  -
//                              R8[31:0] = APIC ID
//   3     SVSM_CORE_DELETE_VCPU RCX = VMSA GPA (4K)                      -
//   4/5   DEPOSIT_MEM / WITHDRAW_MEM                                     UNSUPPORTED_CALL
//   6     SVSM_CORE_QUERY_PROTOCOL RCX = protocol << 32 | version        RCX = max << 32 | min,
//                                                                        or 0 if unsupported
//   7     SVSM_CORE_CONFIGURE_VTOM RCX bit 0 = query                     RCX = 0 (no vTOM)
//
// The logic and every check of guest input live here; the hardware actions go through the
// platform. Freestanding.
#pragma once

#include <cstdint>

#include "cvtpm/vtpm/call_context.h"
#include "cvtpm/vtpm/guest_memory.h"
#include "cvtpm/vtpm/platform.h"
#include "cvtpm/vtpm/svsm_abi.h"

namespace cvtpm::vtpm {

struct CoreConfig {
  // Work one PVALIDATE call may do before it returns SVSM_ERR_INCOMPLETE (the guest then
  // reissues it and the list continues at `next`), in 4 KiB pages: a 2 MiB entry counts 512.
  // Bounds the time a vCPU spends in the SVSM.
  std::uint32_t pvalidate_budget_pages = 4096;
  // Whether the vTPM protocol is offered (QUERY_PROTOCOL).
  bool vtpm_present = true;
};

class CoreProtocol {
 public:
  CoreProtocol(Platform& platform, GuestMemory& memory, const CoreConfig& config)
      : platform_(platform), memory_(memory), config_(config) {}

  SvsmResult handle(std::uint32_t call, const CallContext& context, SvsmRegisters& regs);

 private:
  SvsmResult remap_ca(const CallContext& context, SvsmRegisters& regs);
  SvsmResult pvalidate(SvsmRegisters& regs);
  SvsmResult create_vcpu(SvsmRegisters& regs);
  SvsmResult delete_vcpu(SvsmRegisters& regs);
  SvsmResult query_protocol(SvsmRegisters& regs) const;
  SvsmResult configure_vtom(SvsmRegisters& regs) const;

  Platform& platform_;
  GuestMemory& memory_;
  CoreConfig config_;
};

}  // namespace cvtpm::vtpm
