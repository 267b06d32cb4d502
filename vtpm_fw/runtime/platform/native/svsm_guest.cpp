#include "platform/native/svsm_guest.h"

#include <atomic>
#include <cstring>

namespace cvtpm::fw::native {

namespace {

// Linux and OVMF reissue INCOMPLETE and BUSY without limit; the native guest stops somewhere.
constexpr int kMaxReissues = 1 << 16;
constexpr std::uint64_t kAll = ~std::uint64_t{0};

}  // namespace

SvsmGuest::Call SvsmGuest::call(const vtpm::SvsmRegisters& in) {
  for (int attempt = 0; attempt < kMaxReissues; ++attempt) {
    const std::uint64_t caa = platform_.calling_area();
    std::uint8_t* pending = platform_.guest_pointer(caa);
    std::atomic_ref<std::uint8_t>(*pending).store(1, std::memory_order_release);
    vtpm::SvsmRegisters regs = in;
    const vtpm::ServeOutcome outcome = dispatcher_.serve_pending({0, caa}, regs);
    // Back from the call: pending = xchg(&caa->call_pending, 0), as the guest does.
    const std::uint8_t was_pending =
        std::atomic_ref<std::uint8_t>(*pending).exchange(0, std::memory_order_acq_rel);
    if (outcome != vtpm::ServeOutcome::kServed || was_pending != 0) return {regs, false};
    const auto result = static_cast<vtpm::SvsmResult>(regs.rax);
    if (result != vtpm::SvsmResult::kIncomplete && result != vtpm::SvsmResult::kBusy) {
      return {regs, true};
    }
  }
  return {vtpm::SvsmRegisters{static_cast<std::uint64_t>(vtpm::SvsmResult::kBusy), 0, 0, 0, 0},
          false};
}

bool SvsmGuest::probe_vtpm() {
  const Call c = call({vtpm::call_rax(vtpm::Protocol::kVtpm, vtpm::vtpm_call::kQuery), 0, 0, 0, 0});
  return c.served && static_cast<vtpm::SvsmResult>(c.regs.rax) == vtpm::SvsmResult::kSuccess &&
         (c.regs.rcx & vtpm::kSupportedPlatformCommands) != 0;
}

SvsmGuest::TpmExchange SvsmGuest::send_tpm_command(std::span<const std::uint8_t> command,
                                                   std::uint8_t locality,
                                                   std::span<std::uint8_t> response) {
  if (command.size() > vtpm::kMaxTpmCommandSize) {
    return {vtpm::SvsmResult::kInvalidParameter, 0, true};
  }
  std::uint8_t* buffer = platform_.guest_pointer(area_.tpm_buffer);
  const vtpm::TpmSendCommandRequest request{vtpm::platform_command::kSendCommand, locality,
                                            static_cast<std::uint32_t>(command.size())};
  std::memcpy(buffer, &request, sizeof request);
  std::memcpy(last_header_, &request, sizeof request);
  if (!command.empty()) std::memcpy(buffer + sizeof request, command.data(), command.size());

  const Call c = call(
      {vtpm::call_rax(vtpm::Protocol::kVtpm, vtpm::vtpm_call::kCmd), area_.tpm_buffer, 0, 0, 0});
  const auto result = static_cast<vtpm::SvsmResult>(c.regs.rax);
  if (!c.served) return {result, 0, true};
  if (result != vtpm::SvsmResult::kSuccess) return {result, 0, false};
  vtpm::TpmSendCommandResponse header{};
  std::memcpy(&header, buffer, sizeof header);
  if (header.response_size > vtpm::kMaxTpmResponseSize || header.response_size > response.size()) {
    return {result, 0, true};
  }
  std::memcpy(response.data(), buffer + sizeof header, header.response_size);
  return {result, header.response_size, false};
}

SvsmGuest::Attestation SvsmGuest::attest(
    bool single_service, std::span<const std::uint8_t, vtpm::kAttestNonceSize> nonce) {
  std::memcpy(platform_.guest_pointer(area_.nonce), nonce.data(), nonce.size());
  std::memset(platform_.guest_pointer(area_.report), 0, vtpm::kPageSize);
  std::memset(platform_.guest_pointer(area_.manifest), 0, vtpm::kPageSize);

  vtpm::AttestSingleServiceOp op{};
  op.common.report = {area_.report, static_cast<std::uint32_t>(vtpm::kPageSize), 0};
  op.common.nonce = {area_.nonce, static_cast<std::uint16_t>(nonce.size()), {}};
  op.common.manifest = {area_.manifest, static_cast<std::uint32_t>(vtpm::kPageSize), 0};
  op.common.certificates = {0, 0, 0};  // no certificates wanted
  if (single_service) {
    op.service_guid = vtpm::kVtpmServiceGuid;
    op.manifest_version = vtpm::kVtpmManifestVersion;
  }
  // As Linux: the operation in the calling area's buffer, RDX = R8 = -1 to spot returned sizes.
  const std::uint64_t op_gpa = platform_.calling_area() + vtpm::kCallingAreaBufferOffset;
  std::memcpy(platform_.guest_pointer(op_gpa), &op, single_service ? sizeof op : sizeof op.common);
  const std::uint64_t call_id = vtpm::call_rax(
      vtpm::Protocol::kAttestation,
      single_service ? vtpm::attest_call::kSingleService : vtpm::attest_call::kServices);
  const vtpm::SvsmRegisters in{call_id, op_gpa, kAll, kAll, 0};
  const Call c = call(in);
  Attestation a{static_cast<vtpm::SvsmResult>(c.regs.rax), !c.served, {}, {}, {}};
  if (!c.served || a.result != vtpm::SvsmResult::kSuccess) return a;
  const std::uint64_t manifest_size = c.regs.rcx;
  const std::uint64_t certificates_size = c.regs.rdx == in.rdx ? 0 : c.regs.rdx;
  const std::uint64_t report_size = c.regs.r8;
  if (manifest_size > vtpm::kPageSize || report_size > vtpm::kPageSize || certificates_size != 0) {
    a.malformed = true;
    return a;
  }
  a.report = {platform_.guest_pointer(area_.report), static_cast<std::size_t>(report_size)};
  a.manifest = {platform_.guest_pointer(area_.manifest), static_cast<std::size_t>(manifest_size)};
  return a;
}

}  // namespace cvtpm::fw::native
