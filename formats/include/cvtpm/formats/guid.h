// GUIDs in the mixed-endian byte order used by UEFI, OVMF, IGVM and the SVSM specification
// (first three fields little-endian, last eight bytes as written). Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::formats {

struct Guid {
  std::uint8_t bytes[16];

  // Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" at compile time; a malformed literal fails
  // to compile.
  static consteval Guid parse(const char (&text)[37]) {
    Guid g{};
    // Byte positions of each text byte pair in the mixed-endian encoding.
    constexpr int kOrder[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    int pair = 0;
    for (int i = 0; i < 36;) {
      if (text[i] == '-') {
        ++i;
        continue;
      }
      g.bytes[kOrder[pair++]] =
          static_cast<std::uint8_t>(nibble(text[i]) << 4 | nibble(text[i + 1]));
      i += 2;
    }
    return g;
  }

  friend constexpr bool operator==(const Guid& a, const Guid& b) {
    for (std::size_t i = 0; i < 16; ++i) {
      if (a.bytes[i] != b.bytes[i]) return false;
    }
    return true;
  }

 private:
  static consteval int nibble(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    // Reading through a null pointer is not a constant expression: a bad literal won't compile.
    return *static_cast<const int*>(nullptr);
  }
};
static_assert(sizeof(Guid) == 16);

}  // namespace cvtpm::formats
