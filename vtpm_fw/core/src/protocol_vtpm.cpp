#include "cvtpm/vtpm/protocol_vtpm.h"

#include <cstring>

#include "cvtpm/vtpm/tpm2_wire.h"

namespace cvtpm::vtpm {

SvsmResult VtpmProtocol::send_command(std::uint64_t gpa) {
  if (gpa == 0) return SvsmResult::kInvalidParameter;
  EngineLock lock(*engine_);  // request_ and the engine's response are shared by all vCPUs
  if (!lock.held()) return SvsmResult::kBusy;

  // One fetch for the header and the start of the command. It first checks that the whole
  // 4 KiB buffer the response may fill is the guest's, so a bad buffer has no effect at all.
  // The rest of a longer command is fetched once, after the header was checked: no guest byte is
  // fetched twice, and only the private copy is parsed and reaches the TPM.
  if (const SvsmResult r = memory_.read_prefix(gpa, kVtpmBufferSize, {request_, kFirstFetch});
      r != SvsmResult::kSuccess) {
    return r;
  }
  TpmSendCommandRequest request;
  std::memcpy(&request, request_, sizeof request);
  if (request.platform_command != platform_command::kSendCommand) {
    return platform_command::is_defined(request.platform_command) ? SvsmResult::kUnsupportedCall
                                                                  : SvsmResult::kInvalidParameter;
  }
  if (request.locality != 0 || request.command_size > kMaxTpmCommandSize) {
    return SvsmResult::kInvalidParameter;
  }
  if (!engine_->powered()) return SvsmResult::kInvalidRequest;

  constexpr std::size_t kFetched = kFirstFetch - sizeof request;
  std::span<std::uint8_t> command(request_ + sizeof request, request.command_size);
  if (command.size() > kFetched) {
    if (const SvsmResult r = memory_.read(gpa + kFirstFetch, command.subspan(kFetched));
        r != SvsmResult::kSuccess) {
      return r;
    }
  }

  std::span<const std::uint8_t> response;
  std::uint8_t failure[tpm2::kHeaderSize];
  if (auto executed = engine_->execute(command, request.locality)) {
    response = executed.value();  // at most kMaxTpmResponseSize bytes: it fits behind the size
  } else {
    // The TPM could not produce a response (out of memory, oversized response): the guest gets
    // a TPM failure, as from a TPM that failed the command.
    tpm2::Writer w(failure);
    w.u16(tpm2::kStNoSessions);
    w.u32(tpm2::kHeaderSize);
    w.u32(tpm2::kRcFailure);
    response = failure;
  }
  const TpmSendCommandResponse header{static_cast<std::uint32_t>(response.size())};
  std::uint8_t header_bytes[sizeof header];
  std::memcpy(header_bytes, &header, sizeof header);
  return memory_.write(gpa, header_bytes, response);
}

}  // namespace cvtpm::vtpm
