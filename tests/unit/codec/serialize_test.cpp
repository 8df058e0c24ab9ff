// Round trips and exact encodings. Every expected hex string below was worked out by hand from the
// encoding rules in codec/serialize.h (little-endian fixed-width integers, LEB128 lengths, 0/1
// tags), not captured from the implementation.
#include "codec/serialize.h"

#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

#include "sample_types.h"
#include "test_util.h"

namespace imet::codec::testing {
namespace {

template <typename T>
void expect_round_trip(const T& value, std::string_view expected_hex) {
  const util::Bytes expected = hex(expected_hex);
  EXPECT_EQ(util::to_hex(encode(value)), util::to_hex(expected));
  EXPECT_EQ(encoded_size(value), expected.size());
  EXPECT_TRUE(validate(value).ok());
  auto back = decode<T>(expected);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_TRUE(*back == value);
}

TEST(Serialize, UnsignedIntegersAtBoundaries) {
  expect_round_trip(Box<uint8_t>{0}, "00");
  expect_round_trip(Box<uint8_t>{0x7f}, "7f");
  expect_round_trip(Box<uint8_t>{0xff}, "ff");
  expect_round_trip(Box<uint16_t>{0}, "0000");
  expect_round_trip(Box<uint16_t>{0x1234}, "3412");
  expect_round_trip(Box<uint16_t>{0xffff}, "ffff");
  expect_round_trip(Box<uint32_t>{0}, "00000000");
  expect_round_trip(Box<uint32_t>{0x12345678}, "78563412");
  expect_round_trip(Box<uint32_t>{0xffffffff}, "ffffffff");
  expect_round_trip(Box<uint64_t>{0}, "0000000000000000");
  expect_round_trip(Box<uint64_t>{0x0102030405060708}, "0807060504030201");
  expect_round_trip(Box<uint64_t>{std::numeric_limits<uint64_t>::max()}, "ffffffffffffffff");
}

TEST(Serialize, SignedIntegersAreTwosComplement) {
  expect_round_trip(Box<int64_t>{0}, "0000000000000000");
  expect_round_trip(Box<int64_t>{1}, "0100000000000000");
  expect_round_trip(Box<int64_t>{-1}, "ffffffffffffffff");
  expect_round_trip(Box<int64_t>{-2}, "feffffffffffffff");
  expect_round_trip(Box<int64_t>{std::numeric_limits<int64_t>::max()}, "ffffffffffffff7f");
  expect_round_trip(Box<int64_t>{std::numeric_limits<int64_t>::min()}, "0000000000000080");
}

TEST(Serialize, BoolIsOneByte) {
  expect_round_trip(Box<bool>{false}, "00");
  expect_round_trip(Box<bool>{true}, "01");
}

TEST(Serialize, VarintAtBoundaries) {
  expect_round_trip(VarintBox{0}, "00");
  expect_round_trip(VarintBox{127}, "7f");
  expect_round_trip(VarintBox{128}, "8001");
  expect_round_trip(VarintBox{16383}, "ff7f");
  expect_round_trip(VarintBox{16384}, "808001");
  expect_round_trip(VarintBox{0xffffffffULL}, "ffffffff0f");
  expect_round_trip(VarintBox{std::numeric_limits<uint64_t>::max()}, "ffffffffffffffffff01");
}

TEST(Serialize, FixedArraysHaveNoLength) {
  expect_round_trip(Box<util::ByteArray<3>>{{0xaa, 0x00, 0x01}}, "aa0001");
  expect_round_trip(Box<util::ByteArray<0>>{}, "");
}

TEST(Serialize, EnumsUseTheirUnderlyingWidth) {
  expect_round_trip(Box<Color>{Color::kRed}, "00");
  expect_round_trip(Box<Color>{Color::kBlue}, "02");
  expect_round_trip(Box<Kind>{Kind::kOne}, "0100");
  expect_round_trip(Box<Kind>{Kind::kBig}, "0010");
}

struct Tiny {
  uint8_t a = 0;
  uint16_t b = 0;
  uint32_t c = 0;
  bool d = false;
  template <typename S>
  void serde(S& s) {
    s.u8(a, "a");
    s.u16(b, "b");
    s.u32(c, "c");
    s.boolean(d, "d");
  }
  friend bool operator==(const Tiny&, const Tiny&) = default;
};

TEST(Serialize, TinyStructExactBytes) {
  // 01 | 03 02 | 07 06 05 04 | 01
  expect_round_trip(Tiny{0x01, 0x0203, 0x04050607, true}, "01030207060504 01");
}

struct WithLengths {
  util::Bytes memo;
  std::optional<uint32_t> x;
  std::vector<uint16_t> v;
  std::string text;
  template <typename S>
  void serde(S& s) {
    s.bytes(memo, 8, "memo");
    s.optional(
        x, [](S& s2, uint32_t& value) { s2.u32(value); }, "x");
    s.vector(v, 4, "v");
    s.string(text, 16, "text");
  }
  friend bool operator==(const WithLengths&, const WithLengths&) = default;
};

TEST(Serialize, LengthPrefixedFieldsExactBytes) {
  // memo: len 03 "abc" | x: tag 01, 05000000 | v: count 02, 0100, 0001 | text: len 00
  expect_round_trip(WithLengths{util::to_bytes("abc"), 5u, {1, 0x100}, ""},
                    "03616263 0105000000 0201000001 00");
  // all empty: 00 | 00 | 00 | 00
  expect_round_trip(WithLengths{}, "00000000");
  // text "é€😀" = c3a9 + e282ac + f09f9880 = 9 bytes
  expect_round_trip(WithLengths{{}, std::nullopt, {}, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"},
                    "000000 09c3a9e282acf09f9880");
}

struct Sets {
  std::vector<uint64_t> ids;
  std::set<util::ByteArray<2>> keys;
  template <typename S>
  void serde(S& s) {
    s.sorted_set(ids, 4, "ids");
    s.sorted_set(keys, 4, "keys");
  }
  friend bool operator==(const Sets&, const Sets&) = default;
};

TEST(Serialize, SortedSetsExactBytes) {
  // ids: count 02, 1 = 0100000000000000, 300 = 2c01000000000000
  // keys: count 02, 0001, 0100 (bytewise ascending)
  Sets s{{1, 300}, {{0x01, 0x00}, {0x00, 0x01}}};
  expect_round_trip(s, "02 0100000000000000 2c01000000000000 02 0001 0100");
}

TEST(Serialize, DefaultSampleExactBytes) {
  // version 00 | flags 0000 | height 00000000 | amount 8x00 | delta 8x00 | active 00 |
  // counter 00 | tag 00000000 | memo 00 | name 00 | kind 0100 | expiry 00 | parent 00 |
  // leaves 00 | blobs 00 | ids 00 | keys 00 | tree 00
  expect_round_trip(Sample{},
                    "00 0000 00000000 0000000000000000 0000000000000000 00 00 00000000 00 00 0100 "
                    "00 00 00 00 00 00 00");
  EXPECT_EQ(encoded_size(Sample{}), 40u);
}

TEST(Serialize, FullSampleExactBytes) {
  const char* expected =
      "01"                                                     // version
      "efbe"                                                   // flags
      "e8030000"                                               // height 1000
      "00f2052a01000000"                                       // amount 5e9 = 0x12a05f200
      "f9ffffffffffffff"                                       // delta -7
      "01"                                                     // active
      "ac02"                                                   // counter 300
      "deadbeef"                                               // tag
      "0a6d656d6f206279746573"                                 // memo "memo bytes"
      "05636166c3a9"                                           // name "café"
      "0700"                                                   // kind 7
      "016300000000000000"                                     // expiry 99
      "01 07000000 026162 02"                                  // parent
      "02 01000000 036f6e65 00 02000000 00 01"                 // leaves
      "03 00 0100 02fffe"                                      // blobs
      "03 0000000000000000 0500000000000000 0000000000010000"  // ids
      "03 0000 0001 ff00"                                      // keys
      "01 01 02 02 00 03 01 04 00";                            // tree
  expect_round_trip(make_full_sample(), expected);
}

struct ExplicitElements {
  std::vector<uint16_t> v;
  template <typename S>
  void serde(S& s) {
    s.vector(
        v, 4, [](S& s2, uint16_t& x) { s2.u16(x); }, "v");
  }
};

TEST(Serialize, NamedAndDefaultElementCodecsAgree) {
  // s.vector(v, cap, "v") with the default element codec equals an explicit element function.
  WithLengths implicit{{}, std::nullopt, {7, 8}, ""};
  ExplicitElements ex{{7, 8}};
  const util::Bytes a = encode(implicit);
  const util::Bytes b = encode(ex);
  EXPECT_EQ(util::Bytes(a.begin() + 2, a.end() - 1), b);
}

TEST(Serialize, TryEncodeMatchesEncodeForValidObjects) {
  const Sample s = make_full_sample();
  auto r = try_encode(s);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, encode(s));
}

TEST(Serialize, WriterAppendsAfterExistingBytes) {
  util::Bytes out = {0xaa};
  Writer w(out);
  Tiny t{1, 2, 3, false};
  t.serde(w);
  EXPECT_EQ(out, hex("aa 01 0200 03000000 00"));
  EXPECT_EQ(w.size(), out.size());
}

TEST(Serialize, DecodeAcceptsInputAtExactlyTheSizeCap) {
  const util::Bytes b = encode(make_full_sample());
  EXPECT_TRUE(decode<Sample>(b, Limits{b.size(), kDefaultMaxDepth}).ok());
}

}  // namespace
}  // namespace imet::codec::testing
