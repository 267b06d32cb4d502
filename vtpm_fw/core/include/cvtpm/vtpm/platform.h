// The platform interface: what the SVSM service needs from the machine it runs on. The SNP
// platform implements it with RMP instructions and SNP guest requests, the native platform with
// plain memory, and the host test platform with simulated guest memory. The core never asks
// which platform it runs on. Freestanding.
//
// Every method is called with the service's own arguments already validated as documented; a
// platform never sees an unchecked guest value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cvtpm/vtpm/allocator.h"
#include "cvtpm/vtpm/svsm_abi.h"

namespace cvtpm::vtpm {

enum class GuestAccess : std::uint8_t { kRead, kWrite };

enum class PageSize : std::uint8_t { k4K, k2M };

// The outcome of the PVALIDATE instruction for one page.
enum class PvalidateStatus : std::uint8_t {
  kSuccess,           // RAX = 0, CF = 0: the validated bit changed
  kNoChange,          // RAX = 0, CF = 1: the page was already in the requested state
  kFailInput,         // RAX = 1 (FAIL_INPUT)
  kFailSizeMismatch,  // RAX = 6 (FAIL_SIZEMISMATCH): a 2M request over a 4K RMP entry
};

// A fixed window of guest memory: GPAs [begin, end) are the guest's and addressable at host
// address `base + gpa` for as long as the platform exists. Empty (begin == end) if there is none.
// Unsigned arithmetic: a base below the first GPA wraps as intended.
struct GuestWindow {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::uintptr_t base = 0;
};

using ReportData = std::uint8_t[64];
using Sha512Digest = std::uint8_t[64];

class Platform {
 public:
  // --- Guest memory ----------------------------------------------------------------------------
  // Whether [gpa, gpa + size) is entirely memory of the guest (never the SVSM's own memory, a
  // VMSA or a page the guest may not hand to the SVSM). size > 0, and gpa + size does not wrap.
  virtual bool guest_owns(std::uint64_t gpa, std::uint64_t size) = 0;

  // Copy between the guest bytes [gpa, gpa + size) and private memory. Called only for ranges
  // guest_owns() accepted, never crossing a page boundary. False if the access did not happen:
  // the page cannot be accessed now (not validated, or it stopped being accessible behind the
  // SVSM's back — on SNP the copy survives the fault that raises, as COCONUT-SVSM's guest
  // accesses do with exception fix-ups, kernel/src/mm/guestmem.rs). A write may have changed a
  // prefix of the range when it returns false.
  virtual bool read_guest(std::uint64_t gpa, std::span<std::uint8_t> out) = 0;
  // Writes `first` then `second` (either may be empty) as one access: a header and what follows
  // it, from two private buffers.
  virtual bool write_guest(std::uint64_t gpa, std::span<const std::uint8_t> first,
                           std::span<const std::uint8_t> second = {}) = 0;
  // Atomically replaces the guest byte at gpa with `value` and returns the old one in `old`.
  virtual bool exchange_guest_byte(std::uint64_t gpa, std::uint8_t value, std::uint8_t& old) = 0;

  // The platform's fixed window of guest memory, if it has one (default: none). A platform may
  // offer only memory whose state nothing can change while the platform exists: the guest owns
  // it (guest_owns() accepts every range inside it), it stays mapped at the same place, and no
  // call (PVALIDATE, CREATE_VCPU, REMAP_CA, ...) or event can take it away. The core reads the
  // window once, when the service is built: an access inside it is checked against its bounds
  // and copied directly; any other access is checked with guest_owns() and goes through
  // read_guest()/write_guest() page by page. SNP has no such memory (any guest page can become a
  // VMSA or lose its validation); neither does the host test platform, which logs and checks
  // every access.
  virtual GuestWindow fixed_guest_window() const { return {}; }

  // --- Core protocol hardware actions ---------------------------------------------------------
  // Validates or rescinds one guest page (gpa aligned to the page size, owned by the guest) with
  // the SNP sequence around PVALIDATE: a page being validated is zeroed before the guest's VMPL
  // may access it; a page being rescinded loses the guest's access first.
  virtual PvalidateStatus pvalidate(std::uint64_t gpa, PageSize size, bool validate) = 0;

  // Turns the guest page at vmsa_gpa into the VMSA of a new vCPU whose calling area is caa_gpa:
  // revokes the guest's access to the VMSA page, then checks its contents (VMPL = the guest's,
  // EFER.SVME set, SEV features equal to the caller's), then makes it runnable.
  // Both GPAs are page aligned, distinct and owned by the guest.
  // Returns kSuccess, kInvalidParameter (contents rejected), kInvalidAddress or
  // kProtocolFailInUse (already a VMSA).
  virtual SvsmResult create_vcpu(std::uint64_t vmsa_gpa, std::uint64_t caa_gpa,
                                 std::uint32_t apic_id) = 0;
  // Stops and unregisters the vCPU whose VMSA is at vmsa_gpa (page aligned) and returns the page
  // to the guest. Returns kSuccess, kInvalidParameter (not a VMSA created by CREATE_VCPU) or
  // kProtocolFailInUse (the processor still runs that VMSA).
  virtual SvsmResult delete_vcpu(std::uint64_t vmsa_gpa) = 0;
  // From now on serves the calling vCPU's calls from the calling area at caa_gpa (page aligned,
  // owned by the guest, different from the current one).
  virtual SvsmResult remap_ca(std::uint32_t vcpu_index, std::uint64_t caa_gpa) = 0;

  // --- Attestation ----------------------------------------------------------------------------
  // Size in bytes of the attestation report attestation_report() produces.
  virtual std::size_t report_size() = 0;
  // Size in bytes of the certificate blob that goes with a report (0 if there is none).
  virtual std::size_t certificates_size() = 0;
  // Produces an attestation report of the SVSM (VMPL0) carrying report_data, into `report`
  // (report_size() bytes) and, if `certificates` is not empty, the certificate blob into it
  // (certificates_size() bytes). Returns kSuccess or the error to give the guest.
  virtual SvsmResult attestation_report(const ReportData& report_data,
                                        std::span<std::uint8_t> report,
                                        std::span<std::uint8_t> certificates) = 0;
  // SHA-512 of `data` (the firmware has libcrypto; the core has no hash of its own). False if
  // the hash could not be computed: then no report is requested (a REPORT_DATA that is not the
  // hash of the nonce and manifest must never be signed).
  virtual bool sha512(std::span<const std::uint8_t> data, Sha512Digest& digest) = 0;

  // --- Memory for the core --------------------------------------------------------------------
  virtual Allocator& allocator() = 0;

 protected:
  ~Platform() = default;  // not owned through this interface
};

}  // namespace cvtpm::vtpm
