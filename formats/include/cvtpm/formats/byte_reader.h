// Bounds-checked reads of wire structs out of untrusted bytes (host side).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>

#include "cvtpm/formats/endian.h"
#include "cvtpm/support/error.h"

namespace cvtpm::formats {

class ByteReader {
 public:
  ByteReader(std::span<const std::uint8_t> bytes, std::string name)
      : bytes_(bytes), name_(std::move(name)) {}

  std::size_t size() const { return bytes_.size(); }

  bool fits(std::size_t offset, std::size_t length) const {
    return offset <= bytes_.size() && length <= bytes_.size() - offset;
  }

  // Copies a trivially copyable struct stored at `offset`; throws if it runs past the end.
  template <typename T>
  requires std::is_trivially_copyable_v<T> T read(std::size_t offset)
  const {
    check(offset, sizeof(T));
    T value;
    std::memcpy(&value, bytes_.data() + offset, sizeof(T));
    return value;
  }

  std::span<const std::uint8_t> slice(std::size_t offset, std::size_t length) const {
    check(offset, length);
    return bytes_.subspan(offset, length);
  }

  void check(std::size_t offset, std::size_t length) const {
    if (!fits(offset, length)) {
      char msg[128];
      std::snprintf(msg, sizeof msg,
                    "truncated: %zu bytes at offset 0x%zx run past the end (size 0x%zx)", length,
                    offset, bytes_.size());
      throw InputError(name_, msg);
    }
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::string name_;
};

}  // namespace cvtpm::formats
