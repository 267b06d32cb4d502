// The few pieces of the TPM 2.0 wire format (TCG TPM 2.0 Library, Part 2 "Structures" and
// Part 3 "Commands") the service speaks itself: command and response headers, the constants of
// the commands it sends to create the EK, and bounds-checked big-endian writing and reading.
// Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace cvtpm::vtpm::tpm2 {

// TPM_ST
inline constexpr std::uint16_t kStNoSessions = 0x8001;
inline constexpr std::uint16_t kStSessions = 0x8002;

// TPM_CC
inline constexpr std::uint32_t kCcCreatePrimary = 0x0000'0131;
inline constexpr std::uint32_t kCcStartup = 0x0000'0144;
inline constexpr std::uint32_t kCcShutdown = 0x0000'0145;
inline constexpr std::uint32_t kCcFlushContext = 0x0000'0165;
inline constexpr std::uint32_t kCcGetRandom = 0x0000'017B;

// TPM_SU
inline constexpr std::uint16_t kSuClear = 0x0000;

// TPM_RH / TPM_RS
inline constexpr std::uint32_t kRhEndorsement = 0x4000'000B;
inline constexpr std::uint32_t kRsPw = 0x4000'0009;

// TPM_ALG_ID
inline constexpr std::uint16_t kAlgRsa = 0x0001;
inline constexpr std::uint16_t kAlgSha256 = 0x000B;
inline constexpr std::uint16_t kAlgSha384 = 0x000C;
inline constexpr std::uint16_t kAlgAes = 0x0006;
inline constexpr std::uint16_t kAlgNull = 0x0010;
inline constexpr std::uint16_t kAlgEcc = 0x0023;
inline constexpr std::uint16_t kAlgCfb = 0x0043;

// TPM_ECC_CURVE
inline constexpr std::uint16_t kEccNistP256 = 0x0003;
inline constexpr std::uint16_t kEccNistP384 = 0x0004;

// TPMA_OBJECT
namespace object_attribute {
inline constexpr std::uint32_t kFixedTpm = 1u << 1;
inline constexpr std::uint32_t kFixedParent = 1u << 4;
inline constexpr std::uint32_t kSensitiveDataOrigin = 1u << 5;
inline constexpr std::uint32_t kUserWithAuth = 1u << 6;
inline constexpr std::uint32_t kAdminWithPolicy = 1u << 7;
inline constexpr std::uint32_t kRestricted = 1u << 16;
inline constexpr std::uint32_t kDecrypt = 1u << 17;
}  // namespace object_attribute

// TPM_RC
inline constexpr std::uint32_t kRcSuccess = 0x000;
inline constexpr std::uint32_t kRcFailure = 0x101;
inline constexpr std::uint32_t kRcCommandSize = 0x142;
inline constexpr std::uint32_t kRcInitialize = 0x100;
inline constexpr std::uint32_t kRcLocality = 0x907;

// Command and response header: tag, total size, command code or response code.
inline constexpr std::size_t kHeaderSize = 10;

// Appends big-endian values to a fixed buffer; once anything does not fit, every later write is
// ignored and ok() turns false.
class Writer {
 public:
  explicit Writer(std::span<std::uint8_t> out) : out_(out) {}

  void u8(std::uint8_t v) { put(&v, 1); }
  void u16(std::uint16_t v) {
    const std::uint8_t b[2] = {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    put(b, 2);
  }
  void u32(std::uint32_t v) {
    const std::uint8_t b[4] = {static_cast<std::uint8_t>(v >> 24),
                               static_cast<std::uint8_t>(v >> 16),
                               static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    put(b, 4);
  }
  void bytes(std::span<const std::uint8_t> b) { put(b.data(), b.size()); }
  void zeros(std::size_t n) {
    if (!fits(n)) return;
    std::memset(out_.data() + size_, 0, n);
    size_ += n;
  }
  // A TPM2B: u16 size, then the bytes.
  void sized(std::span<const std::uint8_t> b) {
    u16(static_cast<std::uint16_t>(b.size()));
    bytes(b);
  }
  // Overwrites a big-endian u32 written earlier at `offset` (sizes known only at the end).
  void patch_u32(std::size_t offset, std::uint32_t v) {
    if (!ok_ || offset + 4 > size_) {
      ok_ = false;
      return;
    }
    for (int i = 0; i < 4; ++i) out_[offset + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
  }

  std::size_t size() const { return size_; }
  bool ok() const { return ok_; }

 private:
  bool fits(std::size_t n) {
    if (ok_ && n <= out_.size() - size_) return true;
    ok_ = false;
    return false;
  }
  void put(const std::uint8_t* p, std::size_t n) {
    if (!fits(n)) return;
    std::memcpy(out_.data() + size_, p, n);
    size_ += n;
  }

  std::span<std::uint8_t> out_;
  std::size_t size_ = 0;
  bool ok_ = true;
};

// Reads big-endian values from a response; past the end it yields zeros and ok() turns false.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}

  std::uint16_t u16() {
    std::uint8_t b[2] = {};
    get(b, 2);
    return static_cast<std::uint16_t>(b[0] << 8 | b[1]);
  }
  std::uint32_t u32() {
    std::uint8_t b[4] = {};
    get(b, 4);
    return static_cast<std::uint32_t>(b[0]) << 24 | static_cast<std::uint32_t>(b[1]) << 16 |
           static_cast<std::uint32_t>(b[2]) << 8 | b[3];
  }
  // The next n bytes in place (empty past the end).
  std::span<const std::uint8_t> bytes(std::size_t n) {
    if (!ok_ || n > in_.size() - offset_) {
      ok_ = false;
      return {};
    }
    const auto s = in_.subspan(offset_, n);
    offset_ += n;
    return s;
  }

  std::size_t offset() const { return offset_; }
  bool ok() const { return ok_; }

 private:
  void get(std::uint8_t* p, std::size_t n) {
    const auto s = bytes(n);
    if (!s.empty()) std::memcpy(p, s.data(), n);
  }

  std::span<const std::uint8_t> in_;
  std::size_t offset_ = 0;
  bool ok_ = true;
};

// The response code of a response, or kRcFailure if it is shorter than a header.
inline std::uint32_t response_code(std::span<const std::uint8_t> response) {
  if (response.size() < kHeaderSize) return kRcFailure;
  Reader r(response.subspan(6, 4));
  return r.u32();
}

}  // namespace cvtpm::vtpm::tpm2
