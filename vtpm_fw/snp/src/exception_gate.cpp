#include "cvtpm/snp/exception_gate.h"

#include <atomic>

#include "cvtpm/formats/snp/ghcb_msr_protocol.h"
#include "cvtpm/snp/ghcb_msr.h"

namespace cvtpm::snp {

namespace {

namespace msr = formats::snp::ghcb_msr;

void terminate(SnpHardware& hardware) {
  // Through the GHCB MSR, never the GHCB page: the page may be the one in use.
  msr_protocol::request_termination(hardware, msr::kReasonSetGeneral, msr::kReasonGeneral);
}

}  // namespace

VcResult ExceptionGate::on_vc(SnpHardware& hardware, const VcException& vc, VcRegisters& regs,
                              const CpuidTable& cpuid, std::uint64_t cr4, GhcbClient* ghcb) {
  if (in_vc_) {
    terminate(hardware);
    return VcResult::kNested;
  }
  if (ghcb != nullptr && ghcb->busy()) {
    terminate(hardware);
    return VcResult::kGhcbBusy;
  }
  in_vc_ = true;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  // The interrupted code may be between a GHCB MSR protocol request and reading its answer (the
  // request loop's RUN_VMPL is one); the emulation's exchange rewrites the MSR.
  const std::uint64_t interrupted_msr = hardware.read_ghcb_msr();
  VcResult result = VcResult::kHandled;
  if (vc.guarded_resume != 0) {
    // A guest page or guest VMSA that stopped being validated: the guarded copy fails instead.
    regs.rip = vc.guarded_resume;
  } else if (ghcb == nullptr) {
    result = VcResult::kNoGhcb;
  } else {
    result = handle_vc(vc.exit_code, vc.code, regs, cpuid, cr4, *ghcb);
  }
  hardware.write_ghcb_msr(interrupted_msr);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  in_vc_ = false;
  return result;
}

bool ExceptionGate::on_hv(SnpHardware& hardware) {
  if (in_hv_) {
    terminate(hardware);
    return false;
  }
  in_hv_ = true;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  ++hv_count_;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  in_hv_ = false;
  return true;
}

}  // namespace cvtpm::snp
