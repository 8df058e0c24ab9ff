// Every way an encoding can be invalid, each checked for its exact error message (offset, reason,
// field path). Byte offsets refer to the default Sample layout (see DefaultSampleExactBytes):
//   version@0 flags@1 height@3 amount@7 delta@15 active@23 counter@24 tag@25 memo@29 name@30
//   kind@31 expiry@33 parent@34 leaves@35 blobs@36 ids@37 keys@38 tree@39, 40 bytes in all.
#include <string>

#include <gtest/gtest.h>

#include "codec/serialize.h"
#include "sample_types.h"
#include "test_util.h"

namespace imet::codec::testing {
namespace {

// Fields of a default Sample before memo (29 bytes).
constexpr const char* kHead = "00 0000 00000000 0000000000000000 0000000000000000 00 00 00000000";
// A default Sample from `kind` to the end: kind 0100 | 7 empty fields.
constexpr const char* kTailFromKind = "0100 00000000000000";

util::Bytes sample_bytes(const std::string& memo_name_hex, const std::string& tail_hex) {
  return hex(std::string(kHead) + memo_name_hex + tail_hex);
}

TEST(Reject, TruncationAtEveryCutPoint) {
  const util::Bytes full = encode(make_full_sample());
  ASSERT_TRUE(decode<Sample>(full).ok());
  for (size_t cut = 0; cut < full.size(); ++cut) {
    SCOPED_TRACE(cut);
    auto r = decode<Sample>(util::ByteSpan(full.data(), cut));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), util::StatusCode::kInvalidArgument);
    const std::string& msg = r.status().message();
    EXPECT_EQ(msg.rfind("invalid encoding at offset ", 0), 0u) << msg;
    EXPECT_NE(msg.find("unexpected end of input"), std::string::npos) << msg;
    // The reported offset is where the unfinished item starts, so at most the cut.
    const size_t offset = std::stoul(msg.substr(std::string("invalid encoding at offset ").size()));
    EXPECT_LE(offset, cut) << msg;
  }
}

TEST(Reject, TruncationMessages) {
  expect_decode_error<Box<uint32_t>>(
      hex("0102"),
      "invalid encoding at offset 0: unexpected end of input: need 4 bytes, 2 remain "
      "for field 'v'");
  expect_decode_error<Box<util::ByteArray<3>>>(
      hex(""),
      "invalid encoding at offset 0: unexpected end of input: need 3 bytes, 0 remain "
      "for field 'v'");
  // memo claims 5 bytes, only 2 follow.
  expect_decode_error<Sample>(hex(std::string(kHead) + "05abcd"),
                              "invalid encoding at offset 30: unexpected end of input: need 5 "
                              "bytes, 2 remain for field 'memo'");
  expect_decode_error<VarintBox>(
      hex("80"),
      "invalid encoding at offset 0: unexpected end of input inside varint for field 'v'");
}

TEST(Reject, TrailingBytes) {
  expect_decode_error<Sample>(
      sample_bytes("0000", std::string(kTailFromKind) + "00"),
      "invalid encoding at offset 40: 1 trailing byte after the end of the object");
  expect_decode_error<Sample>(
      sample_bytes("0000", std::string(kTailFromKind) + "ffff"),
      "invalid encoding at offset 40: 2 trailing bytes after the end of the object");
  expect_decode_error<Box<uint8_t>>(
      hex("0000"), "invalid encoding at offset 1: 1 trailing byte after the end of the object");
  ASSERT_TRUE(decode<Sample>(sample_bytes("0000", kTailFromKind)).ok());
}

TEST(Reject, BoolMustBeZeroOrOne) {
  expect_decode_error<Box<bool>>(
      hex("02"), "invalid encoding at offset 0: bool byte 0x02 is not 0x00 or 0x01 for field 'v'");
  expect_decode_error<Box<bool>>(
      hex("ff"), "invalid encoding at offset 0: bool byte 0xff is not 0x00 or 0x01 for field 'v'");
  util::Bytes b = sample_bytes("0000", kTailFromKind);
  b[23] = 0x80;
  expect_decode_error<Sample>(
      b, "invalid encoding at offset 23: bool byte 0x80 is not 0x00 or 0x01 for field 'active'");
}

TEST(Reject, NonMinimalVarint) {
  expect_decode_error<VarintBox>(
      hex("8000"), "invalid encoding at offset 0: non-minimal varint encoding for field 'v'");
  expect_decode_error<VarintBox>(
      hex("ff8000"), "invalid encoding at offset 0: non-minimal varint encoding for field 'v'");
  // A length prefix of 0 written as 80 00.
  expect_decode_error<Sample>(
      sample_bytes("8000 00", kTailFromKind),
      "invalid encoding at offset 29: non-minimal varint encoding for field 'memo'");
  // An element count of 1 written as 81 00.
  expect_decode_error<Sample>(
      sample_bytes("0000", "0100 00000000 8100 0000000000000000 0000"),
      "invalid encoding at offset 37: non-minimal varint encoding for field 'ids'");
}

