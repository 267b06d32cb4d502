#include "platform/native/vtpm_platform.h"

#include <openssl/evp.h>

#include <cstring>

#include "console/log.h"
#include "cvtpm/formats/snp/attestation_report.h"

namespace cvtpm::fw::native {

namespace {

constexpr std::uint64_t kPage = 4096;

bool overlaps(std::uint64_t start, std::uint64_t end, std::uint64_t other_start,
              std::uint64_t other_end) {
  return start < other_end && other_start < end;
}

}  // namespace

bool NativeVtpmPlatform::guest_owns(std::uint64_t gpa, std::uint64_t size) {
  return owned(gpa, size);
}

bool NativeVtpmPlatform::owned(std::uint64_t gpa, std::uint64_t size) const {
  if (size == 0 || gpa > UINT64_MAX - size) return false;
  const std::uint64_t end = gpa + size;
  if (end > config_.identity_limit || gpa < kPage) return false;
  if (overlaps(gpa, end, config_.firmware_start, config_.firmware_end)) return false;
  return config_.boot != nullptr && ram_contains(*config_.boot, gpa, end);
}

vtpm::GuestWindow NativeVtpmPlatform::fixed_guest_window() const {
  const std::uint64_t start = config_.guest_area_start;
  const std::uint64_t end = config_.guest_area_end;
  if (end <= start || !owned(start, end - start)) return {};
  return {start, end, config_.window};
}

// The core asks only for ranges guest_owns() accepted; each copy refuses anything else all the
// same.
bool NativeVtpmPlatform::read_guest(std::uint64_t gpa, std::span<std::uint8_t> out) {
  if (out.empty() || !guest_owns(gpa, out.size())) return false;
  std::memcpy(out.data(), guest_pointer(gpa), out.size());
  return true;
}

bool NativeVtpmPlatform::write_guest(std::uint64_t gpa, std::span<const std::uint8_t> first,
                                     std::span<const std::uint8_t> second) {
  const std::size_t size = first.size() + second.size();
  if (size == 0 || !guest_owns(gpa, size)) return false;
  if (!first.empty()) std::memcpy(guest_pointer(gpa), first.data(), first.size());
  if (!second.empty()) std::memcpy(guest_pointer(gpa) + first.size(), second.data(), second.size());
  return true;
}

bool NativeVtpmPlatform::exchange_guest_byte(std::uint64_t gpa, std::uint8_t value,
                                             std::uint8_t& old) {
  if (!guest_owns(gpa, 1)) return false;
  old = __atomic_exchange_n(guest_pointer(gpa), value, __ATOMIC_SEQ_CST);
  return true;
}

vtpm::PvalidateStatus NativeVtpmPlatform::pvalidate(std::uint64_t /*gpa*/, vtpm::PageSize /*size*/,
                                                    bool validate) {
  return validate ? vtpm::PvalidateStatus::kNoChange : vtpm::PvalidateStatus::kFailInput;
}

vtpm::SvsmResult NativeVtpmPlatform::create_vcpu(std::uint64_t /*vmsa_gpa*/,
                                                 std::uint64_t /*caa_gpa*/,
                                                 std::uint32_t /*apic_id*/) {
  return vtpm::SvsmResult::kInvalidParameter;
}

vtpm::SvsmResult NativeVtpmPlatform::delete_vcpu(std::uint64_t /*vmsa_gpa*/) {
  return vtpm::SvsmResult::kInvalidParameter;
}

vtpm::SvsmResult NativeVtpmPlatform::remap_ca(std::uint32_t vcpu_index, std::uint64_t caa_gpa) {
  if (vcpu_index != 0) return vtpm::SvsmResult::kInvalidParameter;
  calling_area_ = caa_gpa;
  return vtpm::SvsmResult::kSuccess;
}

std::size_t NativeVtpmPlatform::report_size() {
  return sizeof(formats::snp::AttestationReport);
}

std::size_t NativeVtpmPlatform::certificates_size() {
  return 0;
}

vtpm::SvsmResult NativeVtpmPlatform::attestation_report(const vtpm::ReportData& report_data,
                                                        std::span<std::uint8_t> report,
                                                        std::span<std::uint8_t> certificates) {
  if (report.size() != sizeof(formats::snp::AttestationReport) || !certificates.empty()) {
    return vtpm::SvsmResult::kInvalidRequest;
  }
  formats::snp::AttestationReport unsigned_report{};
  unsigned_report.version = formats::snp::kAttestationReportVersion;
  unsigned_report.vmpl = 0;
  unsigned_report.signature_algo = 0;  // none: this report is not signed by anything
  std::memcpy(unsigned_report.report_data, report_data, sizeof unsigned_report.report_data);
  std::memcpy(unsigned_report.host_data, kNotAttestedMarker, sizeof kNotAttestedMarker);
  std::memcpy(report.data(), &unsigned_report, sizeof unsigned_report);
  return vtpm::SvsmResult::kSuccess;
}

bool NativeVtpmPlatform::sha512(std::span<const std::uint8_t> data, vtpm::Sha512Digest& digest) {
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha512(), nullptr) != 1 ||
      length != sizeof digest) {
    log::error("vtpm platform: SHA-512 failed in libcrypto; no report");
    std::memset(digest, 0, sizeof digest);
    return false;
  }
  return true;
}

}  // namespace cvtpm::fw::native
