// swtpm's control channel (the protocol: formats/swtpm/control_channel.h) over the serial link.
// tpm2-tss's swtpm TCTI connects to port N+1 for each control
// request (CMD_SET_LOCALITY when it starts; CMD_INIT to reset) and reads the response with a
// single read(). The assembler frames requests on a byte stream by their code's payload length,
// bounded, with the same idle resynchronization as the data channel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cvtpm/formats/swtpm/control_channel.h"
#include "transport/tpm_stream.h"

namespace cvtpm::fw::transport::swtpm {

// The protocol's codes, capability bits and result codes.
using namespace formats::swtpm;  // NOLINT(google-build-using-namespace)

// Largest variable payload accepted (CMD_HASH_DATA data, CMD_SET_STATEBLOB blob).
inline constexpr std::size_t kMaxVariablePayload = 4096;

struct Request {
  std::uint32_t code;
  std::span<const std::uint8_t> payload;
};

// The payload layout a client sends for each code: request_layout() is tpm2-tss's and the serial
// link's; QEMU's tpm-emulator sends its own struct sizes for some codes (cvtpm-tpm-bridge).
using RequestLayoutFn = RequestLayout (*)(std::uint32_t code);

class ControlAssembler {
 public:
  // `buffer` holds the largest request: 4 + 12 + kMaxVariablePayload bytes.
  static constexpr std::size_t kBufferSize = 4 + 12 + kMaxVariablePayload;
  explicit ControlAssembler(std::span<std::uint8_t> buffer, RequestLayoutFn layout = request_layout)
      : buffer_(buffer), layout_(layout) {}

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
  RequestLayoutFn layout_;
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