TEST(Reject, VarintTooLongOrOverflowing) {
  expect_decode_error<VarintBox>(
      hex("ffffffffffffffffff8001"),
      "invalid encoding at offset 0: varint longer than 10 bytes for field 'v'");
  expect_decode_error<VarintBox>(
      hex("ffffffffffffffffff02"),
      "invalid encoding at offset 0: varint overflows 64 bits for field 'v'");
  expect_decode_error<Sample>(
      sample_bytes("ffffffffffffffffff7f", ""),
      "invalid encoding at offset 29: varint overflows 64 bits for field 'memo'");
}

TEST(Reject, LengthOverCap) {
  // 70000 = 0x11170 -> LEB128 f0 a2 04.
  expect_decode_error<Sample>(
      sample_bytes("f0a204", ""),
      "invalid encoding at offset 29: length 70000 exceeds cap 64 for field 'memo'");
  expect_decode_error<Sample>(
      sample_bytes("41", ""),
      "invalid encoding at offset 29: length 65 exceeds cap 64 for field 'memo'");
  expect_decode_error<Sample>(
      sample_bytes("ffffffffffffffffff01", ""),
      "invalid encoding at offset 29: length 18446744073709551615 exceeds cap 64 for field 'memo'");
  // Exactly at the cap is fine.
  EXPECT_TRUE(
      decode<Sample>(sample_bytes("40" + std::string(128, 'a') + "00", kTailFromKind)).ok());
  // name cap 32.
  expect_decode_error<Sample>(
      sample_bytes("00 21", ""),
      "invalid encoding at offset 30: length 33 exceeds cap 32 for field 'name'");
  // An element of blobs (cap 12 each): blobs = [ "", 13 bytes ].
  expect_decode_error<Sample>(
      sample_bytes("0000", "0100 000000 02 00 0d"),
      "invalid encoding at offset 38: length 13 exceeds cap 12 for field 'blobs[1]'");
}

TEST(Reject, ElementCountOverCap) {
  expect_decode_error<Sample>(
      sample_bytes("0000", "0100 0000 07"),
      "invalid encoding at offset 35: element count 7 exceeds cap 6 for field 'leaves'");
  expect_decode_error<Sample>(
      sample_bytes("0000", "0100 00000000 09"),
      "invalid encoding at offset 37: element count 9 exceeds cap 8 for field 'ids'");
  expect_decode_error<Sample>(
      sample_bytes("0000", "0100 0000000000 06"),
      "invalid encoding at offset 38: element count 6 exceeds cap 5 for field 'keys'");
  // A huge count is rejected before anything is reserved.
  expect_decode_error<Sample>(
      sample_bytes("0000", "0100 000000 ffffffff0f"),
      "invalid encoding at offset 36: element count 4294967295 exceeds cap 4 for field 'blobs'");
}

