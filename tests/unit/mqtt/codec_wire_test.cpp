// MQTT data representations (UTF-8 rules, Variable Byte Integers) and stream framing, including
// the remaining-length boundaries of the spec (§1.5.5 table) and too-large packets.
#include <string>

#include <gtest/gtest.h>

#include "codec_test_util.h"
#include "mqtt/codec/decoder.h"
#include "mqtt/codec/encoder.h"
#include "mqtt/codec/framing.h"
#include "mqtt/codec/wire.h"

namespace imet::mqtt {
namespace {

using namespace test_util;

std::string str(const util::Bytes& b) {
  return util::to_string(b);
}

TEST(MqttUtf8, AcceptsWellFormedText) {
  EXPECT_EQ(check_mqtt_utf8(""), Utf8Error::kNone);
  EXPECT_EQ(check_mqtt_utf8("sensors/temperature/room-1"), Utf8Error::kNone);
  EXPECT_EQ(check_mqtt_utf8(str(hex("C3A9"))), Utf8Error::kNone);      // U+00E9 é
  EXPECT_EQ(check_mqtt_utf8(str(hex("E282AC"))), Utf8Error::kNone);    // U+20AC €
  EXPECT_EQ(check_mqtt_utf8(str(hex("F09D849E"))), Utf8Error::kNone);  // U+1D11E
  EXPECT_EQ(check_mqtt_utf8(str(hex("F48FBFBF"))), Utf8Error::kNone);  // U+10FFFF
  EXPECT_EQ(check_mqtt_utf8(str(hex("EFBBBF41"))), Utf8Error::kNone);  // BOM kept (1.5.4-3)
  EXPECT_EQ(check_mqtt_utf8(str(hex("ED9FBF"))), Utf8Error::kNone);    // U+D7FF
  EXPECT_EQ(check_mqtt_utf8(str(hex("EE8080"))), Utf8Error::kNone);    // U+E000
  EXPECT_EQ(check_mqtt_utf8(str(hex("01 1F 7F C280 C29F"))), Utf8Error::kNone);  // controls: MAY
  // Long ASCII runs exercise the 8-byte fast path, with a multi-byte char after it.
  EXPECT_EQ(check_mqtt_utf8(std::string(40, 'a') + str(hex("C3A9")) + "zz"), Utf8Error::kNone);
}

TEST(MqttUtf8, RejectsIllFormedTextAndNul) {
  const char* bad[] = {
      "80",           // stray continuation byte
      "C0 80",        // overlong NUL
      "C1 BF",        // overlong 2-byte
      "E0 80 80",     // overlong 3-byte
      "E0 9F BF",     // overlong 3-byte (U+07FF)
      "ED A0 80",     // U+D800 high surrogate (MQTT-1.5.4-1)
      "ED BF BF",     // U+DFFF low surrogate
      "F0 80 80 80",  // overlong 4-byte
      "F0 8F BF BF",  // overlong 4-byte (U+FFFF)
      "F4 90 80 80",  // U+110000
      "F5 80 80 80",  // lead byte beyond Unicode
      "FF",           // never valid
      "C3",           // truncated 2-byte
      "E2 82",        // truncated 3-byte
      "F0 9D 84",     // truncated 4-byte
      "C3 41",        // bad continuation
      "E2 28 A1",     // bad continuation
  };
  for (const char* h : bad) {
    EXPECT_EQ(check_mqtt_utf8(str(hex(h))), Utf8Error::kIllFormed) << h;
    EXPECT_FALSE(is_well_formed_utf8(hex(h))) << h;
  }
  EXPECT_EQ(check_mqtt_utf8(std::string("a\0b", 3)), Utf8Error::kNul);  // MQTT-1.5.4-2
  EXPECT_EQ(check_mqtt_utf8(std::string(20, 'x') + std::string(1, '\0')), Utf8Error::kNul);
  EXPECT_EQ(check_mqtt_utf8(std::string(1, '\0') + std::string(20, 'x')), Utf8Error::kNul);
  // Payloads declared UTF-8 may contain U+0000 (RFC 3629 well-formedness only).
  EXPECT_TRUE(is_well_formed_utf8(hex("61 00 62")));
}

TEST(MqttWildcard, FindsPlusAndHashAnywhere) {
  EXPECT_FALSE(has_wildcard(""));
  EXPECT_FALSE(has_wildcard("a/b/c/d/e/f/g/h/i/j"));
  EXPECT_FALSE(has_wildcard(str(hex("C3A9 E282AC F09D849E 2A2C2224"))));  // near misses: * , " $
  // Every position of a 0..20 byte string, both characters.
  for (size_t len = 1; len <= 20; ++len) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (const char w : {'+', '#'}) {
        std::string s(len, 'a');
        s[pos] = w;
        EXPECT_TRUE(has_wildcard(s)) << s;
      }
    }
  }
}

