// The SVSM's loop on one vCPU: run the guest VMPL on it (GHCB MSR protocol "run VMPL"), and when
// the guest comes back with a VMGEXIT, serve the call waiting in its calling area through the
// vTPM service's dispatcher and put the results into the guest's VMSA registers — exactly the
// handshake Linux and OVMF expect: the call is served only if call_pending was set, the SVSM
// clears it (an atomic exchange, the mirror of the guest's xchg), and RAX, RCX, RDX, R8 and R9
// come back in the VMSA. EFER.SVME of the guest VMSA is set only while the guest runs, so the
// hypervisor cannot enter it while the SVSM works on it. Freestanding.
#pragma once

#include <cstdint>

#include "cvtpm/snp/ghcb_client.h"
#include "cvtpm/snp/hardware.h"
#include "cvtpm/snp/snp_platform.h"
#include "cvtpm/snp/status.h"
#include "cvtpm/vtpm/dispatcher.h"

namespace cvtpm::snp {

class RequestLoop {
 public:
  RequestLoop(SnpPlatform& platform, vtpm::Dispatcher& dispatcher, SnpHardware& hardware,
              GhcbClient& ghcb, std::uint32_t apic_id)
      : platform_(platform),
        dispatcher_(dispatcher),
        hardware_(hardware),
        ghcb_(ghcb),
        apic_id_(apic_id) {}

  enum class Step : std::uint8_t {
    kServed,     // a call was served and its results written to the VMSA
    kNoCall,     // the guest came back without a pending call (or not by VMGEXIT)
    kNoGuest,    // this vCPU has no guest VMSA (yet, or any more)
    kRunFailed,  // the hypervisor did not run the guest VMPL (see last_error())
  };

  // One round: enter the guest VMPL, and serve what it brought back.
  Step run_once();
  const SnpError& last_error() const { return last_error_; }
  std::uint64_t calls_served() const { return calls_served_; }

 private:
  SnpPlatform& platform_;
  vtpm::Dispatcher& dispatcher_;
  SnpHardware& hardware_;
  GhcbClient& ghcb_;
  std::uint32_t apic_id_;
  SnpError last_error_{"none"};
  std::uint64_t calls_served_ = 0;
};

}  // namespace cvtpm::snp
