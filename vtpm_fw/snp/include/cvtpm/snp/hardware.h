// What the SNP platform needs from the processor it runs on, at VMPL0 of an SEV-SNP guest: the
// RMP instructions, the GHCB MSR and VMGEXIT, and memory mapped with or without the C-bit. The
// firmware implements it with the instructions themselves (vtpm_fw/runtime/platform/snp); the
// tests implement it with a model of the SNP rules (tests/snp). Everything above this interface
// is the same code in both. Freestanding.
//
// One object stands for one vCPU: the instructions act on the vCPU that executes them, and the
// GHCB MSR is per vCPU.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cvtpm/vtpm/platform.h"

namespace cvtpm::snp {

using vtpm::PageSize;

inline constexpr std::uint64_t kPageSize = 4096;
inline constexpr std::uint64_t kPageMask = kPageSize - 1;
inline constexpr std::uint64_t kLargePageSize = 2 * 1024 * 1024;

// How a mapping reaches memory: private (C-bit set: encrypted with the guest's key, subject to
// the RMP) or shared with the hypervisor (C-bit clear).
enum class Encryption : std::uint8_t { kPrivate, kShared };

struct PvalidateOutcome {
  std::uint32_t result;  // formats::snp::rmp_result
  bool changed;          // CF = 0: the validated bit changed
};

// Where VMPL0's code finds a guest-physical page in its linear address space. The instructions
// PVALIDATE and RMPADJUST take linear addresses, like every memory access (the firmware's page
// tables translate them), so every GPA the SNP code acts on needs a mapping that exists:
//   - the firmware region (the SVSM's own memory) is identity mapped;
//   - every other GPA — guest memory, GPA 0 included — is reached through the guest window, an
//     alias of guest-physical memory at `guest_window` + GPA in the final page tables
//     (arch/x86_64/page_tables.h), which leave linear page 0 unmapped to catch null pointers.
// Before the final page tables exist, the 32-bit entry's boot tables identity-map the low 4 GiB,
// and the SNP code touches only firmware pages: `guest_window` is 0 and everything is identity.
// Where the firmware's final page tables put the guest window: the start of the upper half of
// the 48-bit address space (PML4 slot 256), far from the identity map's 512 GiB at most.
inline constexpr std::uint64_t kGuestWindowBase = 0xFFFF'8000'0000'0000;

struct AddressSpace {
  std::uint64_t firmware_start = 0;
  std::uint64_t firmware_end = 0;  // exclusive
  std::uint64_t guest_window = 0;  // linear address of GPA 0 in the window; 0: no window yet

  constexpr std::uint64_t linear(std::uint64_t gpa) const {
    if (guest_window == 0 || (gpa >= firmware_start && gpa < firmware_end)) return gpa;
    return guest_window + gpa;
  }
};

class SnpHardware {
 public:
  // --- Memory ---------------------------------------------------------------------------------
  // Makes [gpa, gpa + size) (inside one 4 KiB page, size > 0) accessible through the current
  // page tables with the given encryption and returns where; nullptr if the access would fault
  // (for example a private access to a page that is not validated).
  std::uint8_t* map(std::uint64_t gpa, std::size_t size, Encryption encryption) {
    return map_at(linear(gpa), size, encryption);
  }
  // Ends an access map() started.
  virtual void unmap(std::uint8_t* mapping, std::size_t size) = 0;
  // Changes the C-bit of the firmware's own mapping of the 4 KiB page at gpa and flushes it from
  // the TLB. Returns false if the page is not mapped with 4 KiB granularity.
  bool set_page_encryption(std::uint64_t gpa, Encryption encryption) {
    return set_page_encryption_at(linear(gpa), encryption);
  }
  // Invalidates cached translations and RMP permissions on every vCPU of the guest (after
  // permissions were taken away, so no vCPU keeps using a stale grant; APM vol. 2 §15.36.15):
  // INVLPGB, then TLBSYNC to wait for every processor, as COCONUT-SVSM does after revoking
  // permissions and before every entry into the guest VMPL (kernel/src/sev/tlb.rs,
  // kernel/src/protocols/core.rs, kernel/src/vmm/execloop.rs). There is no fallback: a CR3 reload
  // reaches only the processor that runs it, and the CPUID bit that reports INVLPGB comes from the
  // hypervisor. Where the instruction is missing or intercepted, it faults and the SVSM stops (the
  // boot probes it once, SnpFirmware::prepare).
  void flush_tlb_all_vcpus() { invalidate_all_processors(); }

