#include "cvtpm/vtpm_host/host_platform.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/support/digest.h"

namespace cvtpm::vtpm::host {
namespace {

constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kLargePage = 2 * 1024 * 1024;
using formats::snp::kEferSvme;

[[noreturn]] void contract_violation(const char* what, std::uint64_t gpa, std::size_t size) {
  // The core must never ask for this; a test or fuzzer run stops right here.
  std::fprintf(stderr, "HostPlatform: contract violation: %s (gpa 0x%llx, size 0x%zx)\n", what,
               static_cast<unsigned long long>(gpa), size);
  std::abort();
}

}  // namespace

HostPlatform::HostPlatform(HostPlatformConfig config)
    : config_(std::move(config)),
      memory_(config_.guest_size),
      validated_(config_.guest_size / kPage, false) {
  if (config_.guest_base % kPage != 0 || config_.guest_size % kPage != 0 ||
      config_.guest_size == 0) {
    throw std::invalid_argument("HostPlatform: guest RAM must be whole pages");
  }
  for (std::uint64_t large : config_.large_pages) {
    if (large % kLargePage != 0 || large < config_.guest_base || large + kLargePage > guest_end()) {
      throw std::invalid_argument("HostPlatform: a 2 MiB page outside guest RAM or misaligned");
    }
  }
  vcpus_.push_back({0, 0, config_.bsp_caa_gpa, true});
}

bool HostPlatform::guest_owns(std::uint64_t gpa, std::uint64_t size) {
  if (size == 0 || gpa > UINT64_MAX - size)
    contract_violation("guest_owns of a bad range", gpa, size);
  if (gpa < config_.guest_base || gpa + size > guest_end()) return false;
  if (vmsa_pages_.empty()) return true;
  for (std::uint64_t vmsa : vmsa_pages_) {
    if (gpa < vmsa + kPage && vmsa < gpa + size) return false;  // a VMSA is the SVSM's now
  }
  return true;
}

std::uint8_t* HostPlatform::checked_access(std::uint64_t gpa, std::size_t size) {
  if (size == 0 || size > kPage || (gpa % kPage) + size > kPage) {
    contract_violation("guest access across a page boundary", gpa, size);
  }
  if (!guest_owns(gpa, size))
    contract_violation("guest access to memory the guest does not own", gpa, size);
  return memory_.data() + (gpa - config_.guest_base);
}

void HostPlatform::finish_access(const GuestAccessRecord& record) {
  if (recording_) accesses_.push_back(record);
  if (after_access) after_access(record);
}

bool HostPlatform::read_guest(std::uint64_t gpa, std::span<std::uint8_t> out) {
  std::memcpy(out.data(), checked_access(gpa, out.size()), out.size());
  finish_access({gpa, out.size(), GuestAccess::kRead});
  return true;
}

bool HostPlatform::write_guest(std::uint64_t gpa, std::span<const std::uint8_t> first,
                               std::span<const std::uint8_t> second) {
  const std::size_t size = first.size() + second.size();
  std::uint8_t* to = checked_access(gpa, size);
  if (!first.empty()) std::memcpy(to, first.data(), first.size());
  if (!second.empty()) std::memcpy(to + first.size(), second.data(), second.size());
  finish_access({gpa, size, GuestAccess::kWrite});
  return true;
}

bool HostPlatform::exchange_guest_byte(std::uint64_t gpa, std::uint8_t value, std::uint8_t& old) {
  old = std::atomic_ref<std::uint8_t>(*checked_access(gpa, 1)).exchange(value);
  finish_access({gpa, 1, GuestAccess::kWrite});
  return true;
}

std::span<std::uint8_t> HostPlatform::guest_bytes(std::uint64_t gpa, std::size_t size) {
  if (gpa < config_.guest_base || gpa > guest_end() || size > guest_end() - gpa) {
    throw std::out_of_range("HostPlatform::guest_bytes outside guest RAM");
  }
  return {memory_.data() + (gpa - config_.guest_base), size};
}

bool HostPlatform::in_large_page(std::uint64_t gpa) const {
  return std::any_of(config_.large_pages.begin(), config_.large_pages.end(),
                     [gpa](std::uint64_t l) { return gpa >= l && gpa < l + kLargePage; });
}

bool HostPlatform::validated(std::uint64_t gpa) const {
  return validated_.at(page_index(gpa));
}

PvalidateStatus HostPlatform::pvalidate(std::uint64_t gpa, PageSize size, bool validate) {
  ++pvalidate_calls_;
  const std::uint64_t bytes = size == PageSize::k2M ? kLargePage : kPage;
  if (gpa % bytes != 0 || !guest_owns(gpa, bytes)) {
    contract_violation("pvalidate of a page the core should have rejected", gpa, bytes);
  }
  if (pvalidate_fail_input.count(gpa) != 0) return PvalidateStatus::kFailInput;
  const bool large_entry = in_large_page(gpa);
  if ((size == PageSize::k2M) != large_entry) return PvalidateStatus::kFailSizeMismatch;
  const std::size_t first = page_index(gpa);
  if (validated_[first] == validate) return PvalidateStatus::kNoChange;
  for (std::size_t i = 0; i < bytes / kPage; ++i) validated_[first + i] = validate;
  if (validate) std::memset(memory_.data() + (gpa - config_.guest_base), 0, bytes);
  return PvalidateStatus::kSuccess;
}

SvsmResult HostPlatform::create_vcpu(std::uint64_t vmsa_gpa, std::uint64_t caa_gpa,
                                     std::uint32_t apic_id) {
  if (vmsa_pages_.count(vmsa_gpa) != 0) return SvsmResult::kProtocolFailInUse;
  // Take the page from the guest first, then check what it holds: the guest cannot change it
  // between the check and its use.
  vmsa_pages_.insert(vmsa_gpa);
  formats::snp::Vmsa vmsa;
  std::memcpy(&vmsa, memory_.data() + (vmsa_gpa - config_.guest_base), sizeof vmsa);
  if (vmsa.vmpl != config_.guest_vmpl || (vmsa.efer & kEferSvme) == 0 ||
      vmsa.sev_features != config_.guest_sev_features) {
    vmsa_pages_.erase(vmsa_gpa);
    return SvsmResult::kInvalidParameter;
  }
  vcpus_.push_back({apic_id, vmsa_gpa, caa_gpa, false});
  return SvsmResult::kSuccess;
}

SvsmResult HostPlatform::delete_vcpu(std::uint64_t vmsa_gpa) {
  auto it = std::find_if(vcpus_.begin(), vcpus_.end(), [vmsa_gpa](const SimulatedVcpu& v) {
    return v.vmsa_gpa != 0 && v.vmsa_gpa == vmsa_gpa;
  });
  if (it == vcpus_.end()) return SvsmResult::kInvalidParameter;
  if (it->running) return SvsmResult::kProtocolFailInUse;
  vcpus_.erase(it);
  vmsa_pages_.erase(vmsa_gpa);
  return SvsmResult::kSuccess;
}

void HostPlatform::set_running(std::uint64_t vmsa_gpa, bool running) {
  for (SimulatedVcpu& v : vcpus_) {
    if (v.vmsa_gpa == vmsa_gpa) v.running = running;
  }
}

SvsmResult HostPlatform::remap_ca(std::uint32_t vcpu_index, std::uint64_t caa_gpa) {
  if (vcpu_index >= vcpus_.size()) return SvsmResult::kInvalidParameter;
  vcpus_[vcpu_index].caa_gpa = caa_gpa;
  return SvsmResult::kSuccess;
}

std::size_t HostPlatform::report_size() {
  return sizeof(formats::snp::AttestationReport);
}

std::size_t HostPlatform::certificates_size() {
  return config_.certificates.size();
}

SvsmResult HostPlatform::attestation_report(const ReportData& report_data,
                                            std::span<std::uint8_t> report,
                                            std::span<std::uint8_t> certificates) {
  if (report.size() != report_size() ||
      (!certificates.empty() && certificates.size() != certificates_size())) {
    contract_violation("attestation_report with wrong buffer sizes", 0, report.size());
  }
  const formats::snp::AttestationReport signed_report =
      signer_.sign(std::span<const std::uint8_t, 64>(report_data, 64), config_.report);
  std::memcpy(report.data(), &signed_report, sizeof signed_report);
  if (!certificates.empty()) {
    std::memcpy(certificates.data(), config_.certificates.data(), certificates.size());
  }
  ++reports_signed_;
  return SvsmResult::kSuccess;
}

bool HostPlatform::sha512(std::span<const std::uint8_t> data, Sha512Digest& digest) {
  if (config_.sha512_fails) {
    std::memset(digest, 0, sizeof digest);
    return false;
  }
  const auto d = cvtpm::sha512(data);
  std::memcpy(digest, d.data(), sizeof digest);
  return true;
}

}  // namespace cvtpm::vtpm::host
