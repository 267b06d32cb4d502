// swtpm's control channel (swtpm include/swtpm/tpm_ioctl.h, "commands used by the non-CUSE
// TPMs"): a request is a big-endian u32 command code and the command's payload; the response is
// the "resp" part of the command's structure, starting with a big-endian u32 result for all but
// CMD_GET_CAPABILITY (a bare u64). tpm2-tss's swtpm TCTI connects to port N+1 for each control
// request (CMD_SET_LOCALITY when it starts; CMD_INIT to reset) and reads the response with a
// single read(). The assembler frames requests on a byte stream by their code's payload length,
// bounded, with the same idle resynchronization as the data channel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "transport/tpm_stream.h"

namespace cvtpm::fw::transport::swtpm {

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
  // cvtpm's extension (as cvtpm-vtpmd): an SVSM attestation call. Payload: u8 mode (0 =
  // SVSM_ATTEST_SERVICES, 1 = SVSM_ATTEST_SINGLE_SERVICE of the vTPM), 64-byte nonce. Reply:
  // BE32 result, BE64 SVSM RAX, BE32 report, manifest and certificates sizes, then the three.
  kCvtpmAttest = 0x4356'0001,
};
inline constexpr std::size_t kCvtpmAttestPayload = 1 + 64;

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

// Result codes swtpm answers with (TPM 1.2 return codes).
inline constexpr std::uint32_t kSuccess = 0;
inline constexpr std::uint32_t kBadParameter = 3;    // TPM_BAD_PARAMETER
inline constexpr std::uint32_t kFail = 9;            // TPM_FAIL
inline constexpr std::uint32_t kBadOrdinal = 10;     // TPM_BAD_ORDINAL
inline constexpr std::uint32_t kBadLocality = 0x3D;  // TPM_BAD_LOCALITY

// Largest variable payload accepted (CMD_HASH_DATA data, CMD_SET_STATEBLOB blob).
inline constexpr std::size_t kMaxVariablePayload = 4096;

struct Request {
  std::uint32_t code;
  std::span<const std::uint8_t> payload;
};

class ControlAssembler {
 public:
  // `buffer` holds the largest request: 4 + 12 + kMaxVariablePayload bytes.
  static constexpr std::size_t kBufferSize = 4 + 12 + kMaxVariablePayload;
  explicit ControlAssembler(std::span<std::uint8_t> buffer) : buffer_(buffer) {}

  StreamEvent push(std::uint8_t byte);
  StreamEvent idle();

  // Valid after kCommand until the next push().
  Request request() const;
  // After kError: kBadOrdinal (unknown code) or kBadParameter (oversized payload).
  std::uint32_t error_code() const { return error_code_; }
  bool pending() const { return state_ != State::kIdle; }
  // True once the pending bytes cannot become a request (idle() will report kError).
  bool rejected() const { return state_ == State::kDiscard; }

 private:
  enum class State { kIdle, kCode, kPayload, kDiscard };
  bool set_expected_after_code();

  std::span<std::uint8_t> buffer_;
  State state_ = State::kIdle;
  std::size_t have_ = 0;
  std::size_t expected_ = 0;         // total request length once known
  std::size_t length_field_at_ = 0;  // offset of a variable payload's length field (0: none)
  std::uint32_t error_code_ = 0;
};

// Checks a complete request taken from a frame (code + payload): kSuccess if the code is known
// and the payload has exactly its length, else the result to answer with (kBadOrdinal,
// kBadParameter). `request` gets the parsed view on success.
std::uint32_t check_request(std::span<const std::uint8_t> bytes, Request& request);

// Response builders; each returns the response length, or 0 if `out` is too short.
std::size_t encode_result(std::uint32_t result, std::span<std::uint8_t> out);
std::size_t encode_capability(std::uint64_t capabilities, std::span<std::uint8_t> out);
// CMD_GET_TPMESTABLISHED: result, bit, 3 bytes padding.
std::size_t encode_established(std::uint32_t result, bool established, std::span<std::uint8_t> out);
// CMD_GET_CONFIG: result, flags.
std::size_t encode_config(std::uint32_t result, std::uint32_t flags, std::span<std::uint8_t> out);
// CMD_SET_BUFFERSIZE: result, buffer size in use, minimum, maximum.
std::size_t encode_buffer_size(std::uint32_t result, std::uint32_t size, std::uint32_t minimum,
                               std::uint32_t maximum, std::span<std::uint8_t> out);

}  // namespace cvtpm::fw::transport::swtpm
