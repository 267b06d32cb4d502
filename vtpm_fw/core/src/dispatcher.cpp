#include "cvtpm/vtpm/dispatcher.h"

#include <cstddef>

namespace cvtpm::vtpm {

Dispatcher::Dispatcher(Platform& platform, TpmEngine* engine, const ServiceConfig& config)
    : memory_(platform),
      core_(platform, memory_, core_config(config, engine != nullptr)),
      attest_(platform, memory_, engine),
      vtpm_(engine, memory_) {}

// Inlined into both entry points: serve_pending() is every guest call's path.
[[gnu::always_inline]] inline void Dispatcher::route(const CallContext& context,
                                                     SvsmRegisters& regs) {
  const auto protocol = static_cast<std::uint32_t>(regs.rax >> 32);
  const auto call = static_cast<std::uint32_t>(regs.rax);
  SvsmResult result = SvsmResult::kUnsupportedProtocol;
  switch (protocol) {
    case static_cast<std::uint32_t>(Protocol::kCore):
      result = core_.handle(call, context, regs);
      break;
    case static_cast<std::uint32_t>(Protocol::kAttestation):
      result = attest_.handle(call, regs);
      break;
    case static_cast<std::uint32_t>(Protocol::kVtpm):
      result = vtpm_.handle(call, regs);
      break;
    default:
      break;
  }
  regs.rax = static_cast<std::uint64_t>(result);
}

CoreConfig Dispatcher::core_config(const ServiceConfig& config, bool vtpm_present) {
  CoreConfig core;
  core.pvalidate_budget_pages = config.pvalidate_budget_pages;
  core.vtpm_present = vtpm_present;
  return core;
}

void Dispatcher::dispatch(const CallContext& context, SvsmRegisters& regs) {
  route(context, regs);
}

ServeOutcome Dispatcher::serve_pending(const CallContext& context, SvsmRegisters& regs) {
  // Read-and-clear in one atomic step, like the guest's xchg on the other side.
  std::uint8_t pending = 0;
  if (memory_.exchange_byte(context.caa_gpa + offsetof(CallingAreaHeader, call_pending), 0,
                            pending) != SvsmResult::kSuccess) {
    return ServeOutcome::kNoCallingArea;
  }
  if (pending == 0) return ServeOutcome::kNotPending;
  route(context, regs);
  return ServeOutcome::kServed;
}

}  // namespace cvtpm::vtpm
