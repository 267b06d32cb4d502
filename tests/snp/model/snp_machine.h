// A software model of an SEV-SNP guest's machine, for running the firmware's SNP platform on the
// host (docs/snp-model-limits.md says what it does not model). Each rule cites where it comes
// from; "APM" is the AMD64 Architecture Programmer's Manual vol. 2, §15.34-15.36 (SEV, SEV-ES,
// SEV-SNP) unless another volume is named:
//   - guest-physical memory with one RMP entry per 4 KiB page: assigned (private to the guest)
//     or shared, validated, the VMSA flag, 2 MiB entries where the "hypervisor" backs memory
//     with them, and the permissions of VMPL1..3 (VMPL0 has every permission on validated pages);
//   - the rules of the instructions: PVALIDATE only at VMPL0; RMPADJUST only for less privileged
//     VMPLs, only permissions the caller has, the VMSA flag only from VMPL0; page size
//     mismatches; private accesses only to validated pages with the VMPL's permission; shared
//     accesses only to pages the hypervisor owns;
//   - a hypervisor answering the GHCB MSR protocol and the GHCB page protocol (port I/O, MSRs,
//     page state changes, guest requests, AP creation, running a VMPL), with knobs that make it
//     hostile;
//   - vCPUs with one VMSA per VMPL; a VMPL's "program" (the guest OS) runs on its own thread and
//     alternates strictly with VMPL0, as VMGEXIT switches VMPLs;
//   - a PSP stand-in (psp_model.h) for guest requests;
//   - a launch from an IGVM file: the SNP directives populate memory the way QEMU, KVM and the
//     PSP would;
//   - VMPL0's own accesses and the linear addresses of its PVALIDATE and RMPADJUST go through
//     its page tables (model/page_walk.h): the 32-bit entry's boot tables until the firmware
//     switches CR3, then the tables the firmware built in guest memory, walked entry by entry.
//     A VMPL0 access the hardware would fault on is recorded as a fault; at VMPL0 a fault ends
//     the guest (the firmware's handlers panic), so a test that sees one fails.
#pragma once

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cvtpm/formats/igvm/igvm_file.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/snp/hardware.h"
#include "model/page_walk.h"
#include "model/psp_model.h"

namespace cvtpm::snp::model {

struct RmpEntry {
  bool assigned = false;   // private to the guest (else owned by the hypervisor: shared)
  bool validated = false;  // PVALIDATE'd (or validated by the launch)
  bool vmsa = false;       // the page is a VMSA
  bool large = false;      // part of a 2 MiB RMP entry
  std::array<std::uint8_t, 4> permissions{};  // VMPL1..3 (index 0 unused)
};

struct ModelRange {
  std::uint64_t start;
  std::uint64_t end;  // exclusive
};

// A fault the model would have raised (#VC, #NPF, #GP ...). Guest programs get it as an exception;
// the firmware side gets nullptr / an error code and the fault is recorded.
class ModelFault : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The registers of a guest program (what its VMSA holds while it does not run).
struct GuestRegisters {
  std::uint64_t rax = 0, rbx = 0, rcx = 0, rdx = 0, r8 = 0, r9 = 0;
};

class Machine;
class GuestCpu;
using GuestProgram = std::function<void(GuestCpu&)>;

// Hypervisor behaviour a test can change to play a hostile or broken host.
struct HypervisorConfig {
  std::uint16_t ghcb_min_version = 1;
  std::uint16_t ghcb_max_version = 2;
  std::uint8_t claimed_cbit = 51;  // what the SEV information response says
  std::uint64_t features = 0x23;   // SNP | AP creation | multi-VMPL
  bool refuse_page_state_change = false;
  unsigned psc_entries_per_exit = 1000;  // processes at most this many PSC entries per VMGEXIT
  bool refuse_ghcb_registration = false;
  unsigned guest_request_busy = 0;  // answer "busy" this many times before passing requests on
  bool guest_request_drop = false;  // do not pass requests on, report a firmware error
  bool guest_request_corrupt_response = false;  // flip a bit of the ciphertext
  bool guest_request_replay_response = false;   // return the previous response again
  bool run_vmpl_fails = false;
};

struct MachineConfig {
  std::vector<ModelRange> ram;             // memory the host backs (page aligned, sorted)
  std::vector<ModelRange> memory_map;      // what the loader reports as RAM (IGVM memory map)
  std::vector<std::uint64_t> large_pages;  // 2 MiB-aligned GPAs backed by 2 MiB RMP entries
  std::uint8_t cbit = 51;
  std::uint32_t vcpu_count = 1;
  std::uint32_t cpu_signature = 0x00A00F11;  // EPYC-Milan
  // INVLPGB/TLBSYNC: whether the processor executes them for the guest, and whether the CPUID
  // page (which the hypervisor fills) reports them (CPUID 0x80000008 EBX[3]).
  bool invlpgb = true;
  bool cpuid_reports_invlpgb = true;
  HypervisorConfig hypervisor;
};

// A model vCPU: one VMSA and one GHCB MSR per VMPL.
struct ModelVcpu {
  std::uint32_t apic_id = 0;
  std::array<std::uint64_t, 4> ghcb_msr{};
  std::array<std::uint64_t, 4> registered_ghcb{};
  std::array<std::uint64_t, 4> vmsa_gpa{};  // registered through AP creation (0: none)
  std::array<std::uint64_t, 4> vmsa_features{};
  std::array<GuestProgram, 4> programs;
  // Per-VMPL program execution state.
  struct Runner;
  std::array<std::unique_ptr<Runner>, 4> runners;
  std::uint64_t cr4 = 0x6E0;  // PAE | MCE | PGE | OSFXSR | OSXMMEXCPT
  // VMPL0's CR3 (without the C-bit): 0 while the 32-bit entry's boot tables are active.
  std::uint64_t cr3 = 0;
  // Per VMPL: translations of guest pages this vCPU's TLB holds, with the VMPL permissions the
  // RMP check granted when the entry was filled (APM §15.36.15: after RMPADJUST takes
  // permissions away, vCPUs keep using such entries until their TLB is invalidated).
  std::array<std::map<std::uint64_t, std::uint8_t>, 4> tlb;
  // Per VMPL: AP creation gave this vCPU a new VMSA while its program waited in the AP halt
  // loop; the next run starts the program afresh on the new VMSA (Linux's AP starts at its
  // trampoline).
  std::array<bool, 4> restart{};
};

class Machine {
 public:
  explicit Machine(MachineConfig config);
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // --- Launch -----------------------------------------------------------------------------------
  struct Launch {
    std::uint32_t entry_eax = 0;
    std::uint64_t boot_params_gpa = 0;
    std::uint64_t vmsa_sev_features = 0;
    std::uint64_t guest_policy = 0;
    std::vector<std::uint64_t> launch_validated;  // pages validated by the launch
  };
  // Populates memory from the SNP directives of `file` (mask = the SNP platform's): page data,
  // the PSP-written secrets and CPUID pages, loader-filled parameter areas. Every other RAM page
  // starts assigned to the guest but not validated (KVM's guest_memfd default).
  Launch launch(const formats::igvm::IgvmFile& file, std::span<const std::uint8_t, 48> measurement);

