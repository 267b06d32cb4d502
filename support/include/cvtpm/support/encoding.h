// Text encodings of binary values used on command lines and in outputs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cvtpm {

std::string to_hex(std::span<const std::uint8_t> bytes);  // lowercase
std::string to_base64(std::span<const std::uint8_t> bytes);
// Text from untrusted bytes made safe to print or put in JSON: every byte outside printable
// ASCII (0x20-0x7E), and the backslash, written as \xNN. A certificate's name cannot then forge
// lines of a verdict or break a JSON encoder.
std::string printable_ascii(std::string_view text);
// "0x" and lowercase hex digits, zero-padded to at least `min_digits`: how outputs show numbers.
std::string hex_number(std::uint64_t value, int min_digits = 0);

// Strict decoders: `what` names the input in the error ("--snp-ovmf-hash", a file, ...).
// An optional "0x" prefix is accepted for hex. Throws InputError.
std::vector<std::uint8_t> parse_hex(std::string_view text, std::string_view what);
std::vector<std::uint8_t> parse_base64(std::string_view text, std::string_view what);

// Parses an unsigned integer in C notation (decimal, 0x hex, 0 octal), rejecting trailing junk
// and values above `max`. Throws InputError naming `what`.
std::uint64_t parse_uint(std::string_view text, std::string_view what,
                         std::uint64_t max = UINT64_MAX);

}  // namespace cvtpm
