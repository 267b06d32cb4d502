// The exceptions VMPL0 handles and returns from — #VC (VMM communication) and #HV (hypervisor
// injection) — for one vCPU, with the nesting rules that keep them from corrupting the code they
// interrupt. Freestanding; the firmware's IDT entries and the model's event delivery both call it.
//
// A #VC handler uses the vCPU's GHCB and, on x86, its own IST stack. A second #VC while one is
// handled restarts on the same IST stack over the first one's frame, and a #VC while the GHCB is
// between request and answer would rewrite that exchange. Neither happens for the firmware's own
// instructions (the #VC path raises none, and GhcbClient raises none mid-exchange); only a
// hypervisor can cause them, by injecting #VC, which Restricted Injection forbids (AMD APM vol. 2,
// 15.36.16: with SEV_FEATURES bit 3 set only #HV can be injected; VMRUN fails otherwise). Linux
// keeps a backup GHCB for a #VC inside #VC and panics when both are in use
// (arch/x86/coco/sev/, __sev_get_ghcb); cvtpm has nothing worth continuing for and
// terminates the guest at once.
//
// A #VC that is let through may interrupt a GHCB MSR protocol exchange (no page involved): the
// gate saves the GHCB MSR and puts it back, so that exchange still reads its own answer.
//
// #HV is only ever injected (APM 15.36.16), as a doorbell for the #HV doorbell page of the GHCB
// specification. cvtpm registers no doorbell page, so an #HV carries nothing to process: it is
// acknowledged by returning, unless it arrives while one is being handled (same IST stack).
#pragma once

#include <cstdint>
#include <span>

#include "cvtpm/snp/cpuid_table.h"
#include "cvtpm/snp/ghcb_client.h"
#include "cvtpm/snp/hardware.h"
#include "cvtpm/snp/vc_handler.h"

namespace cvtpm::snp {

struct VcException {
  std::uint64_t exit_code;             // the #VC error code
  std::span<const std::uint8_t> code;  // the bytes at the interrupted RIP
  // Where a guarded access at that RIP resumes when it faults (x86::guarded_fault_resume), or 0.
  std::uint64_t guarded_resume = 0;
};

class ExceptionGate {
 public:
  // One #VC. kHandled: resume with `regs`. kNested or kGhcbBusy: termination was requested
  // through the GHCB MSR (the caller halts if the hypervisor ignores it). Anything else: the
  // emulation failed and the caller reports it.
  VcResult on_vc(SnpHardware& hardware, const VcException& vc, VcRegisters& regs,
                 const CpuidTable& cpuid, std::uint64_t cr4, GhcbClient* ghcb);
  // One #HV: true to resume; false when termination was requested.
  bool on_hv(SnpHardware& hardware);

  bool in_vc() const { return in_vc_; }
  std::uint64_t hv_count() const { return hv_count_; }

 private:
  bool in_vc_ = false;
  bool in_hv_ = false;
  std::uint64_t hv_count_ = 0;
};

}  // namespace cvtpm::snp