  // --- Memory -----------------------------------------------------------------------------------
  bool is_ram(std::uint64_t gpa) const;
  RmpEntry& rmp(std::uint64_t gpa);
  const RmpEntry& rmp(std::uint64_t gpa) const;
  // The page's bytes as stored (no checks: for tests and the "hardware" itself).
  std::uint8_t* raw(std::uint64_t gpa);
  // An access by software at `vmpl` (from the firmware's mappings when vmpl == 0): nullptr and a
  // recorded fault if the RMP forbids it. Within one page.
  std::uint8_t* access(std::uint64_t gpa, std::size_t size, std::uint8_t vmpl,
                       Encryption encryption, bool write);
  // --- VMPL0's page tables --------------------------------------------------------------------
  // The translation of `linear` for VMPL0 of `apic_id`. Before the firmware switches CR3: the
  // boot tables of arch/x86_64/entry.S — the low 4 GiB identity mapped with 2 MiB pages, every
  // entry with the C-bit except pages the firmware shared (set_boot_mapping). After: a walk of
  // the firmware's tables in guest memory.
  WalkResult translate(std::uint32_t apic_id, std::uint64_t linear, bool write);
  // The boot tables' C-bit for one 4 KiB page (the firmware splits the covering 2 MiB page).
  void set_boot_mapping(std::uint64_t linear, Encryption encryption);
  // Whether VMPL0 of vCPU 0 reaches the page at identity address `gpa` without the C-bit.
  bool firmware_maps_shared(std::uint64_t gpa);
  // An access by VMPL0 of `apic_id` at a linear address: translated, the C-bit of the mapping
  // checked against what the firmware expects, then the RMP rules of access().
  std::uint8_t* vmpl0_access(std::uint32_t apic_id, std::uint64_t linear, std::size_t size,
                             Encryption expected, bool write);
  // The same for the firmware's guarded copies (SnpHardware::read_guarded): an RMP fault is
  // survived — nullptr, and recorded in survived_faults(), not faults() — as the firmware's
  // fix-up on hardware survives the #VC. A missing translation is still a fault: the guest window
  // maps every guest page, so it would be a firmware bug.
  std::uint8_t* vmpl0_guarded(std::uint32_t apic_id, std::uint64_t linear, std::size_t size,
                              bool write);
  const std::vector<std::string>& survived_faults() const { return survived_faults_; }
  // --- TLBs ------------------------------------------------------------------------------------
  // A guest program's access (VMPL > 0) on vCPU `apic_id`: a TLB hit uses the permissions cached
  // when it was filled; a miss checks the RMP (access()) and fills the TLB.
  std::uint8_t* guest_access(std::uint32_t apic_id, std::uint64_t gpa, std::size_t size,
                             std::uint8_t vmpl, Encryption encryption, bool write);
  // INVLPGB + TLBSYNC from `apic_id`: every vCPU's translations of the guest are gone when it
  // returns (COCONUT-SVSM kernel/src/sev/tlb.rs relies on this). Without INVLPGB: #UD/#VC, a
  // fault at VMPL0.
  void invlpgb_tlbsync(std::uint32_t apic_id);
  std::uint64_t tlb_flushes() const { return tlb_flushes_; }

