#include "codec/utf8.h"

#include <string>

#include <gtest/gtest.h>

namespace imet::codec {
namespace {

util::Bytes utf8_hex(std::string_view h) {
  return util::from_hex(h).value();
}

TEST(Utf8, AcceptsValidText) {
  EXPECT_TRUE(is_valid_utf8(util::ByteSpan()));
  EXPECT_TRUE(is_valid_utf8(util::as_bytes("plain ascii, long enough for the 8-byte path")));
  EXPECT_TRUE(is_valid_utf8(utf8_hex("00")));        // NUL is a scalar value
  EXPECT_TRUE(is_valid_utf8(utf8_hex("c280")));      // U+0080, smallest 2-byte
  EXPECT_TRUE(is_valid_utf8(utf8_hex("c3a9")));      // é
  EXPECT_TRUE(is_valid_utf8(utf8_hex("dfbf")));      // U+07FF
  EXPECT_TRUE(is_valid_utf8(utf8_hex("e0a080")));    // U+0800, smallest 3-byte
  EXPECT_TRUE(is_valid_utf8(utf8_hex("e282ac")));    // €
  EXPECT_TRUE(is_valid_utf8(utf8_hex("ed9fbf")));    // U+D7FF, just below the surrogates
  EXPECT_TRUE(is_valid_utf8(utf8_hex("ee8080")));    // U+E000, just above
  EXPECT_TRUE(is_valid_utf8(utf8_hex("efbfbf")));    // U+FFFF
  EXPECT_TRUE(is_valid_utf8(utf8_hex("f0908080")));  // U+10000, smallest 4-byte
  EXPECT_TRUE(is_valid_utf8(utf8_hex("f09f9880")));  // 😀
  EXPECT_TRUE(is_valid_utf8(utf8_hex("f48fbfbf")));  // U+10FFFF, the largest
  EXPECT_TRUE(is_valid_utf8(util::as_bytes("mixed: caf\xc3\xa9 \xe2\x82\xac 12345678")));
}

struct Bad {
  const char* hex;
  size_t index;
  const char* reason;
};

TEST(Utf8, RejectsEachKindOfInvalidSequence) {
  const Bad cases[] = {
      {"80", 0, "unexpected continuation byte"},
      {"41bf", 1, "unexpected continuation byte"},
      {"c080", 0, "overlong encoding"},  // NUL as 2 bytes
      {"c1bf", 0, "overlong encoding"},  // U+007F as 2 bytes
      {"e08080", 0, "overlong encoding"},
      {"e09fbf", 0, "overlong encoding"},  // U+07FF as 3 bytes
      {"f0808080", 0, "overlong encoding"},
      {"f08fbfbf", 0, "overlong encoding"},   // U+FFFF as 4 bytes
      {"eda080", 0, "surrogate code point"},  // U+D800
      {"edbfbf", 0, "surrogate code point"},  // U+DFFF
      {"f4908080", 0, "code point above U+10FFFF"},
      {"f7bfbfbf", 0, "code point above U+10FFFF"},
      {"f8888080", 0, "invalid lead byte"},
      {"ff", 0, "invalid lead byte"},
      {"e282", 0, "truncated multi-byte sequence"},
      {"41f09f98", 1, "truncated multi-byte sequence"},
      {"e228a1", 1, "missing continuation byte"},
      {"f09f2880", 2, "missing continuation byte"},
  };
  for (const Bad& c : cases) {
    SCOPED_TRACE(c.hex);
    const auto err = find_utf8_error(utf8_hex(c.hex));
    ASSERT_TRUE(err.has_value());
    EXPECT_EQ(err->index, c.index);
    EXPECT_EQ(err->reason, c.reason);
    EXPECT_FALSE(is_valid_utf8(utf8_hex(c.hex)));
  }
}

TEST(Utf8, ReportsIndexAfterAsciiRun) {
  // 9 ASCII bytes take the 8-at-a-time path first; the error is at index 9.
  const std::string s = std::string("abcdefghi") + "\xed\xa0\x80" + "tail";
  const auto err = find_utf8_error(util::as_bytes(s));
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->index, 9u);
  EXPECT_EQ(err->reason, "surrogate code point");
}

// Exhaustive over every code point: the 1-4 byte shortest form is accepted exactly for scalar
// values (the encoder here is written from RFC 3629 section 3 independently of the validator).
TEST(Utf8, EveryScalarValueEncodingIsAccepted) {
  auto encode = [](uint32_t cp) {
    util::Bytes b;
    if (cp < 0x80) {
      b = {static_cast<uint8_t>(cp)};
    } else if (cp < 0x800) {
      b = {static_cast<uint8_t>(0xC0 | (cp >> 6)), static_cast<uint8_t>(0x80 | (cp & 0x3F))};
    } else if (cp < 0x10000) {
      b = {static_cast<uint8_t>(0xE0 | (cp >> 12)), static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F)),
           static_cast<uint8_t>(0x80 | (cp & 0x3F))};
    } else {
      b = {static_cast<uint8_t>(0xF0 | (cp >> 18)),
           static_cast<uint8_t>(0x80 | ((cp >> 12) & 0x3F)),
           static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F)),
           static_cast<uint8_t>(0x80 | (cp & 0x3F))};
    }
    return b;
  };
  int rejected = 0;
  for (uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    const bool scalar = cp < 0xD800 || cp > 0xDFFF;
    if (is_valid_utf8(encode(cp)) != scalar) {
      ADD_FAILURE() << "code point " << cp;
      break;
    }
    if (!scalar) ++rejected;
  }
  EXPECT_EQ(rejected, 0x800);
}

// Exhaustive over all 2-byte inputs: exactly 0xC2..0xDF followed by 0x80..0xBF are 2-byte
// sequences, plus the 128*128 pairs of ASCII bytes.
TEST(Utf8, AllTwoByteInputs) {
  int accepted = 0;
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const uint8_t in[2] = {static_cast<uint8_t>(a), static_cast<uint8_t>(b)};
      if (is_valid_utf8(in)) ++accepted;
    }
  }
  EXPECT_EQ(accepted, 128 * 128 + (0xDF - 0xC2 + 1) * 64);
}

}  // namespace
}  // namespace imet::codec
