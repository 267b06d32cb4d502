// The SVSM service: decodes a call (RAX = protocol << 32 | call id, arguments in RCX/RDX/R8/R9)
// and hands it to the protocol, which answers in RAX and its output registers. Outputs a call
// does not define keep their input values.
//
//   unknown protocol (or the vTPM protocol without a TPM)   SVSM_ERR_UNSUPPORTED_PROTOCOL
//   unknown call of a known protocol                        SVSM_ERR_UNSUPPORTED_CALL
//
// serve_pending() adds the calling-area rule: a call is served only if the vCPU's calling area
// has call_pending set, and the SVSM clears it. Freestanding.
#pragma once

#include <cstdint>

#include "cvtpm/vtpm/call_context.h"
#include "cvtpm/vtpm/guest_memory.h"
#include "cvtpm/vtpm/platform.h"
#include "cvtpm/vtpm/protocol_attest.h"
#include "cvtpm/vtpm/protocol_core.h"
#include "cvtpm/vtpm/protocol_vtpm.h"
#include "cvtpm/vtpm/svsm_abi.h"
#include "cvtpm/vtpm/tpm_engine.h"

namespace cvtpm::vtpm {

struct ServiceConfig {
  std::uint32_t pvalidate_budget_pages = CoreConfig{}.pvalidate_budget_pages;
};

enum class ServeOutcome : std::uint8_t {
  kServed,         // call_pending was set: cleared, call dispatched, registers updated
  kNotPending,     // call_pending was clear: nothing done, registers untouched
  kNoCallingArea,  // the calling area is not guest memory: nothing done
};

class Dispatcher {
 public:
  // `engine` is null when there is no vTPM. Platform and engine must outlive the dispatcher.
  Dispatcher(Platform& platform, TpmEngine* engine, const ServiceConfig& config = {});
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // The persistent state's evidence for the attestation protocol (AttestProtocol::
  // set_state_evidence): null, the default, attests an ephemeral TPM.
  void set_state_evidence(const StateEvidence* evidence) { attest_.set_state_evidence(evidence); }

  void dispatch(const CallContext& context, SvsmRegisters& regs);
  ServeOutcome serve_pending(const CallContext& context, SvsmRegisters& regs);

 private:
  static CoreConfig core_config(const ServiceConfig& config, bool vtpm_present);
  void route(const CallContext& context, SvsmRegisters& regs);

  GuestMemory memory_;
  CoreProtocol core_;
  AttestProtocol attest_;
  VtpmProtocol vtpm_;
};

}  // namespace cvtpm::vtpm