  // --- Instructions -----------------------------------------------------------------------------
  // At a guest-physical address (a guest program's view: its page tables are not modelled).
  PvalidateOutcome pvalidate(std::uint8_t vmpl, std::uint64_t gpa, PageSize size, bool validate);
  std::uint32_t rmpadjust(std::uint8_t vmpl, std::uint64_t gpa, PageSize size,
                          std::uint64_t attributes);
  // At VMPL0 of `apic_id`: the linear address translated through its page tables first.
  PvalidateOutcome vmpl0_pvalidate(std::uint32_t apic_id, std::uint64_t linear, PageSize size,
                                   bool validate);
  std::uint32_t vmpl0_rmpadjust(std::uint32_t apic_id, std::uint64_t linear, PageSize size,
                                std::uint64_t attributes);

  // --- vCPUs and the hypervisor -----------------------------------------------------------------
  ModelVcpu& vcpu(std::uint32_t apic_id);
  bool has_vcpu(std::uint32_t apic_id) const { return vcpus_.count(apic_id) != 0; }
  // VMGEXIT by software on `apic_id` running at `vmpl`.
  void vmgexit(std::uint32_t apic_id, std::uint8_t vmpl);
  // The program a VMPL runs when VMPL0 of that vCPU switches to it.
  void set_program(std::uint32_t apic_id, std::uint8_t vmpl, GuestProgram program);
  // Whether the program of (apic_id, vmpl) has returned; its failure message if it threw.
  bool program_finished(std::uint32_t apic_id, std::uint8_t vmpl);
  // Whether the program of (apic_id, vmpl) waits in the AP halt loop (GHCB exit kApHltLoop).
  bool program_halted(std::uint32_t apic_id, std::uint8_t vmpl);

  // --- Several vCPUs at once -----------------------------------------------------------------
  // Tests that run vCPUs on threads of their own let one vCPU act at a time: whoever runs a
  // vCPU's VMPL0 code (or drives a guest through it) holds the turn. A VMPL0 context whose guest
  // waits in the AP halt loop gives the turn up inside run_vmpl until AP creation or destruction
  // for that vCPU wakes it, as the hardware keeps that VMPL0 context inside its VMGEXIT.
  void acquire_turn();
  void release_turn();
  // Ends the test's vCPU threads: every VMPL0 context waiting in run_vmpl returns (run failed).
  void stop_vcpus();
  // Says that a processor runs the VMSA at `gpa` right now (between VMRUN and #VMEXIT): for tests
  // of what happens to a VMSA another physical CPU is executing, which the model, running one
  // vCPU at a time, never produces on its own.
  void set_vmsa_in_use(std::uint64_t gpa, bool in_use) {
    if (in_use) {
      vmsas_in_use_.insert(gpa);
    } else {
      vmsas_in_use_.erase(gpa);
    }
  }
  std::string program_failure(std::uint32_t apic_id, std::uint8_t vmpl);

  // --- Events the hypervisor injects -----------------------------------------------------------
  // An exception the hypervisor injects into VMPL0 of a vCPU (EVENTINJ on the next VMRUN), as
  // it can when that VMSA lacks Restricted Injection.
  struct Injection {
    std::uint8_t vector = 29;
    std::uint64_t error_code = 0;  // #VC: the exit code it claims
    // The bytes at the interrupted RIP and the registers there, as the test says they are (the
    // model does not run the firmware's instructions).
    std::vector<std::uint8_t> code;
    std::uint64_t rax = 0, rcx = 0, rdx = 0;
  };
  // Queues `injection` for VMPL0 of `apic_id`; it is delivered when that VMPL0 next resumes
  // from a VMGEXIT (take_injection).
  void inject(std::uint32_t apic_id, Injection injection);
  // The next queued injection for VMPL0 of `apic_id`, if the VMRUN that delivers it succeeds:
  // with Restricted Injection (SEV_FEATURES bit 3) only #HV (vector 28) can be injected, as an
  // exception without error code; VMRUN with any other event fails with VMEXIT_INVALID (APM
  // §15.36.16), so the event is never delivered (counted in refused_injections()).
  std::optional<Injection> take_injection(std::uint32_t apic_id);
  std::size_t refused_injections() const { return refused_injections_; }