TEST(MqttVarByteInt, SpecTableBoundaries) {
  // MQTT 5.0 §1.5.5 table: (value, encoding).
  const std::pair<uint32_t, const char*> cases[] = {{0, "00"},
                                                    {127, "7F"},
                                                    {128, "80 01"},
                                                    {16383, "FF 7F"},
                                                    {16384, "80 80 01"},
                                                    {2097151, "FF FF 7F"},
                                                    {2097152, "80 80 80 01"},
                                                    {268435455, "FF FF FF 7F"}};
  for (const auto& [value, encoding] : cases) {
    const util::Bytes expected = hex(encoding);
    EXPECT_EQ(vbi_size(value), expected.size()) << value;
    util::Bytes out(expected.size());
    wire::Writer w(out.data());
    w.vbi(value);
    EXPECT_EQ(out, expected) << value;
    const VbiParse p = parse_vbi(expected);
    EXPECT_EQ(p.status, VbiStatus::kOk);
    EXPECT_EQ(p.value, value);
    EXPECT_EQ(p.size, expected.size());
    // Every proper prefix is incomplete.
    for (size_t cut = 0; cut < expected.size(); ++cut) {
      EXPECT_EQ(parse_vbi(util::ByteSpan(expected).first(cut)).status, VbiStatus::kIncomplete);
    }
  }
  EXPECT_EQ(parse_vbi(hex("FF FF FF FF 7F")).status, VbiStatus::kTooLong);
  EXPECT_EQ(parse_vbi(hex("80 80 80 80 01")).status, VbiStatus::kTooLong);
  // Non-minimal encodings are accepted on input (see wire.h).
  const VbiParse non_minimal = parse_vbi(hex("80 00"));
  EXPECT_EQ(non_minimal.status, VbiStatus::kOk);
  EXPECT_EQ(non_minimal.value, 0u);
  EXPECT_EQ(non_minimal.size, 2u);
}

TEST(MqttWireReader, ErrorsNameThePacketAndField) {
  const util::Bytes data = hex("00 05 61 62");
  wire::Reader r(data, PacketType::kPublish);
  std::string_view s;
  EXPECT_FALSE(r.string_view(s, "topic name"));
  const DecodeError e = r.take_error();
  EXPECT_EQ(e.reason, ReasonCode::kMalformedPacket);
  EXPECT_EQ(e.message, "PUBLISH: topic name runs past the end of the packet");
  EXPECT_EQ(e.to_status().message(),
            "PUBLISH: topic name runs past the end of the packet (reason 0x81 Malformed Packet)");
}

// ---- framing ----

TEST(MqttFraming, EmptyAndPartialHeadersNeedMore) {
  EXPECT_EQ(probe_frame({}).status, FrameStatus::kNeedMore);
  const util::Bytes one = hex("30");
  FrameProbe f = probe_frame(one);
  EXPECT_EQ(f.status, FrameStatus::kNeedMore);
  EXPECT_FALSE(f.header_known);
  const util::Bytes partial_length = hex("30 80 80");
  f = probe_frame(partial_length);
  EXPECT_EQ(f.status, FrameStatus::kNeedMore);
  EXPECT_FALSE(f.header_known);
}

TEST(MqttFraming, CompleteAndIncompletePackets) {
  const util::Bytes ping = hex("C0 00 D0");  // PINGREQ + the first byte of the next packet
  FrameProbe f = probe_frame(ping);
  EXPECT_EQ(f.status, FrameStatus::kComplete);
  EXPECT_EQ(f.packet_size, 2u);
  EXPECT_EQ(f.header.type(), PacketType::kPingreq);
  const util::Bytes publish_head = hex("32 09 00 03 61");  // needs 11 bytes in all
  f = probe_frame(publish_head);
  EXPECT_EQ(f.status, FrameStatus::kNeedMore);
  ASSERT_TRUE(f.header_known);
  EXPECT_EQ(f.packet_size, 11u);
  EXPECT_EQ(f.header.flags(), 0x2);
  EXPECT_EQ(f.header.remaining_length, 9u);
}

TEST(MqttFraming, RejectsReservedTypeAndFiveByteLength) {
  const util::Bytes type0 = hex("00 00");
  FrameProbe f = probe_frame(type0);
  EXPECT_EQ(f.status, FrameStatus::kInvalid);
  EXPECT_EQ(f.reason, ReasonCode::kMalformedPacket);
  const util::Bytes five = hex("30 FF FF FF FF 7F");
  f = probe_frame(five);
  EXPECT_EQ(f.status, FrameStatus::kInvalid);
  EXPECT_EQ(f.reason, ReasonCode::kMalformedPacket);
  EXPECT_EQ(f.message, "remaining length is longer than 4 bytes");
  DecodeOptions o;
  auto d = decode_packet(five, o);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.reason(), ReasonCode::kMalformedPacket);
}

