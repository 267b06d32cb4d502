#include "model/snp_machine.h"

#include <algorithm>
#include <cstring>
#include <variant>

#include "cvtpm/formats/igvm/igvm_defs.h"
#include "cvtpm/formats/snp/cpuid_page.h"
#include "cvtpm/formats/snp/ghcb.h"
#include "cvtpm/formats/snp/ghcb_msr_protocol.h"
#include "cvtpm/formats/snp/id_block.h"
#include "cvtpm/formats/snp/rmp_instructions.h"
#include "cvtpm/formats/snp/secrets_page.h"
#include "cvtpm/measure/snp_keys.h"
#include "model/guest_cpu.h"

namespace cvtpm::snp::model {

namespace fs = formats::snp;
namespace igvm = formats::igvm;
namespace msr = formats::snp::ghcb_msr;

namespace {

constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kLarge = 2 * 1024 * 1024;
constexpr std::uint8_t kStaleContents = 0xCC;  // what a freshly assigned private page "holds"

std::string hex(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// Reads a GHCB field if its valid bit is set.
bool ghcb_get(const std::uint8_t* ghcb, std::size_t offset, std::uint64_t& value) {
  const std::size_t bit = offset / 8;
  std::uint64_t word;
  std::memcpy(&word, ghcb + offsetof(fs::Ghcb, valid_bitmap) + bit / 64 * 8, 8);
  if ((word >> (bit % 64) & 1) == 0) return false;
  std::memcpy(&value, ghcb + offset, 8);
  return true;
}

void ghcb_set(std::uint8_t* ghcb, std::size_t offset, std::uint64_t value) {
  std::memcpy(ghcb + offset, &value, 8);
  const std::size_t bit = offset / 8;
  std::uint64_t word;
  std::memcpy(&word, ghcb + offsetof(fs::Ghcb, valid_bitmap) + bit / 64 * 8, 8);
  word |= std::uint64_t{1} << (bit % 64);
  std::memcpy(ghcb + offsetof(fs::Ghcb, valid_bitmap) + bit / 64 * 8, &word, 8);
}

// The host CPU the PSP checks the CPUID page against: an EPYC-Milan-like processor with the
// features the firmware needs and SEV-SNP with the configured C-bit.
fs::CpuidFunction host_cpuid(std::uint32_t leaf, std::uint32_t subleaf, std::uint32_t signature,
                             std::uint8_t cbit, bool invlpgb) {
  fs::CpuidFunction f{};
  f.eax_in = leaf;
  f.ecx_in = subleaf;
  switch (leaf) {
    case 0x0:
      f.eax = 0x10;
      f.ebx = 0x68747541;  // "AuthenticAMD"
      f.edx = 0x69746E65;
      f.ecx = 0x444D4163;
      break;
    case 0x1:
      f.eax = signature;
      f.ecx = (1u << 0) | (1u << 9) | (1u << 19) | (1u << 20) | (1u << 23) | (1u << 25) |
              (1u << 26) | (1u << 27) | (1u << 30);  // SSE3 SSSE3 SSE4.1/2 POPCNT AES XSAVE
                                                     // OSXSAVE(from the host's CR4) RDRAND
      f.edx = (1u << 0) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 15) | (1u << 23) |
              (1u << 24) | (1u << 25) | (1u << 26);  // FPU TSC MSR PAE CX8 CMOV
                                                     // MMX FXSR SSE SSE2
      break;
    case 0x7:
      if (subleaf == 0) {
        f.ebx = (1u << 3) | (1u << 8) | (1u << 18) | (1u << 19);  // BMI1 BMI2 RDSEED ADX
        f.ecx = 1u << 4;                                          // OSPKE (host CR4)
      }
      break;
    case 0x8000'0000:
      f.eax = 0x8000'0021;
      break;
    case 0x8000'0001:
      f.edx = (1u << 20) | (1u << 29);  // NX LM
      break;
    case 0x8000'0007:
      f.edx = 1u << 8;  // invariant TSC
      break;
    case 0x8000'0008:
      f.eax = 0x3030;
      if (invlpgb) f.ebx = 1u << 3;  // INVLPGB/TLBSYNC
      break;
    case 0x8000'001F:
      f.eax = (1u << 0) | (1u << 1) | (1u << 3) | (1u << 4);  // SME SEV SEV-ES SEV-SNP
      f.ebx = cbit | (1u << 6);                               // C-bit, 1 reduced address bit
      f.ecx = 509;
      break;
    default:
      break;
  }
  return f;
}

}  // namespace

// A guest program's thread, alternating strictly with VMPL0 of its vCPU.
struct ModelVcpu::Runner {
  std::thread thread;
  std::mutex mutex;
  std::condition_variable cv;
  bool guest_turn = false;
  bool started = false;
  bool finished = false;
  bool stop = false;
  bool halted = false;  // the program waits in the AP halt loop
  std::string failure;
  std::unique_ptr<GuestCpu> cpu;
};

namespace {
struct ProgramStopped {};
}  // namespace

Machine::Machine(MachineConfig config)
    : config_(std::move(config)), psp_(std::make_unique<PspModel>()) {
  for (std::uint32_t apic = 0; apic < config_.vcpu_count; ++apic) {
    auto v = std::make_unique<ModelVcpu>();
    v->apic_id = apic;
    vcpus_[apic] = std::move(v);
  }
}

Machine::~Machine() {
  for (auto& [apic, v] : vcpus_) {
    for (auto& runner : v->runners) {
      if (!runner || !runner->started) continue;
      {
        std::lock_guard lock(runner->mutex);
        runner->stop = true;
        runner->guest_turn = true;
      }
      runner->cv.notify_all();
      if (runner->thread.joinable()) runner->thread.join();
    }
  }
}

void Machine::record_fault(const std::string& what) {
  faults_.push_back(what);
}

bool Machine::is_ram(std::uint64_t gpa) const {
  return std::any_of(config_.ram.begin(), config_.ram.end(),
                     [gpa](const ModelRange& r) { return gpa >= r.start && gpa < r.end; });
}

bool Machine::large_backed(std::uint64_t gpa) const {
  return std::any_of(config_.large_pages.begin(), config_.large_pages.end(),
                     [gpa](std::uint64_t l) { return gpa >= l && gpa < l + kLarge; });
}

Machine::Page& Machine::page(std::uint64_t gpa) {
  const std::uint64_t base = gpa & ~(kPage - 1);
  auto it = pages_.find(base);
  if (it != pages_.end()) return *it->second;
  if (!is_ram(base)) throw std::logic_error("model: no RAM at " + hex(base));
  auto p = std::make_unique<Page>();
  // Memory of a new SNP guest is private (guest_memfd) and not validated.
  p->rmp.assigned = true;
  p->rmp.large = large_backed(base);
  p->data.fill(kStaleContents);
  Page& ref = *p;
  pages_[base] = std::move(p);
  return ref;
}

const Machine::Page* Machine::find_page(std::uint64_t gpa) const {
  auto it = pages_.find(gpa & ~(kPage - 1));
  return it == pages_.end() ? nullptr : it->second.get();
}

RmpEntry& Machine::rmp(std::uint64_t gpa) {
  return page(gpa).rmp;
}

const RmpEntry& Machine::rmp(std::uint64_t gpa) const {
  static const RmpEntry kUntouched = [] {
    RmpEntry e;
    e.assigned = true;
    return e;
  }();
  const Page* p = find_page(gpa);
  return p == nullptr ? kUntouched : p->rmp;
}

std::uint8_t* Machine::raw(std::uint64_t gpa) {
  return page(gpa).data.data() + (gpa & (kPage - 1));
}

std::vector<std::uint64_t> Machine::pages() const {
  std::vector<std::uint64_t> out;
  out.reserve(pages_.size());
  for (const auto& [gpa, p] : pages_) out.push_back(gpa);
  return out;
}

std::vector<std::uint8_t> Machine::hypervisor_read(std::uint64_t gpa, std::size_t size) {
  std::vector<std::uint8_t> out(size);
  for (std::size_t i = 0; i < size; ++i) {
    Page& p = page(gpa + i);
    const std::uint8_t b = p.data[(gpa + i) & (kPage - 1)];
    out[i] = p.rmp.assigned ? static_cast<std::uint8_t>(b ^ 0x5A ^ (i * 7)) : b;
  }
  return out;
}

void Machine::set_boot_mapping(std::uint64_t linear, Encryption encryption) {
  if (encryption == Encryption::kShared) {
    boot_shared_.insert(linear & ~(kPage - 1));
  } else {
    boot_shared_.erase(linear & ~(kPage - 1));
  }
}

WalkResult Machine::translate(std::uint32_t apic_id, std::uint64_t linear, bool write) {
  const std::uint64_t cr3 = vcpu(apic_id).cr3;
  if (cr3 == 0) {
    // arch/x86_64/entry.S: PML4[0] -> PDPT[0..3] -> 2048 x 2 MiB identity pages, C-bit in every
    // entry; the firmware clears it for single pages (page_encryption.cpp splits the 2 MiB page).
    WalkResult r;
    if (linear >= (std::uint64_t{4} << 30)) {
      r.fault = "#PF: " + hex(linear) + " is above what the boot page tables map (4 GiB)";
      return r;
    }
    r.ok = true;
    r.gpa = linear;
    r.page_size = boot_shared_.count(linear & ~(kPage - 1)) != 0 ? kPage : kLarge;
    r.encrypted = boot_shared_.count(linear & ~(kPage - 1)) == 0;
    return r;
  }
  // Page-table pages are read privately (APM §15.34.5) and so need an assigned, validated page
  // (APM Table 15-39); VMPL0 has every permission.
  const EntryReader read_entry = [this](std::uint64_t gpa) -> std::optional<std::uint64_t> {
    if (!is_ram(gpa)) return std::nullopt;
    const Page& p = page(gpa);
    if (!p.rmp.assigned || !p.rmp.validated) return std::nullopt;
    std::uint64_t entry;
    std::memcpy(&entry, p.data.data() + (gpa & (kPage - 1)), 8);
    return entry;
  };
  return walk_long_mode(cr3, linear, write, config_.cbit, read_entry);
}

bool Machine::firmware_maps_shared(std::uint64_t gpa) {
  const WalkResult r = translate(0, gpa, false);
  return r.ok && !r.encrypted;
}

std::uint8_t* Machine::vmpl0_access(std::uint32_t apic_id, std::uint64_t linear, std::size_t size,
                                    Encryption expected, bool write) {
  const WalkResult t = translate(apic_id, linear, write);
  if (!t.ok) {
    record_fault("VMPL0 access: " + t.fault);
    return nullptr;
  }
  const Encryption actual = t.encrypted ? Encryption::kPrivate : Encryption::kShared;
  if (actual != expected) {
    record_fault(std::string("VMPL0 ") + (expected == Encryption::kPrivate ? "private" : "shared") +
                 " access to " + hex(linear) + " through a mapping " +
                 (t.encrypted ? "with" : "without") + " the C-bit");
    return nullptr;
  }
  return access(t.gpa, size, 0, actual, write);
}

std::uint8_t* Machine::vmpl0_guarded(std::uint32_t apic_id, std::uint64_t linear, std::size_t size,
                                     bool write) {
  const WalkResult t = translate(apic_id, linear, write);
  if (!t.ok) {
    record_fault("guarded VMPL0 access: " + t.fault);
    return nullptr;
  }
  if (!t.encrypted) {
    record_fault("guarded VMPL0 access to " + hex(linear) + " through a mapping without the C-bit");
    return nullptr;
  }
  if (size == 0 || (t.gpa & (kPage - 1)) + size > kPage || !is_ram(t.gpa)) {
    record_fault("guarded VMPL0 access across a page boundary or outside RAM at " + hex(t.gpa));
    return nullptr;
  }
  Page& p = page(t.gpa);
  if (!p.rmp.assigned || !p.rmp.validated) {
    // APM Table 15-39: a private access to a page that is not validated raises #VC
    // PAGE_NOT_VALIDATED (0x404); to a page the hypervisor owns, #VMEXIT(NPF), which KVM answers
    // by converting the page back to private (guest_memfd), and the retried access raises the
    // same #VC. The firmware's fix-up turns it into a failed copy.
    survived_faults_.push_back("#VC PAGE_NOT_VALIDATED at VMPL0 for " + hex(t.gpa) +
                               (p.rmp.assigned ? "" : " (a shared page)") + ", survived");
    return nullptr;
  }
  return p.data.data() + (t.gpa & (kPage - 1));
}

std::uint8_t* Machine::access(std::uint64_t gpa, std::size_t size, std::uint8_t vmpl,
                              Encryption encryption, bool write) {
  if (size == 0 || (gpa & (kPage - 1)) + size > kPage) {
    record_fault("access across a page boundary at " + hex(gpa));
    return nullptr;
  }
  if (!is_ram(gpa)) {
    record_fault("access to non-RAM " + hex(gpa));
    return nullptr;
  }
  Page& p = page(gpa);
  if (encryption == Encryption::kPrivate) {
    if (!p.rmp.assigned || !p.rmp.validated) {
      record_fault("#VC: VMPL" + std::to_string(vmpl) + " private access to a page that is not " +
                   "validated: " + hex(gpa));
      return nullptr;
    }
    if (vmpl > 0) {
      const std::uint8_t need = write ? fs::vmpl_permission::kWrite : fs::vmpl_permission::kRead;
      if ((p.rmp.permissions[vmpl] & need) == 0) {
        record_fault("#NPF: VMPL" + std::to_string(vmpl) + " has no " + (write ? "write" : "read") +
                     " permission on " + hex(gpa));
        return nullptr;
      }
    }
  } else if (p.rmp.assigned) {
    record_fault("#NPF: VMPL" + std::to_string(vmpl) + " shared access to a private page " +
                 hex(gpa));
    return nullptr;
  }
  return p.data.data() + (gpa & (kPage - 1));
}

std::uint8_t* Machine::guest_access(std::uint32_t apic_id, std::uint64_t gpa, std::size_t size,
                                    std::uint8_t vmpl, Encryption encryption, bool write) {
  ModelVcpu& v = vcpu(apic_id);
  const std::uint64_t base = gpa & ~(kPage - 1);
  if (encryption == Encryption::kPrivate && vmpl > 0) {
    auto hit = v.tlb[vmpl].find(base);
    const std::uint8_t need = write ? fs::vmpl_permission::kWrite : fs::vmpl_permission::kRead;
    if (hit != v.tlb[vmpl].end() && (hit->second & need) != 0 && is_ram(gpa) &&
        (gpa & (kPage - 1)) + size <= kPage) {
      return page(gpa).data.data() + (gpa & (kPage - 1));
    }
  }
  std::uint8_t* p = access(gpa, size, vmpl, encryption, write);
  if (p != nullptr && encryption == Encryption::kPrivate && vmpl > 0) {
    v.tlb[vmpl][base] = rmp(gpa).permissions[vmpl];
  }
  return p;
}

void Machine::invlpgb_tlbsync(std::uint32_t apic_id) {
  if (!config_.invlpgb) {
    record_fault("INVLPGB at VMPL0 of APIC ID " + std::to_string(apic_id) +
                 ": not available to the guest (#UD, or #VC if the hypervisor intercepts it)");
    return;
  }
  ++tlb_flushes_;
  for (auto& [apic, v] : vcpus_) {
    for (auto& t : v->tlb) t.clear();
  }
}

PvalidateOutcome Machine::pvalidate(std::uint8_t vmpl, std::uint64_t gpa, PageSize size,
                                    bool validate) {
  if (vmpl != 0) {
    record_fault("#GP: PVALIDATE at VMPL" + std::to_string(vmpl));
    return {fs::rmp_result::kFailInput, false};
  }
  const std::uint64_t bytes = size == PageSize::k2M ? kLarge : kPage;
  if ((gpa & (bytes - 1)) != 0 || !is_ram(gpa) || !is_ram(gpa + bytes - 1)) {
    return {fs::rmp_result::kFailInput, false};
  }
  Page& first = page(gpa);
  if (!first.rmp.assigned) return {fs::rmp_result::kFailInput, false};
  // APM §15.36.11, Table 15-40: 2 MiB requested over 4 KiB RMP entries fails with
  // FAIL_SIZEMISMATCH; 4 KiB requested inside a 2 MiB entry is a #VMEXIT(NPF) with SIZEM, which
  // the hypervisor resolves with PSMASH (KVM does) before the guest retries.
  if (size == PageSize::k2M && !first.rmp.large) return {fs::rmp_result::kFailSizeMismatch, false};
  if (size == PageSize::k4K && first.rmp.large) psmash(gpa);
  if (first.rmp.validated == validate) return {fs::rmp_result::kSuccess, false};
  for (std::uint64_t a = gpa; a < gpa + bytes; a += kPage) page(a).rmp.validated = validate;
  return {fs::rmp_result::kSuccess, true};
}

std::uint32_t Machine::rmpadjust(std::uint8_t vmpl, std::uint64_t gpa, PageSize size,
                                 std::uint64_t attributes) {
  const std::uint64_t bytes = size == PageSize::k2M ? kLarge : kPage;
  if ((attributes & fs::kRmpadjustReservedMask) != 0 || (gpa & (bytes - 1)) != 0 || !is_ram(gpa)) {
    return fs::rmp_result::kFailInput;
  }
  const std::uint8_t target = fs::rmpadjust_target_vmpl(attributes);
  const std::uint8_t permissions = fs::rmpadjust_permissions(attributes);
  if (target <= vmpl || target > 3) return fs::rmp_result::kFailPermission;
  Page& first = page(gpa);
  if (!first.rmp.assigned || !first.rmp.validated) return fs::rmp_result::kFailInput;
  // The page-size combinations of PVALIDATE (APM Table 15-40).
  if (size == PageSize::k2M && !first.rmp.large) return fs::rmp_result::kFailSizeMismatch;
  if (size == PageSize::k4K && first.rmp.large) psmash(gpa);
  // Never more than the caller has.
  if (vmpl > 0 && (permissions & ~first.rmp.permissions[vmpl]) != 0) {
    return fs::rmp_result::kFailPermission;
  }
  if ((permissions & ~fs::vmpl_permission::kAll) != 0) return fs::rmp_result::kFailInput;
  // A VMSA between VMRUN and #VMEXIT cannot change (APM §15.36.12 marks it in use; Linux makes
  // the AP leave guest mode before an RMPADJUST clears the VMSA flag, shutdown_all_aps). The
  // result code for RMPADJUST is not documented where the model's sources could read it.
  if (first.rmp.vmsa && vmsas_in_use_.count(gpa) != 0) return fs::rmp_result::kFailInUse;
  for (std::uint64_t a = gpa; a < gpa + bytes; a += kPage) {
    RmpEntry& e = page(a).rmp;
    e.permissions[target] = permissions;
    if (vmpl == 0) e.vmsa = fs::rmpadjust_vmsa(attributes);  // only VMPL0 changes the flag
  }
  return fs::rmp_result::kSuccess;
}

void Machine::psmash(std::uint64_t gpa) {
  // PSMASH keeps every field of the 2 MiB entry, Validated included, in the 512 4 KiB entries
  // (APM §15.36.11).
  const std::uint64_t base = gpa & ~(kLarge - 1);
  for (std::uint64_t a = base; a < base + kLarge; a += kPage) page(a).rmp.large = false;
}

PvalidateOutcome Machine::vmpl0_pvalidate(std::uint32_t apic_id, std::uint64_t linear,
                                          PageSize size, bool validate) {
  // PVALIDATE takes a linear address in RAX (Linux pvalidate(vaddr, ...), COCONUT's pvalidate on
  // a virtual address); an unmapped one faults. edk2 says "If the page table entry is not present
  // then PVALIDATE will #GP" (OvmfPkg/Library/BaseMemEncryptSevLib/X64/
  // PeiSnpSystemRamValidate.c); the APM's text was not available to check the vector.
  const WalkResult t = translate(apic_id, linear, false);
  if (!t.ok) {
    record_fault("PVALIDATE at VMPL0 of a linear address without a translation (#GP/#PF): " +
                 t.fault);
    return {fs::rmp_result::kFailInput, false};
  }
  const std::uint64_t bytes = size == PageSize::k2M ? kLarge : kPage;
  if ((linear & (bytes - 1)) != 0) return {fs::rmp_result::kFailInput, false};
  return pvalidate(0, t.gpa, size, validate);
}

std::uint32_t Machine::vmpl0_rmpadjust(std::uint32_t apic_id, std::uint64_t linear, PageSize size,
                                       std::uint64_t attributes) {
  const WalkResult t = translate(apic_id, linear, false);
  if (!t.ok) {
    record_fault("RMPADJUST at VMPL0 of a linear address without a translation (#GP/#PF): " +
                 t.fault);
    return fs::rmp_result::kFailInput;
  }
  const std::uint64_t bytes = size == PageSize::k2M ? kLarge : kPage;
  if ((linear & (bytes - 1)) != 0) return fs::rmp_result::kFailInput;
  return rmpadjust(0, t.gpa, size, attributes);
}

void Machine::rmp_update(std::uint64_t gpa, bool assign) {
  if (!is_ram(gpa)) return;
  Page& p = page(gpa);
  if (assign && p.rmp.assigned) return;  // already private: nothing changes
  p.rmp.assigned = assign;
  p.rmp.validated = false;
  p.rmp.vmsa = false;
  p.rmp.permissions = {};
  p.data.fill(assign ? kStaleContents : 0);
}

ModelVcpu& Machine::vcpu(std::uint32_t apic_id) {
  auto it = vcpus_.find(apic_id);
  if (it == vcpus_.end()) {
    auto v = std::make_unique<ModelVcpu>();
    v->apic_id = apic_id;
    it = vcpus_.emplace(apic_id, std::move(v)).first;
  }
  return *it->second;
}

void Machine::set_program(std::uint32_t apic_id, std::uint8_t vmpl, GuestProgram program) {
  ModelVcpu& v = vcpu(apic_id);
  auto& runner = v.runners.at(vmpl);
  if (runner) {
    {
      std::lock_guard lock(runner->mutex);
      if (!runner->finished) throw std::logic_error("model: replacing a program that still runs");
    }
    if (runner->thread.joinable()) runner->thread.join();
    runner.reset();  // the next run starts the new program
  }
  v.programs.at(vmpl) = std::move(program);
}

bool Machine::program_finished(std::uint32_t apic_id, std::uint8_t vmpl) {
  auto& runner = vcpu(apic_id).runners.at(vmpl);
  if (!runner) return !vcpu(apic_id).programs.at(vmpl);
  std::lock_guard lock(runner->mutex);
  return runner->finished;
}

std::string Machine::program_failure(std::uint32_t apic_id, std::uint8_t vmpl) {
  auto& runner = vcpu(apic_id).runners.at(vmpl);
  if (!runner) return {};
  std::lock_guard lock(runner->mutex);
  return runner->failure;
}

fs::Vmsa* Machine::vmsa_of(ModelVcpu& v, std::uint8_t vmpl) {
  const std::uint64_t gpa = v.vmsa_gpa.at(vmpl);
  if (gpa == 0 || !is_ram(gpa)) return nullptr;
  Page& p = page(gpa);
  if (!p.rmp.assigned || !p.rmp.validated || !p.rmp.vmsa) {
    record_fault("VMRUN: " + hex(gpa) + " is not a validated VMSA page");
    return nullptr;
  }
  if ((gpa & (kLarge - 1)) == 0) {
    // The SNP erratum Linux works around in snp_alloc_vmsa_page ("the CPU will incorrectly signal
    // an RMP violation #PF if a large page (2MB or 1GB) collides with the RMP entry of VMSA
    // page") and COCONUT-SVSM in VmsaPage::new (kernel/src/sev/vmsa.rs): a VMSA page must not be
    // 2 MiB aligned. Which processors have it is not public; the model has it everywhere.
    record_fault("VMRUN: VMSA " + hex(gpa) + " is 2 MiB aligned (SNP erratum: spurious RMP #PF)");
    return nullptr;
  }
  auto* vmsa = reinterpret_cast<fs::Vmsa*>(p.data.data());
  if (vmsa->vmpl != vmpl) {
    record_fault("VMRUN: VMSA " + hex(gpa) + " is for VMPL" + std::to_string(vmsa->vmpl));
    return nullptr;
  }
  return vmsa;
}

void Machine::acquire_turn() {
  std::unique_lock lock(turn_mutex_);
  turn_cv_.wait(lock, [this] { return !turn_taken_; });
  turn_taken_ = true;
}

void Machine::release_turn() {
  {
    std::lock_guard lock(turn_mutex_);
    turn_taken_ = false;
  }
  turn_cv_.notify_all();
}

void Machine::stop_vcpus() {
  {
    std::lock_guard lock(turn_mutex_);
    stopping_ = true;
  }
  turn_cv_.notify_all();
}

bool Machine::program_halted(std::uint32_t apic_id, std::uint8_t vmpl) {
  auto& runner = vcpu(apic_id).runners.at(vmpl);
  if (!runner) return false;
  std::lock_guard lock(runner->mutex);
  return runner->halted;
}

void Machine::stop_program(ModelVcpu& v, std::uint8_t vmpl) {
  auto& runner = v.runners.at(vmpl);
  if (!runner) return;
  {
    std::lock_guard lock(runner->mutex);
    runner->stop = true;
    runner->guest_turn = true;
  }
  runner->cv.notify_all();
  if (runner->thread.joinable()) runner->thread.join();
  runner.reset();
}

bool Machine::run_vmpl(ModelVcpu& v, std::uint8_t target) {
  if (target == 0 || target > 3 || config_.hypervisor.run_vmpl_fails) return false;
  for (;;) {
    if (v.restart[target]) {
      // AP creation gave the vCPU a new VMSA while its program waited in the halt loop: that
      // program is gone, the next one starts from the beginning.
      v.restart[target] = false;
      stop_program(v, target);
    }
    fs::Vmsa* vmsa = vmsa_of(v, target);
    if (vmsa == nullptr) return false;
    if ((vmsa->efer & (1u << 12)) == 0) {
      record_fault("VMRUN: EFER.SVME clear in the VMSA of VMPL" + std::to_string(target));
      return false;
    }
    if (!v.programs[target]) {
      vmsa->guest_exit_code = fs::ghcb_exit::kHlt;
      return true;
    }
    auto& runner = v.runners[target];
    if (!runner) {
      runner = std::make_unique<ModelVcpu::Runner>();
      runner->cpu = std::make_unique<GuestCpu>(*this, v.apic_id, target);
    }
    {
      std::unique_lock lock(runner->mutex);
      if (runner->finished) {
        vmsa->guest_exit_code = fs::ghcb_exit::kHlt;
        return true;
      }
    }
    GuestRegisters& regs = runner->cpu->regs;
    regs.rax = vmsa->rax;
    regs.rbx = vmsa->rbx;
    regs.rcx = vmsa->rcx;
    regs.rdx = vmsa->rdx;
    regs.r8 = vmsa->r8;
    regs.r9 = vmsa->r9;
    if (!runner->started) {
      runner->started = true;
      ModelVcpu::Runner* r = runner.get();
      GuestProgram program = v.programs[target];
      r->thread = std::thread([r, program] {
        {
          std::unique_lock lock(r->mutex);
          r->cv.wait(lock, [r] { return r->guest_turn; });
          if (r->stop) {
            r->finished = true;
            return;
          }
        }
        std::string failure;
        try {
          program(*r->cpu);
        } catch (const ProgramStopped&) {
          return;
        } catch (const std::exception& e) {
          failure = e.what();
        } catch (...) {
          failure = "unknown exception";
        }
        std::lock_guard lock(r->mutex);
        r->failure = failure;
        r->finished = true;
        r->guest_turn = false;
        r->cv.notify_all();
      });
    }
    const std::uint64_t vmsa_gpa = v.vmsa_gpa[target];
    vmsas_in_use_.insert(vmsa_gpa);
    bool halted = false;
    {
      std::unique_lock lock(runner->mutex);
      runner->guest_turn = true;
      runner->cv.notify_all();
      runner->cv.wait(lock, [&] { return !runner->guest_turn; });
      if (runner->finished) vmsa->guest_exit_code = fs::ghcb_exit::kHlt;
      halted = runner->halted;
    }
    vmsas_in_use_.erase(vmsa_gpa);
    if (!halted) return true;
    // The guest waits in the hypervisor; this VMPL0 context stays inside its VMGEXIT until AP
    // creation or destruction for this vCPU, and lets other vCPUs run meanwhile.
    std::unique_lock lock(turn_mutex_);
    const bool held = turn_taken_;
    if (held) {
      turn_taken_ = false;
      turn_cv_.notify_all();
    }
    turn_cv_.wait(lock, [&] {
      return stopping_ ||
             ((v.restart[target] || v.vmsa_gpa[target] != vmsa_gpa) && (!held || !turn_taken_));
    });
    if (stopping_) return false;
    if (held) turn_taken_ = true;
    lock.unlock();
    if (!v.restart[target]) return false;  // destroyed: nothing to run
  }
}

void Machine::switch_to_vmpl0(ModelVcpu& v, std::uint8_t vmpl) {
  auto& runner = v.runners.at(vmpl);
  fs::Vmsa* vmsa = reinterpret_cast<fs::Vmsa*>(raw(v.vmsa_gpa.at(vmpl)));
  const GuestRegisters& regs = runner->cpu->regs;
  vmsa->rax = regs.rax;
  vmsa->rbx = regs.rbx;
  vmsa->rcx = regs.rcx;
  vmsa->rdx = regs.rdx;
  vmsa->r8 = regs.r8;
  vmsa->r9 = regs.r9;
  vmsa->guest_exit_code = fs::ghcb_exit::kVmgexit;
  {
    std::unique_lock lock(runner->mutex);
    runner->guest_turn = false;
    runner->cv.notify_all();
    runner->cv.wait(lock, [&] { return runner->guest_turn; });
    if (runner->stop) throw ProgramStopped{};
  }
  GuestRegisters& out = runner->cpu->regs;
  out.rax = vmsa->rax;
  out.rbx = vmsa->rbx;
  out.rcx = vmsa->rcx;
  out.rdx = vmsa->rdx;
  out.r8 = vmsa->r8;
  out.r9 = vmsa->r9;
}

void Machine::vmgexit(std::uint32_t apic_id, std::uint8_t vmpl) {
  ++vmgexits_;
  ModelVcpu& v = vcpu(apic_id);
  if (msr::info(v.ghcb_msr[vmpl]) != 0) {
    handle_msr_protocol(v, vmpl);
  } else {
    handle_ghcb_page(v, vmpl);
  }
}

void Machine::inject(std::uint32_t apic_id, Injection injection) {
  injections_[apic_id].push_back(std::move(injection));
}

std::optional<Machine::Injection> Machine::take_injection(std::uint32_t apic_id) {
  auto it = injections_.find(apic_id);
  if (it == injections_.end() || it->second.empty()) return std::nullopt;
  Injection next = it->second.front();
  it->second.erase(it->second.begin());
  // VMPL0's SEV_FEATURES: the launch VMSA's on the boot vCPU, the AP-created VMSA's elsewhere.
  const ModelVcpu& v = vcpu(apic_id);
  const std::uint64_t features = v.vmsa_gpa[0] != 0 ? v.vmsa_features[0] : vmpl0_sev_features_;
  if ((features & fs::sev_features::kRestrictedInjection) != 0 && next.vector != 28) {
    ++refused_injections_;
    return std::nullopt;
  }
  return next;
}

void Machine::handle_msr_protocol(ModelVcpu& v, std::uint8_t vmpl) {
  const std::uint64_t value = v.ghcb_msr[vmpl];
  std::uint64_t& reply = v.ghcb_msr[vmpl];
  const HypervisorConfig& hv = config_.hypervisor;
  switch (msr::info(value)) {
    case msr::kSevInfoRequest:
      reply = msr::sev_info_response(hv.ghcb_min_version, hv.ghcb_max_version, hv.claimed_cbit);
      return;
    case msr::kHvFeaturesRequest:
      reply = hv.features << 12 | msr::kHvFeaturesResponse;
      return;
    case msr::kRegisterGhcbRequest: {
      const std::uint64_t gpa = value & ~msr::kInfoMask;
      if (hv.refuse_ghcb_registration) {
        reply = ~msr::kInfoMask | msr::kRegisterGhcbResponse;
        return;
      }
      v.registered_ghcb[vmpl] = gpa;
      reply = gpa | msr::kRegisterGhcbResponse;
      return;
    }
    case msr::kPageStateRequest: {
      const std::uint64_t gpa = value & 0x000F'FFFF'FFFF'F000;
      const std::uint64_t operation = value >> 52 & 0xF;
      if (hv.refuse_page_state_change || !is_ram(gpa) ||
          (operation != msr::kPageStatePrivate && operation != msr::kPageStateShared)) {
        reply = std::uint64_t{1} << 32 | msr::kPageStateResponse;
        return;
      }
      if (rmp(gpa).large && operation == msr::kPageStateShared) {
        // PSMASH: the 2 MiB entry becomes 512 4 KiB entries first.
        const std::uint64_t base = gpa & ~(kLarge - 1);
        for (std::uint64_t a = base; a < base + kLarge; a += kPage) page(a).rmp.large = false;
      }
      rmp_update(gpa, operation == msr::kPageStatePrivate);
      reply = msr::kPageStateResponse;
      return;
    }
    case msr::kRunVmplRequest: {
      const auto target = static_cast<std::uint8_t>(value >> 32);
      if (vmpl == 0) {
        const bool ok = run_vmpl(v, target);
        reply = (ok ? 0 : std::uint64_t{1} << 32) | msr::kRunVmplResponse;
      } else if (target == 0) {
        switch_to_vmpl0(v, vmpl);
        v.ghcb_msr[vmpl] = msr::kRunVmplResponse;
      } else {
        reply = std::uint64_t{1} << 32 | msr::kRunVmplResponse;
      }
      return;
    }
    case msr::kTerminateRequest:
      termination_ = value;
      return;
    default:
      record_fault("hypervisor: unknown GHCB MSR request " + hex(value));
      reply = 0;
      return;
  }
}

void Machine::io(std::uint16_t port, bool in, unsigned size, std::uint64_t& value) {
  constexpr std::uint16_t kCom1 = 0x3F8;
  if (io_device && io_device(port, in, size, value)) return;
  if (port == kCom1 && !in && size == 1) {
    console_.push_back(static_cast<char>(value));
  } else if (port == kCom1 + 5 && in) {
    value = 0x60;  // transmitter empty
  } else if (in) {
    value = size == 1 ? 0xFF : (size == 2 ? 0xFFFF : 0xFFFF'FFFF);
  }
}

void Machine::handle_ghcb_page(ModelVcpu& v, std::uint8_t vmpl) {
  const std::uint64_t gpa = v.ghcb_msr[vmpl];
  if (gpa == 0 || gpa != v.registered_ghcb[vmpl]) {
    record_fault("hypervisor: VMGEXIT with an unregistered GHCB " + hex(gpa));
    return;
  }
  if (!is_ram(gpa) || rmp(gpa).assigned) {
    record_fault("hypervisor: the GHCB " + hex(gpa) + " is not a shared page");
    return;
  }
  std::uint8_t* ghcb = raw(gpa);
  std::uint64_t code = 0;
  std::uint64_t info1 = 0;
  std::uint64_t info2 = 0;
  if (!ghcb_get(ghcb, offsetof(fs::Ghcb, sw_exit_code), code)) {
    record_fault("hypervisor: GHCB without a valid exit code");
    return;
  }
  (void)ghcb_get(ghcb, offsetof(fs::Ghcb, sw_exit_info_1), info1);
  (void)ghcb_get(ghcb, offsetof(fs::Ghcb, sw_exit_info_2), info2);
  std::uint64_t out_info1 = 0;
  std::uint64_t out_info2 = 0;
  switch (code) {
    case fs::ghcb_exit::kIoio: {
      const bool in = (info1 & fs::ghcb_ioio::kIn) != 0;
      const unsigned size = (info1 & fs::ghcb_ioio::kSize8) != 0    ? 1
                            : (info1 & fs::ghcb_ioio::kSize16) != 0 ? 2
                                                                    : 4;
      std::uint64_t rax = 0;
      if (!in && !ghcb_get(ghcb, offsetof(fs::Ghcb, rax), rax)) {
        out_info1 = 1;
        break;
      }
      io(static_cast<std::uint16_t>(info1 >> 16), in, size, rax);
      if (in) ghcb_set(ghcb, offsetof(fs::Ghcb, rax), rax);
      break;
    }
    case fs::ghcb_exit::kMsr: {
      std::uint64_t rcx = 0;
      (void)ghcb_get(ghcb, offsetof(fs::Ghcb, rcx), rcx);
      const auto index = static_cast<std::uint32_t>(rcx);
      if (info1 == fs::kGhcbMsrWrite) {
        std::uint64_t rax = 0;
        std::uint64_t rdx = 0;
        (void)ghcb_get(ghcb, offsetof(fs::Ghcb, rax), rax);
        (void)ghcb_get(ghcb, offsetof(fs::Ghcb, rdx), rdx);
        msrs_[index] = rdx << 32 | (rax & 0xFFFF'FFFF);
      } else {
        const std::uint64_t value = msrs_[index];
        ghcb_set(ghcb, offsetof(fs::Ghcb, rax), value & 0xFFFF'FFFF);
        ghcb_set(ghcb, offsetof(fs::Ghcb, rdx), value >> 32);
      }
      break;
    }
    case fs::ghcb_exit::kRdtsc:
    case fs::ghcb_exit::kRdtscp: {
      const std::uint64_t tsc = 1'000'000 + vmgexits_ * 1000;
      ghcb_set(ghcb, offsetof(fs::Ghcb, rax), tsc & 0xFFFF'FFFF);
      ghcb_set(ghcb, offsetof(fs::Ghcb, rdx), tsc >> 32);
      if (code == fs::ghcb_exit::kRdtscp) ghcb_set(ghcb, offsetof(fs::Ghcb, rcx), v.apic_id);
      break;
    }
    case fs::ghcb_exit::kPageStateChange: {
      std::uint64_t scratch = 0;
      if (!ghcb_get(ghcb, offsetof(fs::Ghcb, sw_scratch), scratch) ||
          scratch != gpa + offsetof(fs::Ghcb, shared_buffer)) {
        out_info1 = 1;
        break;
      }
      if (config_.hypervisor.refuse_page_state_change) {
        out_info2 = std::uint64_t{1} << 32;
        break;
      }
      handle_psc(v, vmpl, ghcb, scratch);
      break;
    }
    case fs::ghcb_exit::kApHltLoop: {
      // The hypervisor holds the vCPU until it wakes it; AP creation of a new VMSA for it or its
      // destruction replace this context instead (its program is stopped).
      auto& runner = v.runners.at(vmpl);
      if (!runner) {
        record_fault("hypervisor: AP halt loop from a vCPU that runs no program");
        out_info1 = 1;
        break;
      }
      std::unique_lock lock(runner->mutex);
      runner->halted = true;
      runner->guest_turn = false;
      runner->cv.notify_all();
      runner->cv.wait(lock, [&] { return runner->stop; });
      throw ProgramStopped{};
    }
    case fs::ghcb_exit::kGuestRequest:
      handle_guest_request(ghcb, info1, info2);
      return;  // sets its own outputs
    case fs::ghcb_exit::kApCreation:
      handle_ap_creation(v, vmpl, ghcb, info1, info2);
      return;
    case fs::ghcb_exit::kRunVmpl: {
      const auto target = static_cast<std::uint8_t>(info1);
      if (vmpl == 0) {
        out_info1 = run_vmpl(v, target) ? 0 : 1;
      } else if (target == 0) {
        switch_to_vmpl0(v, vmpl);
        ghcb = raw(gpa);
      } else {
        out_info1 = 1;
      }
      break;
    }
    default:
      record_fault("hypervisor: unhandled GHCB exit " + hex(code));
      out_info1 = 1;
      break;
  }
  ghcb_set(ghcb, offsetof(fs::Ghcb, sw_exit_info_1), out_info1);
  ghcb_set(ghcb, offsetof(fs::Ghcb, sw_exit_info_2), out_info2);
}

void Machine::handle_psc(ModelVcpu&, std::uint8_t, std::uint8_t* ghcb, std::uint64_t) {
  std::uint8_t* buffer = ghcb + offsetof(fs::Ghcb, shared_buffer);
  fs::PscHeader header;
  std::memcpy(&header, buffer, sizeof header);
  unsigned budget = config_.hypervisor.psc_entries_per_exit;
  while (header.cur_entry <= header.end_entry && header.end_entry < fs::kPscMaxEntries &&
         budget-- > 0) {
    std::uint64_t entry;
    std::memcpy(&entry, buffer + sizeof header + header.cur_entry * 8u, 8);
    const std::uint64_t gpa = entry & fs::psc_entry::kGfnMask;
    const std::uint64_t operation = (entry & fs::psc_entry::kOperationMask) >> 52;
    const bool large = (entry & fs::psc_entry::kPageSize2M) != 0;
    const std::uint64_t bytes = large ? kLarge : kPage;
    if (!large && large_backed(gpa) && rmp(gpa).large) {
      const std::uint64_t base = gpa & ~(kLarge - 1);
      for (std::uint64_t a = base; a < base + kLarge; a += kPage) page(a).rmp.large = false;
    }
    for (std::uint64_t a = gpa; a < gpa + bytes; a += kPage) {
      rmp_update(a, operation == fs::psc_entry::kOpPrivate);
    }
    ++header.cur_entry;
  }
  std::memcpy(buffer, &header, sizeof header);
}

void Machine::handle_guest_request(std::uint8_t* ghcb, std::uint64_t request,
                                   std::uint64_t response) {
  HypervisorConfig& hv = config_.hypervisor;
  std::uint64_t info2 = 0;
  if (!is_ram(request) || !is_ram(response) || rmp(request).assigned || rmp(response).assigned) {
    record_fault("hypervisor: guest request pages are not shared");
    info2 = PspModel::kStatusInvalidParameter;
  } else if (hv.guest_request_busy > 0) {
    --hv.guest_request_busy;
    info2 = std::uint64_t{fs::guest_request_error::kVmmBusy} << 32;
  } else if (hv.guest_request_drop) {
    info2 = PspModel::kStatusInvalidParameter;
  } else {
    std::array<std::uint8_t, 4096> in;
    std::memcpy(in.data(), raw(request), 4096);
    std::array<std::uint8_t, 4096> out{};
    const std::uint32_t status = psp_->handle(in, out);
    if (status != 0) {
      info2 = status;
    } else {
      std::vector<std::uint8_t> previous = last_guest_response_;
      last_guest_response_.assign(out.begin(), out.end());
      if (hv.guest_request_replay_response && !previous.empty()) {
        std::memcpy(out.data(), previous.data(), 4096);
      }
      if (hv.guest_request_corrupt_response) out[0x60 + 5] ^= 0x01;
      std::memcpy(raw(response), out.data(), 4096);
    }
  }
  ghcb_set(ghcb, offsetof(fs::Ghcb, sw_exit_info_1), 0);
  ghcb_set(ghcb, offsetof(fs::Ghcb, sw_exit_info_2), info2);
}

void Machine::handle_ap_creation(ModelVcpu& v, std::uint8_t vmpl, std::uint8_t* ghcb,
                                 std::uint64_t info1, std::uint64_t info2) {
  const std::uint64_t request = info1 & 0xFFFF;
  const auto target = static_cast<std::uint8_t>(info1 >> 16 & 0xF);
  const auto apic = static_cast<std::uint32_t>(info1 >> 32);
  std::uint64_t features = 0;
  (void)ghcb_get(ghcb, offsetof(fs::Ghcb, rax), features);
  std::uint64_t out_info1 = 0;
  if (target < vmpl || target > 3 ||
      (request != fs::ap_creation::kCreate && request != fs::ap_creation::kCreateOnInit &&
       request != fs::ap_creation::kDestroy)) {
    out_info1 = 1;
  } else {
    ModelVcpu& target_vcpu = vcpu(apic);
    (void)v;
    {
      std::lock_guard lock(turn_mutex_);
      const auto& runner = target_vcpu.runners[target];
      const bool halted = runner && &target_vcpu != &v && program_halted(apic, target);
      if (request == fs::ap_creation::kDestroy) {
        target_vcpu.vmsa_gpa[target] = 0;
      } else {
        target_vcpu.vmsa_gpa[target] = info2;
        target_vcpu.vmsa_features[target] = features;
        if (halted) target_vcpu.restart[target] = true;
      }
    }
    turn_cv_.notify_all();
  }
  ghcb_set(ghcb, offsetof(fs::Ghcb, sw_exit_info_1), out_info1);
  ghcb_set(ghcb, offsetof(fs::Ghcb, sw_exit_info_2), 0);
}

Machine::Launch Machine::launch(const igvm::IgvmFile& file,
                                std::span<const std::uint8_t, 48> measurement) {
  Launch out;
  const igvm::SupportedPlatform* snp = file.platform(igvm::PlatformType::kSevSnp);
  if (snp == nullptr)
    throw std::invalid_argument("model launch: the IGVM file has no SNP platform");
  const std::uint32_t mask = snp->compatibility_mask;
  for (const igvm::InitHeader& header : file.initialization) {
    if (const auto* policy = std::get_if<igvm::GuestPolicy>(&header)) {
      if ((policy->compatibility_mask & mask) != 0) out.guest_policy = policy->policy;
    }
  }
  auto validate_launch_page = [&](std::uint64_t gpa) {
    Page& p = page(gpa);
    p.rmp = RmpEntry{};
    p.rmp.assigned = true;
    p.rmp.validated = true;
    p.rmp.large = false;  // LAUNCH_UPDATE pages here are 4 KiB
    out.launch_validated.push_back(gpa);
  };
  std::map<std::uint32_t, std::vector<std::uint8_t>> areas;
  const igvm::SnpIdBlock* id_block = nullptr;
  for (const igvm::Directive& directive : file.directives) {
    if (const auto* pd = std::get_if<igvm::PageDirective>(&directive)) {
      if ((pd->compatibility_mask & mask) == 0) continue;
      validate_launch_page(pd->gpa);
      std::uint8_t* data = raw(pd->gpa);
      std::memset(data, 0, kPage);
      if (pd->data_type == igvm::PageDataType::kSecrets) {
        fs::SecretsPage secrets{};
        secrets.version = 3;
        for (unsigned i = 0; i < fs::kVmpckCount; ++i) {
          std::memcpy(secrets.vmpck[i], psp_->vmpck(i).data(), fs::kVmpckSize);
        }
        secrets.fms = config_.cpu_signature;
        std::memcpy(data, &secrets, sizeof secrets);
      } else if (pd->data_type == igvm::PageDataType::kCpuidData ||
                 pd->data_type == igvm::PageDataType::kCpuidXf) {
        fs::CpuidPage cpuid{};
        std::memcpy(&cpuid, pd->data.span().data(), std::min(pd->data.size(), sizeof cpuid));
        for (std::uint32_t i = 0; i < cpuid.count && i < fs::kCpuidMaxFunctions; ++i) {
          fs::CpuidFunction& f = cpuid.functions[i];
          const fs::CpuidFunction filled = host_cpuid(f.eax_in, f.ecx_in, config_.cpu_signature,
                                                      config_.cbit, config_.cpuid_reports_invlpgb);
          f.eax = filled.eax;
          f.ebx = filled.ebx;
          f.ecx = filled.ecx;
          f.edx = filled.edx;
        }
        std::memcpy(data, &cpuid, sizeof cpuid);
      } else if (!pd->data.empty()) {
        std::memcpy(data, pd->data.span().data(), std::min<std::size_t>(pd->data.size(), kPage));
      }
    } else if (const auto* area = std::get_if<igvm::ParameterAreaDirective>(&directive)) {
      std::vector<std::uint8_t> bytes(area->number_of_bytes, 0);
      if (!area->initial_data.empty()) {
        std::memcpy(bytes.data(), area->initial_data.span().data(), area->initial_data.size());
      }
      areas[area->parameter_area_index] = std::move(bytes);
    } else if (const auto* usage = std::get_if<igvm::ParameterUsage>(&directive)) {
      std::vector<std::uint8_t>& bytes = areas.at(usage->parameter.parameter_area_index);
      const std::uint32_t offset = usage->parameter.byte_offset;
      if (usage->type == igvm::HeaderType::kVpCountParameter) {
        std::memcpy(bytes.data() + offset, &config_.vcpu_count, 4);
      } else if (usage->type == igvm::HeaderType::kEnvironmentInfoParameter) {
        const std::uint32_t env = 1;
        std::memcpy(bytes.data() + offset, &env, 4);
      } else if (usage->type == igvm::HeaderType::kMemoryMap) {
        std::size_t at = offset;
        for (const ModelRange& r : config_.memory_map) {
          igvm::MemoryMapEntry e{};
          e.starting_gpa_page_number = r.start / kPage;
          e.number_of_pages = (r.end - r.start) / kPage;
          e.entry_type = 0;  // MEMORY
          if (at + sizeof e > bytes.size()) break;
          std::memcpy(bytes.data() + at, &e, sizeof e);
          at += sizeof e;
        }
      }
    } else if (const auto* insert = std::get_if<igvm::ParameterInsert>(&directive)) {
      if ((insert->compatibility_mask & mask) == 0) continue;
      const std::vector<std::uint8_t>& bytes = areas.at(insert->parameter_area_index);
      for (std::size_t off = 0; off < bytes.size(); off += kPage) {
        validate_launch_page(insert->gpa + off);
        std::memcpy(raw(insert->gpa + off), bytes.data() + off, kPage);
      }
    } else if (const auto* boxed = std::get_if<igvm::SnpIdBlockDirective>(&directive)) {
      if (((*boxed)->compatibility_mask & mask) != 0) id_block = &**boxed;
    } else if (const auto* vp = std::get_if<igvm::VpContextDirective>(&directive)) {
      if ((vp->compatibility_mask & mask) == 0) continue;
      fs::Vmsa vmsa{};
      std::memcpy(&vmsa, vp->data.span().data(), std::min(vp->data.size(), sizeof vmsa));
      out.entry_eax = static_cast<std::uint32_t>(vmsa.rax);
      out.boot_params_gpa = vmsa.rsi;
      out.vmsa_sev_features = vmsa.sev_features;
      vmpl0_sev_features_ = vmsa.sev_features;
    }
  }
  PspModel::LaunchFields fields;
  std::memcpy(fields.measurement.data(), measurement.data(), 48);
  fields.policy = out.guest_policy;
  if (id_block != nullptr) {
    // SNP_LAUNCH_FINISH with an ID block (QEMU passes the IGVM SNP_ID_BLOCK): the PSP refuses the
    // launch unless the block names this launch digest and policy and its ID key signature
    // verifies (SNP Firmware ABI, SNP_LAUNCH_FINISH; docs/igvm.md "sign"). Family ID, image ID and
    // guest SVN then are the block's; without a block they stay zero. The author key signature is
    // not checked by the model.
    fs::IdBlock block{};
    std::memcpy(block.launch_digest, id_block->ld, 48);
    std::memcpy(block.family_id, id_block->family_id, 16);
    std::memcpy(block.image_id, id_block->image_id, 16);
    block.version = id_block->version;
    block.guest_svn = id_block->guest_svn;
    block.policy = out.guest_policy;
    fs::EcdsaPublicKey key{};
    key.curve = id_block->id_public_key.curve;
    std::memcpy(key.qx, id_block->id_public_key.qx, 72);
    std::memcpy(key.qy, id_block->id_public_key.qy, 72);
    fs::EcdsaSignature signature{};
    std::memcpy(signature.r, id_block->id_key_signature.r_comp, 72);
    std::memcpy(signature.s, id_block->id_key_signature.s_comp, 72);
    if (std::memcmp(id_block->ld, measurement.data(), 48) != 0 ||
        !measure::verify_snp_signature(
            key, {reinterpret_cast<const std::uint8_t*>(&block), sizeof block}, signature)) {
      throw std::invalid_argument(
          "model launch: SNP_LAUNCH_FINISH refuses the ID block (digest or signature)");
    }
    std::memcpy(fields.family_id.data(), id_block->family_id, 16);
    std::memcpy(fields.image_id.data(), id_block->image_id, 16);
    fields.guest_svn = id_block->guest_svn;
  }
  psp_->set_launch(fields);
  return out;
}

}  // namespace cvtpm::snp::model