TEST(Reject, InvalidUtf8) {
  struct Case {
    const char* name_hex;  // length + bytes of `name`
    const char* message;
  };
  const Case cases[] = {
      {"02c080",
       "invalid encoding at offset 31: invalid UTF-8 (overlong encoding) for field 'name'"},
      {"03e08080",
       "invalid encoding at offset 31: invalid UTF-8 (overlong encoding) for field 'name'"},
      {"0461eda080",
       "invalid encoding at offset 32: invalid UTF-8 (surrogate code point) for field 'name'"},
      {"04f4908080",
       "invalid encoding at offset 31: invalid UTF-8 (code point above U+10FFFF) for field "
       "'name'"},
      {"0180",
       "invalid encoding at offset 31: invalid UTF-8 (unexpected continuation byte) for field "
       "'name'"},
      {"01ff", "invalid encoding at offset 31: invalid UTF-8 (invalid lead byte) for field 'name'"},
      {"02e282",
       "invalid encoding at offset 31: invalid UTF-8 (truncated multi-byte sequence) for field "
       "'name'"},
      {"03e228a1",
       "invalid encoding at offset 32: invalid UTF-8 (missing continuation byte) for field "
       "'name'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name_hex);
    expect_decode_error<Sample>(sample_bytes(std::string("00") + c.name_hex, kTailFromKind),
                                c.message);
  }
  // Inside a nested object: parent = Leaf{id 0, label "\xc1\x81"}.
  expect_decode_error<Sample>(
      sample_bytes("0000", "0100 00 01 00000000 02c181 00 00000000"),
      "invalid encoding at offset 40: invalid UTF-8 (overlong encoding) for field 'parent.label'");
}

TEST(Reject, OptionalTagMustBeZeroOrOne) {
  expect_decode_error<Sample>(
      sample_bytes("0000", "0100 02"),
      "invalid encoding at offset 33: optional tag 0x02 is not 0x00 or 0x01 for field 'expiry'");
  expect_decode_error<Sample>(
      sample_bytes("0000", "0100 00 ff"),
      "invalid encoding at offset 34: optional tag 0xff is not 0x00 or 0x01 for field 'parent'");
}

TEST(Reject, InvalidEnumValue) {
  expect_decode_error<Sample>(
      sample_bytes("0000", "0200 00000000000000"),
      "invalid encoding at offset 31: invalid enum value 2 for field 'kind'");
  expect_decode_error<Sample>(
      sample_bytes("0000", "0000 00000000000000"),
      "invalid encoding at offset 31: invalid enum value 0 for field 'kind'");
  expect_decode_error<Box<Color>>(
      hex("03"), "invalid encoding at offset 0: invalid enum value 3 for field 'v'");
  // leaves = [Leaf{1, "", kRed}, Leaf{2, "", color 9}].
  expect_decode_error<Sample>(
      sample_bytes("0000", "0100 0000 02 01000000 00 00 02000000 00 09"),
      "invalid encoding at offset 47: invalid enum value 9 for field 'leaves[1].color'");
}

TEST(Reject, UnsortedOrDuplicateSetElements) {
  // ids = [5, 3]: element 1 starts at 37 + 1 + 8 = 46.
  expect_decode_error<Sample>(
      sample_bytes("0000", "0100 000000 00 02 0500000000000000 0300000000000000 0000"),
      "invalid encoding at offset 46: set elements not in strictly ascending order for field "
      "'ids[1]'");
  expect_decode_error<Sample>(
      sample_bytes("0000", "0100 000000 00 02 0500000000000000 0500000000000000 0000"),
      "invalid encoding at offset 46: duplicate set element for field 'ids[1]'");
  // Numeric order, not byte order: 256 (0001...) after 1 (0100...) is ascending.
  EXPECT_TRUE(decode<Sample>(
                  sample_bytes("0000", "0100 000000 00 02 0100000000000000 0001000000000000 0000"))
                  .ok());
  // keys (a std::set) = [0100, 0001]: element 1 starts at 38 + 1 + 2 = 41.
  expect_decode_error<Sample>(
      sample_bytes("0000", "0100 000000 00 00 02 0100 0001 00"),
      "invalid encoding at offset 41: set elements not in strictly ascending order for field "
      "'keys[1]'");
  expect_decode_error<Sample>(
      sample_bytes("0000", "0100 000000 00 00 03 0000 0001 0001 00"),
      "invalid encoding at offset 43: duplicate set element for field 'keys[2]'");
}

TEST(Reject, TotalSizeCap) {
  const util::Bytes b = sample_bytes("0000", kTailFromKind);
  ASSERT_EQ(b.size(), 40u);
  expect_decode_error<Sample>(b, "invalid encoding: input size 40 exceeds cap 39",
                              Limits{39, kDefaultMaxDepth});
  EXPECT_TRUE(decode<Sample>(b, Limits{40, kDefaultMaxDepth}).ok());
  // The default cap is 4 MiB.
  util::Bytes big(kDefaultMaxSize + 1, 0);
  expect_decode_error<Box<uint8_t>>(big,
                                    "invalid encoding: input size 4194305 exceeds cap 4194304");
}

// A chain of `length` Nodes: root -> child -> ... each with one child, the last with none.
Node chain(size_t length) {
  Node n{static_cast<uint8_t>(length), {}};
  for (size_t i = 1; i < length; ++i)
    n = Node{static_cast<uint8_t>(length - i), {std::move(n)}};
  return n;
}

// Encodes without any checks (Writer alone), to produce over-deep input.
util::Bytes encode_unchecked(Node& n) {
  util::Bytes out;
  Writer w(out);
  n.serde(w);
  return out;
}

// Field path of the children vector of the k-th node in a chain (k = 0 is the root).
std::string chain_path(size_t k) {
  std::string p;
  for (size_t i = 0; i < k; ++i)
    p += "children[0].";
  return p + "children";
}

TEST(Reject, DepthCap) {
  // Each Node level is two nesting levels (the children vector and the child object), so the
  // children vector of node k is at depth 2k + 1: 16 nodes fit in depth 32, 17 do not.
  Node ok16 = chain(16);
  EXPECT_TRUE(decode<Node>(encode_unchecked(ok16)).ok());
  EXPECT_TRUE(validate(ok16).ok());

  Node deep17 = chain(17);
  const util::Bytes b = encode_unchecked(deep17);
  // Node k starts at 2k (value byte, count byte); node 16's count is at offset 33.
  expect_decode_error<Node>(
      b, "invalid encoding at offset 33: nesting depth exceeds cap 32 for field '" +
             chain_path(16) + "'");
  EXPECT_TRUE(decode<Node>(b, Limits{kDefaultMaxSize, 33}).ok());
  EXPECT_EQ(validate(deep17).message(),
            "invalid value at offset 33: nesting depth exceeds cap 32 for field '" +
                chain_path(16) + "'");
  EXPECT_TRUE(validate(deep17, Limits{kDefaultMaxSize, 33}).ok());

  // Depth caps above the hard limit are clamped to it.
  Node deep33 = chain(33);
  expect_decode_error<Node>(
      encode_unchecked(deep33),
      "invalid encoding at offset 65: nesting depth exceeds cap 64 for field '" + chain_path(32) +
          "'",
      Limits{kDefaultMaxSize, 1000});
  Node ok32 = chain(32);
  EXPECT_TRUE(decode<Node>(encode_unchecked(ok32), Limits{kDefaultMaxSize, 1000}).ok());
}

TEST(Reject, DeepInputFailsFastWithoutRecursingFurther) {
  // 200000 nested nodes (value 01, count 01 each): rejected at the cap, no stack exhaustion.
  util::Bytes b;
  for (int i = 0; i < 200000; ++i) {
    b.push_back(0x01);
    b.push_back(0x01);
  }
  auto r = decode<Node>(b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nesting depth exceeds cap 32"), std::string::npos);
}

TEST(Reject, RequireRule) {
  util::Bytes b = sample_bytes("0000", kTailFromKind);
  b[23] = 0x01;  // active without a name
  expect_decode_error<Sample>(b, "invalid encoding at offset 40: an active sample needs a name");
}

TEST(Reject, ErrorIsStickyAndLaterOperationsAreNoOps) {
  const util::Bytes b = hex("02 ff 0102030405060708");
  Reader r(b);
  bool flag = false;
  r.boolean(flag, "first");
  EXPECT_FALSE(r.ok());
  const std::string first = r.status().message();
  EXPECT_EQ(first,
            "invalid encoding at offset 0: bool byte 0x02 is not 0x00 or 0x01 for field 'first'");
  const size_t offset = r.offset();
  uint8_t x = 42;
  uint64_t y = 42;
  util::Bytes bytes = {9};
  r.u8(x, "second");
  r.u64(y, "third");
  r.bytes(bytes, 100, "fourth");
  EXPECT_EQ(x, 42);
  EXPECT_EQ(y, 42u);
  EXPECT_EQ(bytes, util::Bytes{9});
  EXPECT_EQ(r.offset(), offset);
  EXPECT_EQ(r.finish().message(), first);
}

// ---- the same rules on the encoding side: validate() and try_encode() ----

void expect_invalid_value(const Sample& s, const std::string& message) {
  EXPECT_EQ(validate(s).message(), message);
  auto r = try_encode(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), util::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), message);
}

