#include "cvtpm/support/encoding.h"

#include <gtest/gtest.h>

#include "cvtpm/support/error.h"

namespace cvtpm {
namespace {

using Bytes = std::vector<std::uint8_t>;

TEST(Hex, RoundTripsAndAcceptsPrefixAndCase) {
  Bytes b{0x00, 0x7f, 0xab, 0xff};
  EXPECT_EQ(to_hex(b), "007fabff");
  EXPECT_EQ(parse_hex("007fabff", "x"), b);
  EXPECT_EQ(parse_hex("0x007FABFF", "x"), b);
}

TEST(Hex, RejectsMalformedTextNamingTheInput) {
  EXPECT_THROW(parse_hex("", "--h"), InputError);
  EXPECT_THROW(parse_hex("abc", "--h"), InputError);
  try {
    parse_hex("12zz", "--snp-ovmf-hash");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "--snp-ovmf-hash: not a hex string (bad character at position 2)");
  }
}

TEST(Base64, RoundTripsEveryPaddingLength) {
  for (std::size_t n = 0; n < 8; ++n) {
    Bytes b(n + 1);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(i * 37 + n);
    EXPECT_EQ(parse_base64(to_base64(b), "x"), b) << n;
  }
  EXPECT_EQ(to_base64(Bytes{'f', 'o', 'o', 'b'}), "Zm9vYg==");
}

TEST(Base64, RejectsMalformedText) {
  EXPECT_THROW(parse_base64("Zm9", "x"), InputError);
  EXPECT_THROW(parse_base64("Zm9*", "x"), InputError);
  EXPECT_THROW(parse_base64("Z=9v", "x"), InputError);
  EXPECT_THROW(parse_base64("", "x"), InputError);
}

TEST(ParseUint, AcceptsCNotationWithinRange) {
  EXPECT_EQ(parse_uint("0x21", "x"), 0x21u);
  EXPECT_EQ(parse_uint("33", "x"), 33u);
  EXPECT_EQ(parse_uint("010", "x"), 8u);
  EXPECT_EQ(parse_uint("0", "x"), 0u);
  EXPECT_EQ(parse_uint("18446744073709551615", "x"), UINT64_MAX);
}

TEST(ParseUint, RejectsJunkAndOverflow) {
  EXPECT_THROW(parse_uint("", "x"), InputError);
  EXPECT_THROW(parse_uint("-1", "x"), InputError);
  EXPECT_THROW(parse_uint("12abc", "x"), InputError);
  EXPECT_THROW(parse_uint("0x", "x"), InputError);
  EXPECT_THROW(parse_uint("18446744073709551616", "x"), InputError);
  EXPECT_THROW(parse_uint("300", "x", 255), InputError);
}

TEST(PrintableAscii, EscapesEverythingOutsidePrintableAscii) {
  EXPECT_EQ(printable_ascii("Milan-B0"), "Milan-B0");
  EXPECT_EQ(printable_ascii(std::string("a\nb\0c", 5)), "a\\x0ab\\x00c");
  EXPECT_EQ(printable_ascii("\xb3\\"), "\\xb3\\x5c");
  EXPECT_EQ(printable_ascii(""), "");
}

TEST(HexNumber, LowercaseWithPrefixAndMinimumDigits) {
  EXPECT_EQ(hex_number(0x30000), "0x30000");
  EXPECT_EQ(hex_number(0), "0x0");
  EXPECT_EQ(hex_number(0xB, 4), "0x000b");
  EXPECT_EQ(hex_number(0x12345, 2), "0x12345");
  EXPECT_EQ(hex_number(UINT64_MAX), "0xffffffffffffffff");
}

}  // namespace
}  // namespace cvtpm