TEST(MqttFraming, TooLargeIsRejectedFromTheHeaderAlone) {
  // PUBLISH announcing 1000 bytes; only the header has arrived. Total = 1 + 2 + 1000.
  const util::Bytes head = hex("30 E8 07");
  FrameProbe f = probe_frame(head, 1002);
  EXPECT_EQ(f.status, FrameStatus::kInvalid);
  EXPECT_EQ(f.reason, ReasonCode::kPacketTooLarge);
  EXPECT_EQ(f.packet_size, 1003u);
  f = probe_frame(head, 1003);
  EXPECT_EQ(f.status, FrameStatus::kNeedMore);
  EXPECT_EQ(f.packet_size, 1003u);
}

// Remaining-length boundaries: a 3.1.1 QoS 0 PUBLISH to topic "t" has remaining length
// 3 + payload; the length field must be the spec's encoding and the packet must decode.
TEST(MqttFraming, RemainingLengthBoundaries) {
  const std::pair<uint32_t, const char*> cases[] = {
      {127, "7F"},         {128, "80 01"},        {16383, "FF 7F"},
      {16384, "80 80 01"}, {2097151, "FF FF 7F"}, {2097152, "80 80 80 01"}};
  for (const auto& [rl, length_bytes] : cases) {
    Publish p;
    p.topic = "t";
    util::Bytes payload(rl - 3, 0x5A);
    p.payload = SharedBytes::adopt(std::move(payload));
    auto bytes = encode_to_bytes(p, Version::kV311);
    ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
    const util::Bytes expected_head = hex(std::string("30 ") + length_bytes + " 00 01 74");
    ASSERT_GE(bytes->size(), expected_head.size());
    EXPECT_TRUE(std::equal(expected_head.begin(), expected_head.end(), bytes->begin())) << rl;
    const FrameProbe f = probe_frame(*bytes);
    EXPECT_EQ(f.status, FrameStatus::kComplete);
    EXPECT_EQ(f.header.remaining_length, rl);
    EXPECT_EQ(f.packet_size, bytes->size());
    DecodeOptions o;
    o.version = Version::kV311;
    auto d = decode_packet(*bytes, o);
    ASSERT_TRUE(d.ok()) << d.message();
    EXPECT_EQ(std::get<Publish>(*d), p);
  }
}

TEST(MqttFraming, LargestRemainingLength) {
  // 268435455 = FF FF FF 7F: framed from the header without buffering the body.
  const util::Bytes head = hex("30 FF FF FF 7F");
  FrameProbe f = probe_frame(head);
  EXPECT_EQ(f.status, FrameStatus::kNeedMore);
  EXPECT_EQ(f.packet_size, 5u + 268435455u);
  EXPECT_EQ(probe_frame(head, 1 << 20).reason, ReasonCode::kPacketTooLarge);
  // The encoder sizes it exactly and refuses one byte more.
  PublishHeader h;
  h.topic = "t";
  auto size = publish_size(h, 268435455 - 3, Version::kV311);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 5u + 268435455u);
  EXPECT_FALSE(publish_size(h, 268435455 - 2, Version::kV311).ok());
  util::Bytes out;
  ASSERT_TRUE(encode_publish_header(h, 268435455 - 3, Version::kV311, out).ok());
  EXPECT_EQ(out, hex("30 FF FF FF 7F 00 01 74"));
}

TEST(MqttFraming, DecodeRequiresTheExactFrame) {
  DecodeOptions o;
  const util::Bytes longer = hex("C0 00 00");
  auto d = decode_packet(longer, o);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.reason(), ReasonCode::kMalformedPacket);
  EXPECT_EQ(d.message(), "PINGREQ: remaining length is 0 but 1 bytes follow the fixed header");
  const util::Bytes shorter = hex("32 09 00 03 61 2F 62 00 0A 68");
  d = decode_packet(shorter, o);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.reason(), ReasonCode::kMalformedPacket);
  const util::Bytes header_only = hex("32 80");
  d = decode_packet(header_only, o);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.message(), "PUBLISH: remaining length is truncated");
  d = decode_packet(util::ByteSpan{}, o);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.reason(), ReasonCode::kMalformedPacket);
}

TEST(MqttFraming, NonMinimalRemainingLengthIsAccepted) {
  // PINGREQ with remaining length 0 written as 80 00 (two bytes).
  DecodeOptions o;
  const util::Bytes ping = hex("C0 80 00");
  auto d = decode_packet(ping, o);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_TRUE(std::holds_alternative<Pingreq>(*d));
  EXPECT_EQ(probe_frame(ping).packet_size, 3u);
}

}  // namespace
}  // namespace imet::mqtt
