// Little-endian loads and stores at arbitrary alignment. Freestanding.
#pragma once

#include <cstdint>
#include <type_traits>

namespace cvtpm::formats {

template <typename T>
requires std::is_unsigned_v<T>
constexpr T load_le(const std::uint8_t* p) {
  T v = 0;
  for (unsigned i = 0; i < sizeof(T); ++i) v |= static_cast<T>(T{p[i]} << (8 * i));
  return v;
}

template <typename T>
requires std::is_unsigned_v<T>
constexpr void store_le(std::uint8_t* p, T v) {
  for (unsigned i = 0; i < sizeof(T); ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

template <typename T>
requires std::is_unsigned_v<T>
constexpr T load_be(const std::uint8_t* p) {
  T v = 0;
  for (unsigned i = 0; i < sizeof(T); ++i) v = static_cast<T>(v << 8 | p[i]);
  return v;
}

template <typename T>
requires std::is_unsigned_v<T>
constexpr void store_be(std::uint8_t* p, T v) {
  for (unsigned i = 0; i < sizeof(T); ++i) {
    p[i] = static_cast<std::uint8_t>(v >> (8 * (sizeof(T) - 1 - i)));
  }
}

}  // namespace cvtpm::formats