  // --- Memory the guest controls --------------------------------------------------------------
  // Private copies from and to [gpa, gpa + size) (inside one 4 KiB page) that survive a fault:
  // false if the access faulted. For guest pages and the VMSAs the SVSM took from the guest,
  // which the guest can have the hypervisor convert behind the SVSM's back (a private access to
  // a page that is not validated raises #VC PAGE_NOT_VALIDATED at VMPL0, APM vol. 2 §15.36.10):
  // on hardware the copy is a fixed instruction with an exception fix-up (COCONUT-SVSM's
  // kernel/src/mm/guestmem.rs does the same), so the SVSM fails the call instead of stopping.
  bool read_guarded(std::uint64_t gpa, void* out, std::size_t size) {
    return read_guarded_at(linear(gpa), out, size);
  }
  bool write_guarded(std::uint64_t gpa, const void* in, std::size_t size) {
    return write_guarded_at(linear(gpa), in, size);
  }
  // Atomically replaces the byte at gpa with `value`; the old one in `old`.
  bool exchange_guarded(std::uint64_t gpa, std::uint8_t value, std::uint8_t& old) {
    return exchange_guarded_at(linear(gpa), value, old);
  }

  // --- Instructions ---------------------------------------------------------------------------
  PvalidateOutcome pvalidate(std::uint64_t gpa, PageSize size, bool validate) {
    return pvalidate_at(linear(gpa), size, validate);
  }
  // attributes: formats::snp::rmpadjust_attributes(). Returns a formats::snp::rmp_result.
  std::uint32_t rmpadjust(std::uint64_t gpa, PageSize size, std::uint64_t attributes) {
    return rmpadjust_at(linear(gpa), size, attributes);
  }

  // --- Talking to the hypervisor ---------------------------------------------------------------
  virtual std::uint64_t read_ghcb_msr() = 0;
  virtual void write_ghcb_msr(std::uint64_t value) = 0;
  // VMGEXIT (rep vmmcall): the hypervisor handles what the GHCB MSR names.
  virtual void vmgexit() = 0;

  // --- State of this vCPU ---------------------------------------------------------------------
  // SEV_STATUS (MSR 0xC0010131): which SEV features this guest runs with.
  virtual std::uint64_t read_sev_status() = 0;
  virtual std::uint64_t read_cr4() = 0;

  // --- Address space --------------------------------------------------------------------------
  // The layout the GPA-based calls above translate through (shared by every vCPU's object; it
  // changes once, when the final page tables with the guest window are active). None: identity.
  void set_address_space(const AddressSpace* space) { space_ = space; }
  std::uint64_t linear(std::uint64_t gpa) const {
    return space_ != nullptr ? space_->linear(gpa) : gpa;
  }

 protected:
  ~SnpHardware() = default;  // not owned through this interface

  // The machine's side, at linear addresses (what the instructions take).
  virtual std::uint8_t* map_at(std::uint64_t linear, std::size_t size, Encryption encryption) = 0;
  virtual bool set_page_encryption_at(std::uint64_t linear, Encryption encryption) = 0;
  virtual PvalidateOutcome pvalidate_at(std::uint64_t linear, PageSize size, bool validate) = 0;
  virtual std::uint32_t rmpadjust_at(std::uint64_t linear, PageSize size,
                                     std::uint64_t attributes) = 0;
  // INVLPGB (every translation of the guest, global ones included) then TLBSYNC.
  virtual void invalidate_all_processors() = 0;
  virtual bool read_guarded_at(std::uint64_t linear, void* out, std::size_t size) = 0;
  virtual bool write_guarded_at(std::uint64_t linear, const void* in, std::size_t size) = 0;
  virtual bool exchange_guarded_at(std::uint64_t linear, std::uint8_t value, std::uint8_t& old) = 0;

 private:
  const AddressSpace* space_ = nullptr;
};

// Maps one page-bounded access for a scope.
class Mapping {
 public:
  Mapping(SnpHardware& hardware, std::uint64_t gpa, std::size_t size, Encryption encryption)
      : hardware_(hardware), size_(size), data_(hardware.map(gpa, size, encryption)) {}
  ~Mapping() {
    if (data_ != nullptr) hardware_.unmap(data_, size_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  std::uint8_t* data() const { return data_; }
  explicit operator bool() const { return data_ != nullptr; }

 private:
  SnpHardware& hardware_;
  std::size_t size_;
  std::uint8_t* data_;
};

// SEV_STATUS bits 2 and up are the SEV_FEATURES the guest's VMSAs run with (bit n + 2 = feature
// bit n); bit 0 is SEV, bit 1 SEV-ES.
inline constexpr std::uint64_t kSevStatusSnp = 1u << 2;
constexpr std::uint64_t sev_features_from_status(std::uint64_t sev_status) {
  return sev_status >> 2;
}

}  // namespace cvtpm::snp
