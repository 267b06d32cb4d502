// What the guest OS (OVMF, then Linux) does at the guest VMPL, written from their sources'
// behaviour (docs/snp-platform.md cites them), against the model:
//   - SVSM discovery from the secrets page (OVMF AmdSvsmLib, Linux svsm_setup_ca);
//   - SVSM calls through the calling area with either transport: the GHCB MSR protocol "run
//     VMPL 0" (OVMF, early Linux) or the GHCB page (Linux): call_pending = 1, registers, VMGEXIT,
//     the response checked, call_pending exchanged with 0 and required to be 0, INCOMPLETE and
//     BUSY retried;
//   - PVALIDATE lists in the calling area, the vTPM driver (Linux tpm_svsm), attestation (Linux
//     configfs-tsm through sev_svsm_report_new), starting an AP (CREATE_VCPU, then AP creation
//     through the guest's own GHCB, as Linux's wakeup_cpu_via_vmgexit does).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <vector>

#include "cvtpm/formats/guid.h"
#include "cvtpm/vtpm/svsm_abi.h"
#include "model/guest_cpu.h"

namespace cvtpm::snp::model {

// The guest saw the SVSM misbehave (Linux: -EINVAL; OVMF: terminates).
class GuestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SvsmDiscovery {
  bool present = false;  // svsm_size != 0
  std::uint64_t base = 0, size = 0, caa = 0;
  std::uint32_t max_version = 0;
  std::uint8_t vmpl = 0;
  std::array<std::array<std::uint8_t, 32>, 4> vmpck{};
};
SvsmDiscovery read_secrets(GuestCpu& cpu, std::uint64_t secrets_gpa);

enum class Transport { kMsr, kGhcb };

class GuestSvsm {
 public:
  GuestSvsm(GuestCpu& cpu, std::uint64_t caa_gpa) : cpu_(cpu), caa_(caa_gpa) {}

  // The guest's GHCB for the page transport: a guest RAM page, not validated, made shared and
  // registered (Linux's per-CPU GHCB set-up).
  void setup_ghcb(std::uint64_t gpa);
  void use_transport(Transport t) { transport_ = t; }

  // svsm_perform_call_protocol: retries INCOMPLETE and BUSY (at most `max_retries` times).
  vtpm::SvsmRegisters call(const vtpm::SvsmRegisters& in, unsigned max_retries = 64);
  struct Round {
    vtpm::SvsmRegisters out;
    std::uint8_t call_pending_after;  // what the guest's xchg found
    bool transport_ok;                // the run-VMPL response said success
  };
  // One VMGEXIT to the SVSM without the checks (tests of the handshake itself).
  Round call_once(const vtpm::SvsmRegisters& in, bool set_pending = true);

  std::uint64_t caa() const { return caa_; }
  void set_caa(std::uint64_t caa) { caa_ = caa; }
  GuestCpu& cpu() { return cpu_; }
  std::uint64_t ghcb() const { return ghcb_; }
  unsigned calls() const { return calls_; }

  // The guest's own GHCB exits (not SVSM calls): AP creation at its VMPL.
  void ap_create(std::uint32_t apic_id, std::uint64_t vmsa_gpa, std::uint64_t sev_features);
  // A page state change of one page through the GHCB MSR protocol (Linux's
  // early_set_pages_state): the hypervisor makes the page shared or private, unvalidated.
  void page_state_change(std::uint64_t gpa, bool shared);
  // An offline CPU: Linux's sev_es_ap_hlt_loop (arch/x86/coco/sev/core.c) waits in the
  // hypervisor with the GHCB exit AP_HLT_LOOP until a wake-up; when the CPU comes back online
  // Linux gives it a new VMSA instead, and this context never resumes.
  void ap_hlt_loop();

 private:
  bool vmgexit_to_svsm();

  GuestCpu& cpu_;
  std::uint64_t caa_;
  std::uint64_t ghcb_ = 0;
  Transport transport_ = Transport::kMsr;
  unsigned calls_ = 0;
};

// PVALIDATE through the SVSM with the list in the calling area's buffer (OVMF and Linux put it
// there). Entries as the core protocol defines them.
vtpm::SvsmResult svsm_pvalidate(GuestSvsm& svsm, std::span<const std::uint64_t> entries);
std::uint64_t pvalidate_entry(std::uint64_t gpa, bool validate, bool large = false,
                              bool ignore_cf = false);
// Validates [gpa, gpa + pages * 4096) through the SVSM (4 KiB entries); throws on failure.
void accept_memory(GuestSvsm& svsm, std::uint64_t gpa, std::size_t pages);

// Linux's tpm_svsm driver on one private page.
class GuestTpm {
 public:
  GuestTpm(GuestSvsm& svsm, std::uint64_t buffer_gpa) : svsm_(svsm), buffer_(buffer_gpa) {}
  bool probe();  // SVSM_VTPM_QUERY offers TPM_SEND_COMMAND
  struct Exchange {
    vtpm::SvsmResult result;
    std::vector<std::uint8_t> response;
  };
  Exchange transmit(std::span<const std::uint8_t> command, std::uint8_t locality = 0);

 private:
  GuestSvsm& svsm_;
  std::uint64_t buffer_;
};

// Linux's SVSM attestation (sev_svsm_report_new): the operation in the calling area, buffers
// grown and the call retried on INVALID_PARAMETER.
struct GuestEvidence {
  vtpm::SvsmResult result;
  std::vector<std::uint8_t> report, manifest, certificates;
};
GuestEvidence svsm_attest(GuestSvsm& svsm, std::uint64_t scratch_gpa, std::uint64_t scratch_size,
                          std::span<const std::uint8_t, 64> nonce,
                          const std::optional<formats::Guid>& service);

}  // namespace cvtpm::snp::model
