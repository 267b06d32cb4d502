// The few DER values inside AMD's certificate extensions, read with bounds checks (private to
// verify/src). Malformed input throws InputError naming `subject`.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "cvtpm/support/error.h"

namespace cvtpm::verify::der {

inline constexpr std::uint8_t kInteger = 0x02;
inline constexpr std::uint8_t kOctetString = 0x04;
inline constexpr std::uint8_t kIa5String = 0x16;

struct Element {
  std::uint8_t tag;
  std::span<const std::uint8_t> value;
};

// The one DER element that makes up all of `bytes` (definite lengths only).
inline Element read_single(std::span<const std::uint8_t> bytes, const std::string& subject) {
  if (bytes.size() < 2) throw InputError(subject, "truncated DER value");
  const std::uint8_t tag = bytes[0];
  std::size_t length = bytes[1];
  std::size_t header = 2;
  if (length & 0x80) {
    const std::size_t count = length & 0x7F;
    if (count == 0 || count > 4) throw InputError(subject, "DER length form not supported");
    if (bytes.size() < 2 + count) throw InputError(subject, "truncated DER length");
    length = 0;
    for (std::size_t i = 0; i < count; ++i) length = length << 8 | bytes[2 + i];
    header += count;
  }
  if (length != bytes.size() - header) {
    throw InputError(subject, "DER length " + std::to_string(length) + " does not match the " +
                                  std::to_string(bytes.size() - header) + " bytes present");
  }
  return {tag, bytes.subspan(header)};
}

// A DER INTEGER between 0 and 255.
inline std::uint8_t read_u8_integer(std::span<const std::uint8_t> bytes,
                                    const std::string& subject) {
  const Element e = read_single(bytes, subject);
  if (e.tag != kInteger) throw InputError(subject, "not a DER INTEGER");
  std::span<const std::uint8_t> v = e.value;
  if (v.empty()) throw InputError(subject, "empty DER INTEGER");
  if (v[0] & 0x80) throw InputError(subject, "negative INTEGER, not a security patch level");
  if (v.size() == 2 && v[0] == 0) v = v.subspan(1);  // the sign byte of 128..255
  if (v.size() != 1) throw InputError(subject, "INTEGER above 255, not a security patch level");
  return v[0];
}

}  // namespace cvtpm::verify::der
