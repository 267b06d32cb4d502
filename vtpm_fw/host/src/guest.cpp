#include "cvtpm/vtpm_host/guest.h"

#include <cstdio>
#include <cstring>

namespace cvtpm::vtpm::host {
namespace {

// Linux and OVMF reissue INCOMPLETE/BUSY calls without limit; a bound keeps a broken service
// from hanging a test.
constexpr int kMaxReissues = 1 << 20;
// Linux: SVSM_MAX_RETRIES in sev_svsm_report_new.
constexpr int kMaxAttestRetries = 3;
constexpr std::uint64_t kPage = 4096;

std::uint64_t page_align(std::uint64_t n) {
  return (n + kPage - 1) / kPage * kPage;
}

}  // namespace

std::uint64_t GuestVcpu::caa_gpa() const {
  return platform_.vcpus().at(vcpu_index_).caa_gpa;
}

SvsmRegisters GuestVcpu::call(const SvsmRegisters& in) {
  for (int attempt = 0; attempt < kMaxReissues; ++attempt) {
    const std::uint64_t caa = caa_gpa();
    platform_.guest_bytes(caa, 1)[0] = 1;  // call_pending
    SvsmRegisters regs = in;
    const ServeOutcome outcome = dispatcher_.serve_pending(CallContext{vcpu_index_, caa}, regs);
    // Back from VMGEXIT: pending = xchg(&caa->call_pending, 0).
    std::uint8_t& pending = platform_.guest_bytes(caa, 1)[0];
    const std::uint8_t was_pending = pending;
    pending = 0;
    if (outcome != ServeOutcome::kServed || was_pending != 0) {
      throw GuestError("the SVSM did not serve the call (call_pending still set)");
    }
    const auto result = static_cast<SvsmResult>(regs.rax);
    if (result != SvsmResult::kIncomplete && result != SvsmResult::kBusy) return regs;
  }
  throw GuestError("the SVSM kept answering INCOMPLETE or BUSY");
}

bool GuestTpmDriver::probe() {
  const SvsmRegisters out = vcpu_.call({call_rax(Protocol::kVtpm, vtpm_call::kQuery), 0, 0, 0, 0});
  return static_cast<SvsmResult>(out.rax) == SvsmResult::kSuccess &&
         (out.rcx & (std::uint64_t{1} << platform_command::kSendCommand)) != 0;
}

GuestTpmDriver::Exchange GuestTpmDriver::transmit(std::span<const std::uint8_t> command,
                                                  std::uint8_t locality) {
  if (command.size() > kMaxTpmCommandSize) {
    throw std::invalid_argument("TPM command larger than the SVSM vTPM buffer carries");
  }
  std::span<std::uint8_t> buffer = platform_.guest_bytes(buffer_gpa_, kVtpmBufferSize);
  const TpmSendCommandRequest request{platform_command::kSendCommand, locality,
                                      static_cast<std::uint32_t>(command.size())};
  std::memcpy(buffer.data(), &request, sizeof request);
  std::memcpy(buffer.data() + sizeof request, command.data(), command.size());
  std::memcpy(last_request_header_.data(), &request, sizeof request);

  const SvsmRegisters out =
      vcpu_.call({call_rax(Protocol::kVtpm, vtpm_call::kCmd), buffer_gpa_, 0, 0, 0});
  Exchange exchange{static_cast<SvsmResult>(out.rax), {}};
  if (exchange.result != SvsmResult::kSuccess) return exchange;

  TpmSendCommandResponse response{};
  std::memcpy(&response, buffer.data(), sizeof response);
  if (response.response_size > kMaxTpmResponseSize) {
    throw GuestError("vTPM response size " + std::to_string(response.response_size) +
                     " exceeds the buffer");
  }
  const std::uint8_t* bytes = buffer.data() + sizeof response;
  exchange.response.assign(bytes, bytes + response.response_size);
  return exchange;
}

GuestAttestation::Outcome GuestAttestation::attest(
    std::span<const std::uint8_t, kAttestNonceSize> nonce,
    const std::optional<formats::Guid>& service, std::uint32_t manifest_version) {
  std::uint64_t report_len = kPage;
  std::uint64_t manifest_len = kPage;
  std::uint64_t certificates_len = 0x4000;  // SEV_FW_BLOB_MAX_SIZE
  const std::uint64_t nonce_gpa = scratch_gpa_;
  const std::uint64_t call_id = call_rax(
      Protocol::kAttestation, service ? attest_call::kSingleService : attest_call::kServices);

  for (int attempt = 0;; ++attempt) {
    if (kPage + report_len + manifest_len + certificates_len > scratch_size_) {
      throw GuestError("attestation buffers outgrew the guest's scratch memory");
    }
    const std::uint64_t report_gpa = scratch_gpa_ + kPage;
    const std::uint64_t manifest_gpa = report_gpa + report_len;
    const std::uint64_t certificates_gpa = manifest_gpa + manifest_len;
    std::memcpy(platform_.guest_bytes(nonce_gpa, nonce.size()).data(), nonce.data(), nonce.size());
    auto buffers = platform_.guest_bytes(report_gpa, report_len + manifest_len + certificates_len);
    std::memset(buffers.data(), 0, buffers.size());

    AttestSingleServiceOp op{};
    op.common.report = {report_gpa, static_cast<std::uint32_t>(report_len), 0};
    op.common.nonce = {nonce_gpa, static_cast<std::uint16_t>(nonce.size()), {}};
    op.common.manifest = {manifest_gpa, static_cast<std::uint32_t>(manifest_len), 0};
    op.common.certificates = {certificates_gpa, static_cast<std::uint32_t>(certificates_len), 0};
    if (service) {
      op.service_guid = *service;
      op.manifest_version = manifest_version;
    }
    // Linux copies the whole struct into the calling area's buffer.
    const std::uint64_t op_gpa = vcpu_.caa_gpa() + kCallingAreaBufferOffset;
    std::memcpy(platform_.guest_bytes(op_gpa, sizeof op).data(), &op, sizeof op);

    const SvsmRegisters in{call_id, op_gpa, ~std::uint64_t{0}, ~std::uint64_t{0}, 0};
    const SvsmRegisters out = vcpu_.call(in);
    // Lengths the SVSM returned (a register it changed).
    const std::uint64_t new_manifest_len = out.rcx != in.rcx ? out.rcx : manifest_len;
    const std::uint64_t new_certificates_len = out.rdx != in.rdx ? out.rdx : certificates_len;
    const std::uint64_t new_report_len = out.r8 != in.r8 ? out.r8 : report_len;
    const auto result = static_cast<SvsmResult>(out.rax);

    if (result == SvsmResult::kInvalidParameter) {
      bool grow = false;
      if (new_report_len > report_len) {
        report_len = page_align(new_report_len);
        grow = true;
      }
      if (new_manifest_len > manifest_len) {
        manifest_len = page_align(new_manifest_len);
        grow = true;
      }
      if (new_certificates_len > certificates_len) {
        certificates_len = page_align(new_certificates_len);
        grow = true;
      }
      if (grow && attempt < kMaxAttestRetries) continue;
    }
    Outcome outcome{result, {}};
    if (result != SvsmResult::kSuccess) return outcome;
    if (new_report_len > report_len || new_manifest_len > manifest_len ||
        new_certificates_len > certificates_len) {
      throw GuestError("the SVSM reports more attestation data than the buffers hold");
    }
    auto copy = [&](std::uint64_t gpa, std::uint64_t len) {
      auto bytes = platform_.guest_bytes(gpa, len);
      return std::vector<std::uint8_t>(bytes.begin(), bytes.end());
    };
    outcome.evidence.report = copy(report_gpa, new_report_len);
    outcome.evidence.manifest = copy(manifest_gpa, new_manifest_len);
    outcome.evidence.certificates = copy(certificates_gpa, new_certificates_len);
    return outcome;
  }
}

std::string describe(SvsmResult result) {
  const char* name = "unknown result";
  switch (result) {
    case SvsmResult::kSuccess:
      name = "SVSM_SUCCESS";
      break;
    case SvsmResult::kIncomplete:
      name = "SVSM_ERR_INCOMPLETE";
      break;
    case SvsmResult::kUnsupportedProtocol:
      name = "SVSM_ERR_UNSUPPORTED_PROTOCOL";
      break;
    case SvsmResult::kUnsupportedCall:
      name = "SVSM_ERR_UNSUPPORTED_CALL";
      break;
    case SvsmResult::kInvalidAddress:
      name = "SVSM_ERR_INVALID_ADDRESS";
      break;
    case SvsmResult::kInvalidFormat:
      name = "SVSM_ERR_INVALID_FORMAT";
      break;
    case SvsmResult::kInvalidParameter:
      name = "SVSM_ERR_INVALID_PARAMETER";
      break;
    case SvsmResult::kInvalidRequest:
      name = "SVSM_ERR_INVALID_REQUEST";
      break;
    case SvsmResult::kBusy:
      name = "SVSM_ERR_BUSY";
      break;
    case SvsmResult::kPvalidateFailInput:
      name = "SVSM_ERR_PVALIDATE_FAIL_INPUT";
      break;
    case SvsmResult::kProtocolFailInUse:
      name = "SVSM_ERR_PROTOCOL_FAIL_INUSE";
      break;
    case SvsmResult::kPvalidateFailSizeMismatch:
      name = "SVSM_ERR_PVALIDATE_FAIL_SIZE_MISMATCH";
      break;
    case SvsmResult::kPvalidateFailNoChange:
      name = "SVSM_ERR_PVALIDATE_FAIL_NO_CHANGE";
      break;
  }
  char text[96];
  std::snprintf(text, sizeof text, "%s (0x%llx)", name, static_cast<unsigned long long>(result));
  return text;
}

}  // namespace cvtpm::vtpm::host
