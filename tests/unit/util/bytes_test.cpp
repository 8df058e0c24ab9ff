#include "util/bytes.h"

#include <gtest/gtest.h>

namespace imet::util {
namespace {

TEST(Hex, RoundTrip) {
  Bytes b = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(to_hex(b), "0001abff");
  EXPECT_EQ(from_hex("0001ABff").value(), b);
  EXPECT_EQ(from_hex("").value(), Bytes{});
}

TEST(Hex, RejectsBadInput) {
  EXPECT_EQ(from_hex("abc").status().message(), "hex string has odd length 3");
  EXPECT_EQ(from_hex("0g").status().message(), "invalid hex digit at position 1");
  auto fixed = from_hex_fixed<4>("0011");
  ASSERT_FALSE(fixed.ok());
  EXPECT_NE(fixed.status().message().find("expected 4 bytes"), std::string::npos);
  EXPECT_TRUE(from_hex_fixed<2>("0011").ok());
}

TEST(Bytes, ConstantTimeEqual) {
  EXPECT_TRUE(equal_ct(to_bytes("abc"), to_bytes("abc")));
  EXPECT_FALSE(equal_ct(to_bytes("abc"), to_bytes("abd")));
  EXPECT_FALSE(equal_ct(to_bytes("abc"), to_bytes("ab")));
}

}  // namespace
}  // namespace imet::util