  // --- Observations ------------------------------------------------------------------------------
  const std::vector<std::string>& faults() const { return faults_; }
  void clear_faults() { faults_.clear(); }
  void drop_faults_after(std::size_t count) { faults_.resize(std::min(count, faults_.size())); }
  const std::string& console() const { return console_; }
  // A device behind the hypervisor's port I/O (an IOIO exit), tried before the built-in COM1
  // console: returns whether it handles `port` (for an IN, setting `value`).
  std::function<bool(std::uint16_t port, bool in, unsigned size, std::uint64_t& value)> io_device;
  std::optional<std::uint64_t> termination() const { return termination_; }
  HypervisorConfig& hypervisor() { return config_.hypervisor; }
  const MachineConfig& config() const { return config_; }
  PspModel& psp() { return *psp_; }
  std::uint64_t vmgexits() const { return vmgexits_; }
  // SEV_FEATURES of the launch VMSA (what SEV_STATUS reports).
  std::uint64_t vmpl0_sev_features() const { return vmpl0_sev_features_; }
  // Every page the model knows (RAM touched so far), for invariant checks.
  std::vector<std::uint64_t> pages() const;

  // Hypervisor reads of guest memory: shared pages as they are, private pages as ciphertext.
  std::vector<std::uint8_t> hypervisor_read(std::uint64_t gpa, std::size_t size);

  void record_fault(const std::string& what);

 private:
  struct Page {
    std::array<std::uint8_t, 4096> data{};
    RmpEntry rmp;
  };
  Page& page(std::uint64_t gpa);
  const Page* find_page(std::uint64_t gpa) const;
  bool large_backed(std::uint64_t gpa) const;
  void rmp_update(std::uint64_t gpa, bool assign);
  void psmash(std::uint64_t gpa);

  void handle_msr_protocol(ModelVcpu& v, std::uint8_t vmpl);
  void handle_ghcb_page(ModelVcpu& v, std::uint8_t vmpl);
  void handle_psc(ModelVcpu& v, std::uint8_t vmpl, std::uint8_t* ghcb, std::uint64_t scratch);
  void handle_guest_request(std::uint8_t* ghcb, std::uint64_t request, std::uint64_t response);
  void handle_ap_creation(ModelVcpu& v, std::uint8_t vmpl, std::uint8_t* ghcb, std::uint64_t info1,
                          std::uint64_t info2);
  // Runs `target` on `v` from VMPL0 until it asks for VMPL0 again; false if the VMSA is unusable.
  bool run_vmpl(ModelVcpu& v, std::uint8_t target);
  // Ends the program of (v, vmpl) (it throws ProgramStopped where it waits) and forgets it.
  void stop_program(ModelVcpu& v, std::uint8_t vmpl);
  // A guest program asks for VMPL0: saves its registers in its VMSA and waits to be resumed.
  void switch_to_vmpl0(ModelVcpu& v, std::uint8_t vmpl);
  formats::snp::Vmsa* vmsa_of(ModelVcpu& v, std::uint8_t vmpl);
  void io(std::uint16_t port, bool in, unsigned size, std::uint64_t& value);

  MachineConfig config_;
  std::map<std::uint64_t, std::unique_ptr<Page>> pages_;
  std::set<std::uint64_t> boot_shared_;  // boot-table pages without the C-bit
  std::map<std::uint32_t, std::unique_ptr<ModelVcpu>> vcpus_;
  std::unique_ptr<PspModel> psp_;
  std::vector<std::string> faults_;
  std::vector<std::string> survived_faults_;
  std::string console_;
  std::optional<std::uint64_t> termination_;
  std::map<std::uint32_t, std::uint64_t> msrs_;
  std::uint64_t tlb_flushes_ = 0;
  std::mutex turn_mutex_;
  std::condition_variable turn_cv_;  // the turn, and halted VMPL0 contexts waiting for AP creation
  bool turn_taken_ = false;
  bool stopping_ = false;
  // VMSAs between VMRUN and #VMEXIT (APM §15.36.12 "in use").
  std::set<std::uint64_t> vmsas_in_use_;
  std::uint64_t vmgexits_ = 0;
  std::uint64_t vmpl0_sev_features_ = 1;
  std::vector<std::uint8_t> last_guest_response_;
  std::map<std::uint32_t, std::vector<Injection>> injections_;
  std::size_t refused_injections_ = 0;

  friend class GuestCpu;
};

}  // namespace cvtpm::snp::model
