#include "cvtpm/snp/snp_platform.h"

#include <cstring>

#include <openssl/evp.h>

#include "cvtpm/formats/snp/rmp_instructions.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/snp/page_source.h"
#include "cvtpm/snp/page_state.h"
#include "cvtpm/snp/vmsa_builder.h"

namespace cvtpm::snp {

namespace fs = formats::snp;
using vtpm::PvalidateStatus;
using vtpm::SvsmResult;

namespace {

std::uint64_t bytes_of(PageSize size) {
  return size == PageSize::k2M ? kLargePageSize : kPageSize;
}

}  // namespace

SnpPlatform::SnpPlatform(SnpHardware& hardware, GuestRam& ram, vtpm::Allocator& allocator,
                         const SnpPlatformConfig& config, Log& log)
    : hardware_(hardware), ram_(ram), allocator_(allocator), config_(config), log_(log) {}

SnpStatus SnpPlatform::add_boot_vcpu(std::uint32_t apic_id, std::uint64_t vmsa_gpa,
                                     std::uint64_t caa_gpa) {
  const std::size_t slot = vcpus_.allocate(true);
  if (slot == VcpuTable::kCapacity) return SnpError{"vCPU table: boot vCPU already present"};
  vcpus_.take(slot, apic_id, vmsa_gpa, caa_gpa).firmware_vmsa = true;
  return SnpStatus::success();
}

bool SnpPlatform::guest_owns(std::uint64_t gpa, std::uint64_t size) {
  return ram_.contains(gpa, size) && !vcpus_.overlaps_guest_vmsa(gpa, size);
}

bool SnpPlatform::lost_page(std::uint64_t gpa) {
  // Only the hypervisor changes a validated page's state (RMPUPDATE), for instance when the guest
  // asked it to convert the page: the page must be validated again through the SVSM.
  log_.write(LogLevel::kWarn, "snp: guest page 0x%lx stopped being validated; access refused",
             static_cast<unsigned long>(gpa & ~kPageMask));
  ram_.set_validated(gpa & ~kPageMask, kPageSize, false);
  return false;
}

// A private access to a page that is not validated would raise #VC in the SVSM: the bitmap keeps
// the SVSM from trying, and the guarded copies survive a page that changed behind its back.
bool SnpPlatform::read_guest(std::uint64_t gpa, std::span<std::uint8_t> out) {
  if (out.empty() || !guest_owns(gpa, out.size()) || !ram_.validated(gpa, out.size())) {
    return false;
  }
  return hw().read_guarded(gpa, out.data(), out.size()) || lost_page(gpa);
}

bool SnpPlatform::write_guest(std::uint64_t gpa, std::span<const std::uint8_t> first,
                              std::span<const std::uint8_t> second) {
  const std::size_t size = first.size() + second.size();
  if (size == 0 || !guest_owns(gpa, size) || !ram_.validated(gpa, size)) return false;
  const bool written =
      (first.empty() || hw().write_guarded(gpa, first.data(), first.size())) &&
      (second.empty() || hw().write_guarded(gpa + first.size(), second.data(), second.size()));
  return written || lost_page(gpa);
}

bool SnpPlatform::exchange_guest_byte(std::uint64_t gpa, std::uint8_t value, std::uint8_t& old) {
  if (!guest_owns(gpa, 1) || !ram_.validated(gpa, 1)) return false;
  return hw().exchange_guarded(gpa, value, old) || lost_page(gpa);
}

bool SnpPlatform::grant_guest(std::uint64_t gpa, PageSize size) {
  return set_vmpl_permissions(hw(), gpa, bytes_of(size), config_.guest_vmpl,
                              fs::vmpl_permission::kAll, size)
      .ok();
}

bool SnpPlatform::revoke_guest(std::uint64_t gpa, PageSize size) {
  const bool ok = revoke_lower_vmpls(hw(), gpa, size, config_.guest_vmpl).ok();
  hw().flush_tlb_all_vcpus();
  return ok;
}

PvalidateStatus SnpPlatform::pvalidate(std::uint64_t gpa, PageSize size, bool validate) {
  const std::uint64_t bytes = bytes_of(size);
  if (!validate) {
    // Take the guest's access away first, so no vCPU of the guest uses the page while and after
    // it stops being validated.
    if (ram_.validated(gpa, bytes)) (void)revoke_guest(gpa, size);
    const PvalidateOutcome outcome = hw().pvalidate(gpa, size, false);
    if (outcome.result == fs::rmp_result::kFailSizeMismatch) {
      return PvalidateStatus::kFailSizeMismatch;
    }
    if (outcome.result != fs::rmp_result::kSuccess) return PvalidateStatus::kFailInput;
    ram_.set_validated(gpa, bytes, false);
    return outcome.changed ? PvalidateStatus::kSuccess : PvalidateStatus::kNoChange;
  }
  const PvalidateOutcome outcome = hw().pvalidate(gpa, size, true);
  if (outcome.result == fs::rmp_result::kFailSizeMismatch) {
    return PvalidateStatus::kFailSizeMismatch;
  }
  if (outcome.result != fs::rmp_result::kSuccess) return PvalidateStatus::kFailInput;
  if (!outcome.changed) {
    // Validated before, by this SVSM for the guest or at launch: the guest already has access.
    ram_.set_validated(gpa, bytes, true);
    return PvalidateStatus::kNoChange;
  }
  // Zero before the guest may see it: the hypervisor could have moved a page that held SVSM
  // data to this address (COCONUT-SVSM's reasoning), and the SVSM must not leak it.
  if (!zero_private(hw(), gpa, bytes).ok() || !grant_guest(gpa, size)) {
    log_.write(LogLevel::kError, "snp: PVALIDATE of 0x%lx for the guest could not be completed",
               static_cast<unsigned long>(gpa));
    (void)hw().pvalidate(gpa, size, false);
    return PvalidateStatus::kFailInput;
  }
  ram_.set_validated(gpa, bytes, true);
  return PvalidateStatus::kSuccess;
}

SvsmResult SnpPlatform::create_vcpu(std::uint64_t vmsa_gpa, std::uint64_t caa_gpa,
                                    std::uint32_t apic_id) {
  // An APIC ID that has a VMSA may get another: Linux brings a CPU back online by creating its
  // new VMSA before it deletes the old one (wakeup_cpu_via_vmgexit); the new one is current.
  if (vcpus_.find_vmsa(vmsa_gpa) != VcpuTable::kCapacity) return SvsmResult::kProtocolFailInUse;
  if (!ram_.validated(vmsa_gpa, kPageSize)) return SvsmResult::kInvalidAddress;
  // A 2 MiB-aligned VMSA would trip the SNP erratum page_source.h describes.
  if (!vmsa_page_allowed(vmsa_gpa)) return SvsmResult::kInvalidAddress;
  const std::size_t slot = vcpus_.allocate(false);
  if (slot == VcpuTable::kCapacity) return SvsmResult::kInvalidParameter;

  // Take the page from the guest before looking at it: no vCPU of the guest can change the
  // VMSA between the check and its use.
  if (!revoke_guest(vmsa_gpa, PageSize::k4K)) {
    (void)grant_guest(vmsa_gpa, PageSize::k4K);
    return SvsmResult::kInvalidAddress;
  }
  // The page stops being guest memory from here on.
  VcpuEntry& e = vcpus_.take(slot, apic_id, vmsa_gpa, caa_gpa);

  auto undo = [&](SvsmResult result) {
    e = VcpuEntry{};
    (void)grant_guest(vmsa_gpa, PageSize::k4K);
    return result;
  };
  fs::Vmsa vmsa;
  if (!hw().read_guarded(vmsa_gpa, &vmsa, sizeof vmsa)) return undo(SvsmResult::kInvalidAddress);
  if (vmsa.vmpl != config_.guest_vmpl || (vmsa.efer & kEferSvme) == 0 ||
      vmsa.sev_features != config_.guest_sev_features) {
    return undo(SvsmResult::kInvalidParameter);
  }
  const std::uint32_t result = hw().rmpadjust(
      vmsa_gpa, PageSize::k4K, fs::rmpadjust_attributes(config_.guest_vmpl, 0, true));
  if (result != fs::rmp_result::kSuccess) return undo(SvsmResult::kInvalidParameter);
  if (vcpu_host_ != nullptr) {
    if (SnpStatus s = vcpu_host_->start_vmpl0(apic_id); !s) {
      log_.write(LogLevel::kError, "snp: no VMPL0 context for APIC ID %u: %s", apic_id,
                 s.error().what);
      (void)hw().rmpadjust(vmsa_gpa, PageSize::k4K,
                           fs::rmpadjust_attributes(config_.guest_vmpl, 0, false));
      return undo(SvsmResult::kInvalidParameter);
    }
  }
  log_.write(LogLevel::kDebug, "snp: vCPU APIC ID %u: VMSA 0x%lx, calling area 0x%lx", apic_id,
             static_cast<unsigned long>(vmsa_gpa), static_cast<unsigned long>(caa_gpa));
  return SvsmResult::kSuccess;
}

SvsmResult SnpPlatform::delete_vcpu(std::uint64_t vmsa_gpa) {
  const std::size_t slot = vcpus_.find_vmsa(vmsa_gpa);
  if (slot == VcpuTable::kCapacity || vcpus_[slot].firmware_vmsa) {
    return SvsmResult::kInvalidParameter;
  }
  VcpuEntry& e = vcpus_[slot];
  // Not runnable any more: the hypervisor can no longer enter it.
  std::uint64_t efer = 0;
  const std::uint64_t efer_gpa = vmsa_gpa + offsetof(fs::Vmsa, efer);
  if (!hw().read_guarded(efer_gpa, &efer, sizeof efer)) return SvsmResult::kInvalidAddress;
  efer &= ~kEferSvme;
  if (!hw().write_guarded(efer_gpa, &efer, sizeof efer)) return SvsmResult::kInvalidAddress;
  // Clear the VMSA flag and give the page back to the guest. Whether the VMSA still runs is the
  // processor's to say: a VMSA between VMRUN and #VMEXIT cannot lose the flag (Linux makes the AP
  // leave guest mode first, shutdown_all_aps; an offline AP waiting in the hypervisor is not in
  // guest mode). A vCPU of the guest that waits in its halt loop can be deleted.
  const std::uint32_t result = hw().rmpadjust(
      vmsa_gpa, PageSize::k4K,
      fs::rmpadjust_attributes(config_.guest_vmpl, fs::vmpl_permission::kAll, false));
  if (result == fs::rmp_result::kFailInUse) return SvsmResult::kProtocolFailInUse;
  if (result != fs::rmp_result::kSuccess) return SvsmResult::kInvalidAddress;
  e = VcpuEntry{};
  return SvsmResult::kSuccess;
}

SvsmResult SnpPlatform::remap_ca(std::uint32_t vcpu_index, std::uint64_t caa_gpa) {
  if (vcpu_index >= VcpuTable::kCapacity || !vcpus_[vcpu_index].used) {
    return SvsmResult::kInvalidParameter;
  }
  // The new calling area must be usable before the switch (the core zeroes it next).
  if (!ram_.validated(caa_gpa, kPageSize)) return SvsmResult::kInvalidAddress;
  vcpus_[vcpu_index].caa_gpa = caa_gpa;
  return SvsmResult::kSuccess;
}

std::size_t SnpPlatform::report_size() {
  return sizeof(fs::AttestationReport);
}

std::size_t SnpPlatform::certificates_size() {
  return 0;  // no extended reports: a verifier fetches the VCEK chain from AMD's KDS
}

SvsmResult SnpPlatform::attestation_report(const vtpm::ReportData& report_data,
                                           std::span<std::uint8_t> report,
                                           std::span<std::uint8_t>) {
  if (report.size() != sizeof(fs::AttestationReport) || current_ghcb_ == nullptr ||
      !guest_requests_.usable()) {
    return SvsmResult::kInvalidRequest;
  }
  fs::AttestationReport signed_report;
  const SnpStatus status =
      request_report(guest_requests_, *current_ghcb_,
                     std::span<const std::uint8_t, 64>(report_data, 64), signed_report);
  if (!status) {
    log_.write(LogLevel::kError, "snp: attestation report: %s (0x%lx)", status.error().what,
               static_cast<unsigned long>(status.error().value1));
    return SvsmResult::kInvalidRequest;
  }
  std::memcpy(report.data(), &signed_report, sizeof signed_report);
  return SvsmResult::kSuccess;
}

bool SnpPlatform::sha512(std::span<const std::uint8_t> data, vtpm::Sha512Digest& digest) {
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha512(), nullptr) != 1 ||
      length != sizeof digest) {
    log_.write(LogLevel::kError, "snp: SHA-512 failed in libcrypto; no report");
    std::memset(digest, 0, sizeof digest);
    return false;
  }
  return true;
}

}  // namespace cvtpm::snp
