#include "cvtpm/vtpm/protocol_vtpm.h"

#include <cstring>

#include "cvtpm/vtpm/tpm2_wire.h"

namespace cvtpm::vtpm {

SvsmResult VtpmProtocol::handle(std::uint32_t call, SvsmRegisters& regs) {
  // Guests probe with SVSM_VTPM_QUERY directly: without a TPM the protocol does not exist.
  if (engine_ == nullptr) return SvsmResult::kUnsupportedProtocol;
  switch (call) {
    case vtpm_call::kQuery:
      regs.rcx = kSupportedPlatformCommands;
      regs.rdx = kSupportedVtpmFeatures;
      return SvsmResult::kSuccess;
    case vtpm_call::kCmd:
      return send_command(regs.rcx);
    default:
      return SvsmResult::kUnsupportedCall;
  }
}

SvsmResult VtpmProtocol::send_command(std::uint64_t gpa) {
  if (gpa == 0) return SvsmResult::kInvalidParameter;
  EngineLock lock(*engine_);  // buffer_ is shared by all vCPUs
  if (!lock.held()) return SvsmResult::kBusy;

  // One fetch for the header and the start of the command. It first checks that the whole
  // 4 KiB buffer the response may fill is the guest's, so a bad buffer has no effect at all.
  // The rest of a longer command is fetched once, after the header was checked: no guest byte is
  // fetched twice, and only the private copy is parsed and reaches the TPM.
  if (const SvsmResult r = memory_.read_prefix(gpa, kVtpmBufferSize, {buffer_, kFirstFetch});
      r != SvsmResult::kSuccess) {
    return r;
  }
  TpmSendCommandRequest request{};
  std::memcpy(&request, buffer_, sizeof request);
  if (!platform_command::is_defined(request.platform_command)) {
    return SvsmResult::kInvalidParameter;
  }
  if (request.platform_command != platform_command::kSendCommand) {
    return SvsmResult::kUnsupportedCall;
  }
  if (request.locality != 0 || request.command_size > kMaxTpmCommandSize) {
    return SvsmResult::kInvalidParameter;
  }
  if (!engine_->powered()) return SvsmResult::kInvalidRequest;

  constexpr std::size_t kFetched = kFirstFetch - sizeof request;
  std::span<std::uint8_t> command(buffer_ + sizeof request, request.command_size);
  if (command.size() > kFetched) {
    if (const SvsmResult r = memory_.read(gpa + kFirstFetch, command.subspan(kFetched));
        r != SvsmResult::kSuccess) {
      return r;
    }
  }

  std::size_t response_size;
  std::uint8_t* const response = buffer_ + sizeof(TpmSendCommandResponse);
  auto executed = engine_->execute(command, request.locality);
  if (executed) {
    response_size = executed.value().size();
    std::memcpy(response, executed.value().data(), response_size);
  } else {
    // The TPM could not produce a response (out of memory, oversized response): the guest gets
    // a TPM failure, as from a TPM that failed the command.
    tpm2::Writer w({response, tpm2::kHeaderSize});
    w.u16(tpm2::kStNoSessions);
    w.u32(tpm2::kHeaderSize);
    w.u32(tpm2::kRcFailure);
    response_size = tpm2::kHeaderSize;
  }
  const TpmSendCommandResponse header{static_cast<std::uint32_t>(response_size)};
  std::memcpy(buffer_, &header, sizeof header);
  return memory_.write(gpa, {buffer_, sizeof header + response_size});
}

}  // namespace cvtpm::vtpm
