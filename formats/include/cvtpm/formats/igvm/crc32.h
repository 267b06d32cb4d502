// CRC-32 as IGVM checksums use it: the ISO-HDLC / zlib variant (reflected polynomial
// 0xEDB88320, initial value and final XOR 0xFFFFFFFF). Freestanding; usable in constant
// expressions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::formats::igvm {

namespace crc32_detail {
struct Table {
  std::uint32_t entries[256];
};
constexpr Table make_table() {
  Table t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t.entries[i] = c;
  }
  return t;
}
inline constexpr Table kTable = make_table();
}  // namespace crc32_detail

// Running CRC: feed pieces with update() (a state starts at 0), read the value with value().
class Crc32 {
 public:
  constexpr Crc32& update(const std::uint8_t* data, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) {
      state_ = crc32_detail::kTable.entries[(state_ ^ data[i]) & 0xFF] ^ (state_ >> 8);
    }
    return *this;
  }
  constexpr std::uint32_t value() const { return ~state_; }

 private:
  std::uint32_t state_ = 0xFFFFFFFFu;
};

constexpr std::uint32_t crc32(const std::uint8_t* data, std::size_t size) {
  return Crc32().update(data, size).value();
}

// The published check value of CRC-32/ISO-HDLC.
static_assert([] {
  const std::uint8_t check[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  return crc32(check, sizeof check) == 0xCBF43926u;
}());

}  // namespace cvtpm::formats::igvm
