// The cvtpm serial link: how the vTPM's requests travel between the host and the firmware over
// one UART (a QEMU chardev socket on the host side). Why not swtpm's raw socket protocol on the
// UART directly: a serial line has no connection boundaries (a client that disconnects
// mid-command would desynchronize the stream) and QEMU sends each transmitted byte on its own,
// while tpm2-tss's swtpm TCTI reads a control response with a single read() — measured here, a
// third of its connections then fail. So the firmware speaks framed messages, and
// cvtpm-tpm-bridge on the host serves swtpm's socket interface (data port N, control port N+1)
// and forwards each complete request as one frame.
//
// Frame: a body, COBS-encoded (Consistent Overhead Byte Stuffing: the encoding contains no
// zero byte) and enclosed in zero bytes, 0x00 COBS(body) 0x00. Body (integers big-endian):
//   0  u8     type (FrameType)
//   1  u8     sequence number: a response carries its request's
//   2  ...    payload: a raw TPM command/response, or a swtpm control request/response
//   2+n u32   CRC-32 (ISO-HDLC, as IGVM) of bytes [0, 2 + n)
// A zero byte always ends whatever came before it, so garbage, a frame torn by a restarting
// sender, or a corrupted one (caught by the CRC) costs only itself: the receiver never waits
// for bytes that a bogus length promised, and the frame after it arrives intact.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cvtpm::fw::transport {

enum class FrameType : std::uint8_t {
  kTpmCommand = 1,       // host -> firmware: one complete TPM command
  kTpmResponse = 2,      // firmware -> host
  kControlRequest = 3,   // host -> firmware: one swtpm control request (code + payload)
  kControlResponse = 4,  // firmware -> host
  kReset = 5,            // host -> firmware: link (re)start; the firmware answers kResetAck
  kResetAck = 6,
  // The state link (COM3, formats/state/state_link.h): the firmware asks, the host answers.
  kStateRequest = 7,   // firmware -> host
  kStateResponse = 8,  // host -> firmware, with its request's sequence number
};

inline constexpr std::size_t kLinkHeaderSize = 2;   // type, sequence
inline constexpr std::size_t kLinkTrailerSize = 4;  // CRC-32
// Largest payload: a swtpm control request with 4096 bytes of data (4 + 12 + 4096), rounded up;
// a state-link chunk (a 40-byte header + 4096 bytes) fits too.
inline constexpr std::size_t kMaxLinkPayload = 4160;
inline constexpr std::size_t kMaxLinkBody = kLinkHeaderSize + kMaxLinkPayload + kLinkTrailerSize;
// COBS adds one byte per 254 and one more; plus the two delimiters.
inline constexpr std::size_t kMaxLinkFrame = kMaxLinkBody + kMaxLinkBody / 254 + 1 + 2;

bool is_valid_frame_type(std::uint8_t type);

// Writes one frame into `out`; returns its size, or 0 if the payload is too long or `out` too
// short.
std::size_t encode_frame(FrameType type, std::uint8_t sequence,
                         std::span<const std::uint8_t> payload, std::span<std::uint8_t> out);

struct Frame {
  FrameType type;
  std::uint8_t sequence;
  std::span<const std::uint8_t> payload;
};

// Rebuilds frames from a byte stream delivered in any pieces. No allocation: frames are
// decoded in the receiver's own buffer.
class LinkReceiver {
 public:
  struct Stats {
    std::uint64_t frames = 0;
    std::uint64_t bad_frames = 0;  // delimited bytes that did not decode to a valid frame
    std::uint64_t overflows = 0;   // more bytes than any frame has without a delimiter
  };

  // Takes the next byte; returns true when frame() holds a complete, checked frame (valid
  // until the next push()).
  bool push(std::uint8_t byte);
  Frame frame() const;
  const Stats& stats() const { return stats_; }

 private:
  bool finish();

  std::uint8_t buffer_[kMaxLinkFrame] = {};
  std::size_t have_ = 0;
  std::size_t body_size_ = 0;  // of the decoded frame in buffer_ after push() returned true
  bool overflowed_ = false;
  Stats stats_;
};

// COBS, exposed for the tests. encode: returns the encoded size (out must hold
// size + size / 254 + 1). decode: in place; returns the decoded size, or -1 if malformed.
std::size_t cobs_encode(const std::uint8_t* in, std::size_t size, std::uint8_t* out);
long cobs_decode(std::uint8_t* data, std::size_t size);

}  // namespace cvtpm::fw::transport
