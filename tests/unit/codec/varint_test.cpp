#include "codec/varint.h"

#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

namespace imet::codec {
namespace {

util::Bytes hex(std::string_view h) {
  return util::from_hex(h).value();
}

util::Bytes encode_varint(uint64_t v) {
  util::Bytes out;
  append_varint(out, v);
  return out;
}

// Expected encodings worked out by hand from the LEB128 definition: 7 bits per byte, least
// significant group first, 0x80 set on every byte but the last.
TEST(Varint, ExactBytesAtBoundaries) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  struct Case {
    uint64_t value;
    const char* hex;
  };
  const Case cases[] = {
      {0, "00"},
      {1, "01"},
      {127, "7f"},
      {128, "8001"},
      {300, "ac02"},
      {16383, "ff7f"},
      {16384, "808001"},
      {2097151, "ffff7f"},
      {2097152, "80808001"},
      {0xffffffffULL, "ffffffff0f"},
      {0x100000000ULL, "8080808010"},
      {(1ULL << 63) - 1, "ffffffffffffffff7f"},
      {1ULL << 63, "80808080808080808001"},
      {kMax, "ffffffffffffffffff01"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value);
    const util::Bytes expected = hex(c.hex);
    EXPECT_EQ(encode_varint(c.value), expected);
    EXPECT_EQ(varint_size(c.value), expected.size());
    const VarintParse p = parse_varint(expected);
    ASSERT_EQ(p.error, VarintError::kNone);
    EXPECT_EQ(p.value, c.value);
    EXPECT_EQ(p.size, expected.size());
  }
}

TEST(Varint, ParseIgnoresBytesAfterTheVarint) {
  const VarintParse p = parse_varint(hex("ac02ff"));
  ASSERT_EQ(p.error, VarintError::kNone);
  EXPECT_EQ(p.value, 300u);
  EXPECT_EQ(p.size, 2u);
}

TEST(Varint, RejectsNonMinimalForms) {
  for (const char* h : {"8000", "ff00", "808000", "ac8200", "ffffffffffffffffff00"}) {
    SCOPED_TRACE(h);
    EXPECT_EQ(parse_varint(hex(h)).error, VarintError::kNonMinimal);
  }
}

TEST(Varint, RejectsTooLongAndOverflow) {
  EXPECT_EQ(parse_varint(hex("ffffffffffffffffff81")).error, VarintError::kTooLong);
  EXPECT_EQ(parse_varint(hex("8080808080808080808001")).error, VarintError::kTooLong);
  EXPECT_EQ(parse_varint(hex("ffffffffffffffffff02")).error, VarintError::kOverflow);
  EXPECT_EQ(parse_varint(hex("ffffffffffffffffff7f")).error, VarintError::kOverflow);
}

TEST(Varint, RejectsTruncated) {
  for (const char* h : {"", "80", "ff", "8080", "ffffffffffffffffff"}) {
    SCOPED_TRACE(h);
    EXPECT_EQ(parse_varint(hex(h)).error, VarintError::kTruncated);
  }
}

TEST(Varint, ErrorTexts) {
  EXPECT_EQ(varint_error_text(VarintError::kNonMinimal), "non-minimal varint encoding");
  EXPECT_EQ(varint_error_text(VarintError::kTooLong), "varint longer than 10 bytes");
  EXPECT_EQ(varint_error_text(VarintError::kOverflow), "varint overflows 64 bits");
  EXPECT_EQ(varint_error_text(VarintError::kTruncated), "unexpected end of input inside varint");
}

// Exhaustive over all 1- and 2-byte inputs: a parse succeeds exactly when re-encoding the value
// gives back the bytes it consumed (so there is one encoding per value).
TEST(Varint, EveryAcceptedShortInputIsCanonical) {
  int accepted = 0;
  for (int a = 0; a < 256; ++a) {
    for (int b = -1; b < 256; ++b) {
      util::Bytes in = {static_cast<uint8_t>(a)};
      if (b >= 0) in.push_back(static_cast<uint8_t>(b));
      const VarintParse p = parse_varint(in);
      if (p.error != VarintError::kNone) continue;
      ++accepted;
      EXPECT_EQ(encode_varint(p.value), util::Bytes(in.begin(), in.begin() + p.size));
    }
  }
  // 128 one-byte values (each followed by any of 257 tails) + 128*127 two-byte values.
  EXPECT_EQ(accepted, 128 * 257 + 128 * 127);
}

}  // namespace
}  // namespace imet::codec
