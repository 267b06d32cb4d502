#include "cvtpm/vtpm/protocol_attest.h"

#include <cstring>

#include "cvtpm/vtpm/allocator.h"

namespace cvtpm::vtpm {
namespace {

constexpr bool page_aligned(std::uint64_t gpa) {
  return (gpa & kPageMask) == 0;
}

bool reserved_fields_zero(const AttestServicesOp& op) {
  std::uint8_t nonce_reserved = 0;
  for (std::uint8_t b : op.nonce.reserved) nonce_reserved |= b;
  return op.report.reserved == 0 && op.manifest.reserved == 0 && op.certificates.reserved == 0 &&
         nonce_reserved == 0;
}

// Writes the services manifest listing the vTPM (when `ek` is not empty) into `out`, which holds
// kMaxManifestSize bytes; returns its size.
std::size_t services_manifest(std::span<const std::uint8_t> ek, std::uint8_t* out) {
  const std::uint32_t count = ek.empty() ? 0 : 1;
  const std::size_t data_offset =
      sizeof(ServicesManifestHeader) + count * sizeof(ServicesManifestEntry);
  const std::size_t size = data_offset + ek.size();
  const ServicesManifestHeader header{kServicesManifestGuid, static_cast<std::uint32_t>(size),
                                      count};
  std::memcpy(out, &header, sizeof header);
  if (count != 0) {
    const ServicesManifestEntry entry{kVtpmServiceGuid, static_cast<std::uint32_t>(data_offset),
                                      static_cast<std::uint32_t>(ek.size())};
    std::memcpy(out + sizeof header, &entry, sizeof entry);
    std::memcpy(out + data_offset, ek.data(), ek.size());
  }
  return size;
}

}  // namespace

SvsmResult AttestProtocol::handle(std::uint32_t call, SvsmRegisters& regs) {
  switch (call) {
    case attest_call::kServices:
      return attest(false, regs);
    case attest_call::kSingleService:
      return attest(true, regs);
    default:
      return SvsmResult::kUnsupportedCall;
  }
}

SvsmResult AttestProtocol::attest(bool single_service, SvsmRegisters& regs) {
  // One private copy of the operation; nothing below reads it from the guest again.
  AttestSingleServiceOp op{};
  const std::size_t op_size =
      single_service ? sizeof(AttestSingleServiceOp) : sizeof(AttestServicesOp);
  if (const SvsmResult r = memory_.read(regs.rcx, {reinterpret_cast<std::uint8_t*>(&op), op_size});
      r != SvsmResult::kSuccess) {
    return r;
  }
  const AttestServicesOp& c = op.common;
  const bool want_certificates = c.certificates.size != 0;
  if (!reserved_fields_zero(c) || (single_service && op.reserved != 0)) {
    return SvsmResult::kInvalidParameter;
  }
  if (!page_aligned(c.report.gpa) || !page_aligned(c.manifest.gpa) ||
      (want_certificates && !page_aligned(c.certificates.gpa))) {
    return SvsmResult::kInvalidParameter;
  }
  if (c.nonce.size != kAttestNonceSize ||
      (c.nonce.gpa & kPageMask) + kAttestNonceSize > kPageSize) {
    return SvsmResult::kInvalidParameter;
  }
  if (single_service) {
    if (!(op.service_guid == kVtpmServiceGuid) || engine_ == nullptr) {
      return SvsmResult::kUnsupportedProtocol;
    }
    if (op.manifest_version != kVtpmManifestVersion) return SvsmResult::kInvalidParameter;
  }

  // nonce || manifest, contiguous: REPORT_DATA is the SHA-512 of exactly these bytes.
  std::uint8_t material[kAttestNonceSize + kMaxManifestSize];
  std::uint8_t* const manifest = material + kAttestNonceSize;
  std::size_t manifest_size = 0;
  {
    std::uint8_t ek[kMaxEkPublicSize];
    std::size_t ek_size = 0;
    if (engine_ != nullptr) {
      EngineLock lock(*engine_);  // the EK changes only when the TPM is manufactured again
      if (!lock.held()) return SvsmResult::kBusy;
      const std::span<const std::uint8_t> ek_public = engine_->ek_public();
      if (ek_public.empty()) return SvsmResult::kInvalidRequest;  // no TPM manufactured yet
      ek_size = ek_public.size();
      std::memcpy(ek, ek_public.data(), ek_size);
    }
    if (single_service) {
      std::memcpy(manifest, ek, ek_size);
      manifest_size = ek_size;
    } else {
      manifest_size = services_manifest({ek, ek_size}, manifest);
    }
  }

  const std::size_t report_size = platform_.report_size();
  const std::size_t certificates_size = want_certificates ? platform_.certificates_size() : 0;
  if (report_size == 0 || report_size > kMaxReportSize ||
      certificates_size > kMaxCertificatesSize) {
    return SvsmResult::kInvalidRequest;  // the platform cannot produce a report
  }
  // Sizes go back even when a buffer is too small: the guest grows its buffers and retries.
  regs.rcx = manifest_size;
  regs.rdx = certificates_size;
  regs.r8 = report_size;
  if (c.report.size < report_size || c.manifest.size < manifest_size ||
      (want_certificates && c.certificates.size < certificates_size)) {
    return SvsmResult::kInvalidParameter;
  }
  if (!memory_.owns(c.report.gpa, report_size) || !memory_.owns(c.manifest.gpa, manifest_size) ||
      (certificates_size != 0 && !memory_.owns(c.certificates.gpa, certificates_size))) {
    return SvsmResult::kInvalidAddress;
  }
  if (const SvsmResult r = memory_.read(c.nonce.gpa, {material, kAttestNonceSize});
      r != SvsmResult::kSuccess) {
    return r;
  }

  ReportData report_data;
  if (!platform_.sha512({material, kAttestNonceSize + manifest_size}, report_data)) {
    return SvsmResult::kInvalidRequest;
  }

  ScopedAllocation report(platform_.allocator(), report_size, 8);
  ScopedAllocation certificates(platform_.allocator(), certificates_size, 8);
  if (report.empty() || (certificates_size != 0 && certificates.empty())) {
    return SvsmResult::kInvalidRequest;  // out of memory
  }
  std::span<std::uint8_t> report_bytes(static_cast<std::uint8_t*>(report.get()), report_size);
  std::span<std::uint8_t> certificate_bytes(static_cast<std::uint8_t*>(certificates.get()),
                                            certificates_size);
  if (const SvsmResult r =
          platform_.attestation_report(report_data, report_bytes, certificate_bytes);
      r != SvsmResult::kSuccess) {
    return r;
  }

  if (const SvsmResult r = memory_.write(c.report.gpa, report_bytes); r != SvsmResult::kSuccess) {
    return r;
  }
  if (const SvsmResult r = memory_.write(c.manifest.gpa, {manifest, manifest_size});
      r != SvsmResult::kSuccess) {
    return r;
  }
  return memory_.write(c.certificates.gpa, certificate_bytes);
}

}  // namespace cvtpm::vtpm
