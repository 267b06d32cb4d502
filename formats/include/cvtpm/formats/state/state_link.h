// The state link: how the firmware reads and writes its sealed state through a UART (COM3) that
// the host (cvtpm-launch) serves. cvtpm's own protocol (docs/persistence.md, "State link
// protocol"), carried in the cvtpm serial link's frames (vtpm_fw/runtime/transport/
// serial_link.h: COBS, CRC-32) as frame types 7 (request, firmware -> host) and 8 (response,
// host -> firmware, with its request's sequence number). The firmware is the only client; the
// host never speaks first. All integers little-endian. Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::formats::state {

enum class LinkOp : std::uint8_t {
  kInfo = 1,         // -> status, stored size (0 = nothing stored), stored digest
  kRead = 2,         // offset, length (<= kMaxChunk) -> those bytes of the stored blob
  kWriteBegin = 3,   // body WriteBegin -> accepted if the host holds `previous` (compare-and-swap)
  kWriteData = 4,    // offset (= bytes sent so far), length, then the bytes (<= kMaxChunk)
  kWriteCommit = 5,  // body: SHA-256 of the new blob -> checked, made durable, then answered
};

enum class LinkStatus : std::uint8_t {
  kOk = 0,
  kBadRequest = 1,      // malformed request, or an operation out of sequence
  kConflict = 2,        // the stored blob is not the one the write replaces (rollback, 2nd writer)
  kIoError = 3,         // the host could not read or write its storage
  kDigestMismatch = 4,  // the blob received is not the one announced
  kTooLarge = 5,        // above the host's or the format's limit
};

inline constexpr std::uint32_t kMaxChunk = 4096;

struct LinkRequestHeader {
  std::uint8_t op;  // LinkOp
  std::uint8_t reserved[3];
  std::uint32_t offset;  // kRead, kWriteData
  std::uint32_t length;  // kRead: bytes wanted; kWriteData: bytes that follow
  std::uint32_t reserved2;
};
static_assert(sizeof(LinkRequestHeader) == 16);
static_assert(offsetof(LinkRequestHeader, offset) == 4);
static_assert(offsetof(LinkRequestHeader, length) == 8);

struct WriteBegin {
  std::uint64_t generation;  // of the blob that follows (for the host's log)
  std::uint32_t total_size;  // bytes of the blob
  std::uint32_t reserved;
  std::uint8_t previous[32];  // SHA-256 of the blob it replaces; zero: nothing stored
};
static_assert(sizeof(WriteBegin) == 48);
static_assert(offsetof(WriteBegin, previous) == 16);

struct WriteCommit {
  std::uint8_t digest[32];  // SHA-256 of the whole new blob
};
static_assert(sizeof(WriteCommit) == 32);

struct LinkResponseHeader {
  std::uint8_t op;      // the request's LinkOp
  std::uint8_t status;  // LinkStatus
  std::uint8_t reserved[2];
  std::uint32_t size;       // kInfo: stored size; kRead: bytes that follow; else 0
  std::uint8_t digest[32];  // kInfo: SHA-256 of the stored blob; kWriteCommit: of the new one
};
static_assert(sizeof(LinkResponseHeader) == 40);
static_assert(offsetof(LinkResponseHeader, size) == 4);
static_assert(offsetof(LinkResponseHeader, digest) == 8);

inline constexpr std::size_t kMaxRequestPayload = sizeof(LinkRequestHeader) + kMaxChunk;
inline constexpr std::size_t kMaxResponsePayload = sizeof(LinkResponseHeader) + kMaxChunk;

}  // namespace cvtpm::formats::state
