// The socket protocol of swtpm that tpm2-tss' "swtpm" TCTI speaks (tpm2-tss
// src/tss2-tcti/tcti-swtpm.c; swtpm include/swtpm/tpm_ioctl.h "Commands used by the non-CUSE
// TPMs"; swtpm src/swtpm/ctrlchannel.c):
//   data port N      raw TPM 2.0 commands in, raw responses out. The TCTI may open a connection
//                    per command (and once without any, as a reachability check).
//   control port N+1 big-endian u32 command code + payload in; big-endian u32 result (+ payload)
//                    out. The TCTI sends CMD_SET_LOCALITY(0) when it starts and CMD_INIT to
//                    reset the TPM.
// This file holds the constants and the two parsers of client bytes (both bounds-checked and
// fuzzed: tests/fuzz/vtpmd_protocol_fuzz.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cvtpm::vtpm::host::swtpm {

// Control command codes.
inline constexpr std::uint32_t kCmdGetCapability = 0x01;
inline constexpr std::uint32_t kCmdInit = 0x02;
inline constexpr std::uint32_t kCmdShutdown = 0x03;
inline constexpr std::uint32_t kCmdGetTpmEstablished = 0x04;
inline constexpr std::uint32_t kCmdSetLocality = 0x05;
inline constexpr std::uint32_t kCmdHashStart = 0x06;
inline constexpr std::uint32_t kCmdHashData = 0x07;
inline constexpr std::uint32_t kCmdHashEnd = 0x08;
inline constexpr std::uint32_t kCmdCancelTpmCmd = 0x09;
inline constexpr std::uint32_t kCmdStoreVolatile = 0x0a;
inline constexpr std::uint32_t kCmdResetTpmEstablished = 0x0b;
inline constexpr std::uint32_t kCmdGetStateBlob = 0x0c;
inline constexpr std::uint32_t kCmdSetStateBlob = 0x0d;
inline constexpr std::uint32_t kCmdStop = 0x0e;
inline constexpr std::uint32_t kCmdGetConfig = 0x0f;
inline constexpr std::uint32_t kCmdSetDatafd = 0x10;
inline constexpr std::uint32_t kCmdSetBufferSize = 0x11;
inline constexpr std::uint32_t kCmdGetInfo = 0x12;
// cvtpm extension, unknown to swtpm (which answers TPM_BAD_ORDINAL): an SVSM attestation.
// Payload: u8 mode (0 = SVSM_ATTEST_SERVICES, 1 = SVSM_ATTEST_SINGLE_SERVICE of the vTPM),
// 64-byte nonce. Reply: BE32 result, BE64 SVSM RAX, BE32 report size, BE32 manifest size,
// BE32 certificates size, then the report, the manifest and the certificates.
inline constexpr std::uint32_t kCmdCvtpmAttest = 0x4356'0001;
inline constexpr std::size_t kCvtpmAttestPayload = 1 + 64;

// PTM_INIT_FLAG_DELETE_VOLATILE
inline constexpr std::uint32_t kInitDeleteVolatile = 1;

// PTM_CAP_* bits of CMD_GET_CAPABILITY.
namespace capability {
inline constexpr std::uint32_t kInit = 1u << 0;
inline constexpr std::uint32_t kShutdown = 1u << 1;
inline constexpr std::uint32_t kGetTpmEstablished = 1u << 2;
inline constexpr std::uint32_t kSetLocality = 1u << 3;
inline constexpr std::uint32_t kCancelTpmCmd = 1u << 5;
inline constexpr std::uint32_t kStop = 1u << 10;
inline constexpr std::uint32_t kGetConfig = 1u << 11;
inline constexpr std::uint32_t kSetBufferSize = 1u << 13;
}  // namespace capability

// TPM 1.2-style result codes of the control channel (libtpms tpm_error.h).
inline constexpr std::uint32_t kTpmSuccess = 0x00;
inline constexpr std::uint32_t kTpmBadParameter = 0x03;
inline constexpr std::uint32_t kTpmFail = 0x09;
inline constexpr std::uint32_t kTpmBadOrdinal = 0x0a;
inline constexpr std::uint32_t kTpmBadLocality = 0x3d;

// --- Data channel ---------------------------------------------------------------------------

// Where the next TPM command in a client's buffered bytes ends.
struct CommandFrame {
  enum class Kind : std::uint8_t {
    kNeedMore,  // the header or the rest of the command has not arrived yet
    kComplete,  // the first `size` bytes are one command
    kBadSize,   // the header's size is below the header or above the largest command: the
                // stream cannot be resynchronized
  };
  Kind kind;
  std::size_t size;  // kComplete: the command's size; kBadSize: the size the header claimed
};

// `max_command` is the largest command accepted (the SVSM buffer's 4087 bytes).
CommandFrame next_command(std::span<const std::uint8_t> buffered, std::size_t max_command);

// --- Control channel ------------------------------------------------------------------------

struct ControlFrame {
  enum class Kind : std::uint8_t {
    kNeedMore,     // the code or its payload has not arrived yet
    kComplete,     // `code` with `payload` occupies the first `size` bytes
    kUndelimited,  // a command whose payload length cvtpm-vtpmd does not know (unknown or
                   // variable-length and unsupported): answer, then close the connection
  };
  Kind kind;
  std::uint32_t code;
  std::span<const std::uint8_t> payload;
  std::size_t size;
};

ControlFrame next_control(std::span<const std::uint8_t> buffered);

}  // namespace cvtpm::vtpm::host::swtpm
