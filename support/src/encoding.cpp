#include "cvtpm/support/encoding.h"

#include <openssl/evp.h>

#include <charconv>
#include <cstdio>

#include "cvtpm/support/error.h"

namespace cvtpm {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string printable_ascii(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte <= 0x7E && byte != '\\') {
      out.push_back(c);
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      out += escaped;
    }
  }
  return out;
}

std::string hex_number(std::uint64_t value, int min_digits) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%0*llx", min_digits, static_cast<unsigned long long>(value));
  return buf;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xF]);
  }
  return out;
}

std::string to_base64(std::span<const std::uint8_t> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::vector<std::uint8_t> parse_hex(std::string_view text, std::string_view what) {
  const std::string subject(what);
  if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
  if (text.empty()) throw InputError(subject, "empty hex string");
  if (text.size() % 2 != 0) throw InputError(subject, "hex string has an odd number of digits");
  std::vector<std::uint8_t> out(text.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(text[2 * i]);
    int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      throw InputError(subject, "not a hex string (bad character at position " +
                                    std::to_string(2 * i + (hi < 0 ? 0 : 1)) + ")");
    }
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::vector<std::uint8_t> parse_base64(std::string_view text, std::string_view what) {
  const std::string subject(what);
  if (text.empty() || text.size() % 4 != 0) {
    throw InputError(subject, "not base64 (length must be a non-zero multiple of 4)");
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    bool pad_ok = c == '=' && i + 2 >= text.size() && (i + 1 == text.size() || text.back() == '=');
    if (!alnum && c != '+' && c != '/' && !pad_ok) {
      throw InputError(subject, "not base64 (bad character at position " + std::to_string(i) + ")");
    }
  }
  std::vector<std::uint8_t> out(text.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) throw InputError(subject, "not base64");
  // EVP_DecodeBlock counts padding as zero bytes; drop them.
  std::size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

std::uint64_t parse_uint(std::string_view text, std::string_view what, std::uint64_t max) {
  const std::string subject(what);
  int base = 10;
  std::string_view digits = text;
  if (digits.starts_with("0x") || digits.starts_with("0X")) {
    base = 16;
    digits.remove_prefix(2);
  } else if (digits.size() > 1 && digits.starts_with("0")) {
    base = 8;
    digits.remove_prefix(1);
  }
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (digits.empty() || ec == std::errc::invalid_argument || end != digits.data() + digits.size()) {
    throw InputError(subject, "'" + std::string(text) + "' is not an unsigned integer");
  }
  if (ec == std::errc::result_out_of_range || value > max) {
    throw InputError(subject, "'" + std::string(text) + "' is out of range (maximum " +
                                  std::to_string(max) + ")");
  }
  return value;
}

}  // namespace cvtpm
