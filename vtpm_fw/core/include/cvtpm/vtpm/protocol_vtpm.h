// vTPM protocol (protocol 2) of the SVSM specification (pub. 58019, chapter 8, tables 14-17):
//
//   call  name             inputs                                  outputs
//   0     SVSM_VTPM_QUERY  -                                       RCX = platform command bitmap
//                                                                  (bit 8: TPM_SEND_COMMAND),
//                                                                  RDX = features (0)
//   1     SVSM_VTPM_CMD    RCX = GPA of a 4 KiB request/response   the response over the request
//                          buffer (need not be page aligned)
//
// TPM_SEND_COMMAND request (little-endian): u32 platform command = 8, u8 locality = 0,
// u32 command size <= 4087, command bytes. Response: u32 response size <= 4092, response bytes.
// TPM-level errors travel inside the TPM response; RAX reports only transport errors:
//   RCX = 0                                  INVALID_PARAMETER
//   TPM in use by another vCPU               BUSY (the guest retries)
//   buffer not entirely guest memory         INVALID_ADDRESS
//   undefined platform command               INVALID_PARAMETER
//   defined but unsupported platform command UNSUPPORTED_CALL
//   locality != 0, size > 4087               INVALID_PARAMETER
//   TPM powered off                          INVALID_REQUEST
// Freestanding.
#pragma once

#include <cstdint>

#include "cvtpm/vtpm/guest_memory.h"
#include "cvtpm/vtpm/svsm_abi.h"
#include "cvtpm/vtpm/tpm_engine.h"

namespace cvtpm::vtpm {

class VtpmProtocol {
 public:
  // `engine` may be null (no vTPM): then every call answers UNSUPPORTED_PROTOCOL.
  VtpmProtocol(TpmEngine* engine, GuestMemory& memory) : engine_(engine), memory_(memory) {}

  // Inline: the dispatcher's per-command path goes straight to send_command().
  SvsmResult handle(std::uint32_t call, SvsmRegisters& regs) {
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

 private:
  SvsmResult send_command(std::uint64_t gpa);

  TpmEngine* engine_;
  GuestMemory& memory_;
  // Private copy of the request; used only under the engine lock. The response goes to the
  // guest straight from the engine's (private) response buffer, behind its size.
  std::uint8_t request_[kVtpmBufferSize];
  // Bytes fetched with the header: most TPM commands are shorter, so they arrive in one fetch.
  static constexpr std::size_t kFirstFetch = 64;
  static_assert(kFirstFetch > sizeof(TpmSendCommandRequest) && kFirstFetch <= kVtpmBufferSize);
};

}  // namespace cvtpm::vtpm
