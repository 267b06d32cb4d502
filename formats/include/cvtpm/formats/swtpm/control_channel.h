// swtpm's control channel (swtpm include/swtpm/tpm_ioctl.h, "commands used by the non-CUSE
// TPMs"; src/swtpm/ctrlchannel.c), which tpm2-tss's swtpm TCTI speaks on port N+1: a request
// is a big-endian u32 command code and the command's payload; the response is the "resp" part
// of the command's structure, starting with a big-endian u32 result for all but
// CMD_GET_CAPABILITY (a bare big-endian u64). Both servers of this protocol use these
// definitions: cvtpm-vtpmd (vtpm_fw/host) and the firmware's serial transport
// (vtpm_fw/runtime/transport). Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::formats::swtpm {

enum Command : std::uint32_t {
  kGetCapability = 0x01,
  kInit = 0x02,
  kShutdown = 0x03,
  kGetTpmEstablished = 0x04,
  kSetLocality = 0x05,
  kHashStart = 0x06,
  kHashData = 0x07,
  kHashEnd = 0x08,
  kCancelTpmCommand = 0x09,
  kStoreVolatile = 0x0A,
  kResetTpmEstablished = 0x0B,
  kGetStateBlob = 0x0C,
  kSetStateBlob = 0x0D,
  kStop = 0x0E,
  kGetConfig = 0x0F,
  kSetDataFd = 0x10,
  kSetBufferSize = 0x11,
  kGetInfo = 0x12,
  kLockStorage = 0x13,
  // cvtpm's extension, unknown to swtpm (which answers TPM_BAD_ORDINAL): an SVSM attestation.
  // Payload: u8 mode (0 = SVSM_ATTEST_SERVICES, 1 = SVSM_ATTEST_SINGLE_SERVICE of the vTPM),
  // 64-byte nonce. Reply: BE32 result, BE64 SVSM RAX, BE32 report, manifest and certificates
  // sizes, then the three.
  kCvtpmAttest = 0x4356'0001,
};
inline constexpr std::size_t kCvtpmAttestPayload = 1 + 64;

// PTM_INIT_FLAG_DELETE_VOLATILE, in CMD_INIT's u32 flags.
inline constexpr std::uint32_t kInitDeleteVolatile = 1;

// PTM_CAP_* bits of the CMD_GET_CAPABILITY answer.
namespace capability {
inline constexpr std::uint64_t kInit = 1u << 0;
inline constexpr std::uint64_t kShutdown = 1u << 1;
inline constexpr std::uint64_t kGetTpmEstablished = 1u << 2;
inline constexpr std::uint64_t kSetLocality = 1u << 3;
inline constexpr std::uint64_t kHashing = 1u << 4;
inline constexpr std::uint64_t kCancelTpmCommand = 1u << 5;
inline constexpr std::uint64_t kStoreVolatile = 1u << 6;
inline constexpr std::uint64_t kResetTpmEstablished = 1u << 7;
inline constexpr std::uint64_t kGetStateBlob = 1u << 8;
inline constexpr std::uint64_t kSetStateBlob = 1u << 9;
inline constexpr std::uint64_t kStop = 1u << 10;
inline constexpr std::uint64_t kGetConfig = 1u << 11;
inline constexpr std::uint64_t kSetDataFd = 1u << 12;
inline constexpr std::uint64_t kSetBufferSize = 1u << 13;
inline constexpr std::uint64_t kGetInfo = 1u << 14;
}  // namespace capability

// Result codes (TPM 1.2 return codes, libtpms tpm_error.h).
inline constexpr std::uint32_t kSuccess = 0x00;
inline constexpr std::uint32_t kBadParameter = 0x03;  // TPM_BAD_PARAMETER
inline constexpr std::uint32_t kFail = 0x09;          // TPM_FAIL
inline constexpr std::uint32_t kBadOrdinal = 0x0A;    // TPM_BAD_ORDINAL
inline constexpr std::uint32_t kBadLocality = 0x3D;   // TPM_BAD_LOCALITY

// A request's payload after the code: a fixed part and, for CMD_HASH_DATA and
// CMD_SET_STATEBLOB, a big-endian u32 length at `length_field` (within the fixed part) giving
// the variable data that follows it.
struct RequestLayout {
  bool known;
  bool variable;
  std::size_t fixed;
  std::size_t length_field;  // valid if variable
};

constexpr RequestLayout request_layout(std::uint32_t code) {
  switch (code) {
    case kGetCapability:
    case kShutdown:
    case kGetTpmEstablished:
    case kHashStart:
    case kHashEnd:
    case kCancelTpmCommand:
    case kStoreVolatile:
    case kStop:
    case kGetConfig:
    case kSetDataFd:
      return {true, false, 0, 0};
    case kSetLocality:
    case kResetTpmEstablished:
      return {true, false, 1, 0};  // u8 locality
    case kInit:
    case kSetBufferSize:
    case kLockStorage:
      return {true, false, 4, 0};  // u32 flags / buffer size / retries
    case kGetStateBlob:
      return {true, false, 12, 0};  // u32 state_flags, type, offset
    case kGetInfo:
      return {true, false, 16, 0};  // u64 flags, u32 offset, u32 pad
    case kHashData:
      return {true, true, 4, 0};  // u32 length, data
    case kSetStateBlob:
      return {true, true, 12, 8};  // u32 state_flags, type, length, data
    case kCvtpmAttest:
      return {true, false, kCvtpmAttestPayload, 0};  // u8 mode, nonce
    default:
      return {false, false, 0, 0};
  }
}

}  // namespace cvtpm::formats::swtpm
