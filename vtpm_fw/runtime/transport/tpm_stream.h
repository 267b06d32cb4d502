// Framing of raw TPM 2.0 commands on a byte stream — the data port of swtpm's socket protocol,
// which tpm2-tss's swtpm TCTI speaks: no envelope, a command is its 10-byte header (tag, size,
// command code; big-endian, TPM 2.0 Library Part 1 §18) and size - 10 more bytes; the response
// goes back the same way. The assembler rebuilds commands from the bytes a UART delivers one at
// a time, bounded by its buffer, and resynchronizes after garbage or a client that disconnected
// mid-command when the line has been idle (a serial line has no connection boundaries).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cvtpm::fw::transport {

inline constexpr std::size_t kTpmHeaderSize = 10;
// TPM2_BUFFER_MAX: libtpms accepts no larger command.
inline constexpr std::size_t kMaxTpmCommand = 4096;
inline constexpr std::uint16_t kTpmStNoSessions = 0x8001;
inline constexpr std::uint16_t kTpmStSessions = 0x8002;
inline constexpr std::uint32_t kTpmRcBadTag = 0x01E;       // TPM_RC_BAD_TAG
inline constexpr std::uint32_t kTpmRcCommandSize = 0x142;  // TPM_RC_COMMAND_SIZE
inline constexpr std::uint32_t kTpmRcFailure = 0x101;      // TPM_RC_FAILURE

enum class StreamEvent {
  kNone,     // keep feeding
  kCommand,  // command() holds a complete command
  kError,    // the stream carried something that is not a command: answer error_code()
};

class TpmCommandAssembler {
 public:
  // Commands up to buffer.size() bytes (>= kTpmHeaderSize) are accepted.
  explicit TpmCommandAssembler(std::span<std::uint8_t> buffer) : buffer_(buffer) {}

  // Takes the next byte of the stream.
  StreamEvent push(std::uint8_t byte);
  // The line has been idle for the resynchronization period: a partial command is dropped
  // (its sender is gone: nobody waits for an answer); after garbage, kError is reported once
  // so the sender gets one error response.
  StreamEvent idle();

  // Valid after kCommand until the next push().
  std::span<const std::uint8_t> command() const { return {buffer_.data(), expected_}; }
  // TPM_RC_BAD_TAG or TPM_RC_COMMAND_SIZE after kError.
  std::uint32_t error_code() const { return error_code_; }
  // True while bytes of an unfinished command or garbage are pending.
  bool pending() const { return state_ != State::kIdle; }
  // True once the pending bytes cannot become a command (idle() will report kError).
  bool rejected() const { return state_ == State::kDiscard; }
  std::uint64_t dropped_partials() const { return dropped_partials_; }

 private:
  enum class State { kIdle, kHeader, kBody, kDiscard };

  std::span<std::uint8_t> buffer_;
  State state_ = State::kIdle;
  std::size_t have_ = 0;
  std::size_t expected_ = 0;
  std::uint32_t error_code_ = 0;
  std::uint64_t dropped_partials_ = 0;
};

// Checks a complete command taken from a frame: 0 if its header is sound (tag, and a size
// field equal to its length, at most kMaxTpmCommand), else the response code to answer with.
std::uint32_t check_command(std::span<const std::uint8_t> command);

// A response carrying only a response code (TPM_ST_NO_SESSIONS, size 10). Returns 10, or 0 if
// `out` is shorter.
std::size_t encode_error_response(std::uint32_t response_code, std::span<std::uint8_t> out);

}  // namespace cvtpm::fw::transport
