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

struct Service {
  const formats::Guid& guid;
  std::span<const std::uint8_t> data;
};

// Writes the services manifest of `services` (header, one entry each, then their data in the
// same order) into `out`, which holds kMaxManifestSize bytes; returns its size.
std::size_t services_manifest(std::span<const Service> services, std::uint8_t* out) {
  std::size_t data_offset =
      sizeof(ServicesManifestHeader) + services.size() * sizeof(ServicesManifestEntry);
  std::size_t size = data_offset;
  for (const Service& s : services) size += s.data.size();
  const ServicesManifestHeader header{kServicesManifestGuid, static_cast<std::uint32_t>(size),
                                      static_cast<std::uint32_t>(services.size())};
  std::memcpy(out, &header, sizeof header);
  std::uint8_t* entry_at = out + sizeof header;
  for (const Service& s : services) {
    const ServicesManifestEntry entry{s.guid, static_cast<std::uint32_t>(data_offset),
                                      static_cast<std::uint32_t>(s.data.size())};
    std::memcpy(entry_at, &entry, sizeof entry);
    std::memcpy(out + data_offset, s.data.data(), s.data.size());
    entry_at += sizeof entry;
    data_offset += s.data.size();
  }
  return size;
}

std::span<const std::uint8_t> bytes_of(const StateEvidence& evidence) {
  return {reinterpret_cast<const std::uint8_t*>(&evidence), sizeof evidence};
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
  const bool state_service = single_service && op.service_guid == kStateServiceGuid;
  if (single_service) {
    if (!(op.service_guid == kVtpmServiceGuid || state_service) || engine_ == nullptr) {
      return SvsmResult::kUnsupportedProtocol;
    }
    const std::uint32_t version = state_service ? kStateManifestVersion : kVtpmManifestVersion;
    if (op.manifest_version != version) return SvsmResult::kInvalidParameter;
  }

  // nonce || manifest, contiguous: REPORT_DATA is the SHA-512 of exactly these bytes.
  std::uint8_t material[kAttestNonceSize + kMaxManifestSize];
  std::uint8_t* const manifest = material + kAttestNonceSize;
  std::size_t manifest_size = 0;
  {
    std::uint8_t ek[kMaxEkPublicSize];
    std::size_t ek_size = 0;
    StateEvidence state = kEphemeralState;
    bool persistent = false;
    if (engine_ != nullptr) {
      // The EK changes only when the TPM is manufactured again; the state evidence changes in
      // the engine's NV commit, inside a command: both are read under the engine's lock.
      EngineLock lock(*engine_);
      if (!lock.held()) return SvsmResult::kBusy;
      const std::span<const std::uint8_t> ek_public = engine_->ek_public();
      if (ek_public.empty()) return SvsmResult::kInvalidRequest;  // no TPM manufactured yet
      ek_size = ek_public.size();
      std::memcpy(ek, ek_public.data(), ek_size);
      if (state_ != nullptr) {
        state = *state_;
        persistent = true;
      }
    }
    if (state_service) {
      std::memcpy(manifest, &state, sizeof state);
      manifest_size = sizeof state;
    } else if (single_service) {
      std::memcpy(manifest, ek, ek_size);
      manifest_size = ek_size;
    } else {
      // The vTPM, and with a persistent state attached the state service after it.
      const Service services[] = {{kVtpmServiceGuid, {ek, ek_size}},
                                  {kStateServiceGuid, bytes_of(state)}};
      const std::size_t count = engine_ == nullptr ? 0 : persistent ? 2 : 1;
      manifest_size = services_manifest({services, count}, manifest);
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