TEST(RejectEncode, FieldRulesAreCheckedBeforeEncoding) {
  Sample s;
  s.memo.assign(65, 0xaa);
  expect_invalid_value(s, "invalid value at offset 29: length 65 exceeds cap 64 for field 'memo'");

  s = Sample{};
  s.name = "\xc0\x80";
  expect_invalid_value(
      s, "invalid value at offset 31: invalid UTF-8 (overlong encoding) for field 'name'");

  s = Sample{};
  s.kind = static_cast<Kind>(2);
  expect_invalid_value(s, "invalid value at offset 31: invalid enum value 2 for field 'kind'");

  s = Sample{};
  s.leaves.resize(7);
  expect_invalid_value(
      s, "invalid value at offset 35: element count 7 exceeds cap 6 for field 'leaves'");

  s = Sample{};
  s.ids = {5, 3};
  expect_invalid_value(
      s,
      "invalid value at offset 46: set elements not in strictly ascending order for field "
      "'ids[1]'");
  s.ids = {5, 5};
  expect_invalid_value(s, "invalid value at offset 46: duplicate set element for field 'ids[1]'");

  s = Sample{};
  s.blobs = {util::Bytes(13, 0)};
  expect_invalid_value(s,
                       "invalid value at offset 37: length 13 exceeds cap 12 for field 'blobs[0]'");

  s = Sample{};
  s.active = true;
  expect_invalid_value(s, "invalid value at offset 40: an active sample needs a name");

  EXPECT_EQ(validate(Sample{}, Limits{39, kDefaultMaxDepth}).message(),
            "invalid value: encoded size 40 exceeds cap 39");
  EXPECT_TRUE(validate(Sample{}, Limits{40, kDefaultMaxDepth}).ok());
}

}  // namespace
}  // namespace imet::codec::testing
