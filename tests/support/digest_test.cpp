#include "cvtpm/support/digest.h"

#include <gtest/gtest.h>

#include "cvtpm/support/encoding.h"

namespace cvtpm {
namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// FIPS 180-2 examples for "abc".
TEST(Digest, MatchesPublishedValues) {
  EXPECT_EQ(to_hex(sha256(bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(sha384(bytes("abc"))),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
            "8086072ba1e7cc2358baeca134c825a7");
  EXPECT_EQ(to_hex(sha512(bytes("abc"))),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

TEST(Digest, ReusedContextsGiveIndependentResults) {
  Sha384 h;
  EXPECT_EQ(h.digest(bytes("abc")), sha384(bytes("abc")));
  EXPECT_EQ(h.digest(bytes("")), sha384(bytes("")));
  Sha256 s;
  s.update(bytes("a"));
  s.update(bytes("bc"));
  EXPECT_EQ(s.finish(), sha256(bytes("abc")));
  s.update(bytes("x"));
  EXPECT_EQ(s.finish(), sha256(bytes("x")));
}

}  // namespace
}  // namespace cvtpm
