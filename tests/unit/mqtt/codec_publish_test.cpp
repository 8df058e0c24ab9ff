// PUBLISH and PUBACK/PUBREC/PUBREL/PUBCOMP: exact bytes worked out by hand from the specs
// (3.1.1 §3.3-3.7, 5.0 §3.3-3.7), rejection rules, zero-copy decoding and the fan-out encoding
// of one shared payload to many subscribers.
#include <string>

#include <gtest/gtest.h>

#include "codec_test_util.h"
#include "mqtt/codec/decoder.h"
#include "mqtt/codec/encoder.h"

namespace imet::mqtt {
namespace {

using namespace test_util;

Publish publish(std::string topic, uint8_t qos, uint16_t id, std::string_view payload) {
  Publish p;
  p.topic = std::move(topic);
  p.qos = qos;
  p.packet_id = id;
  p.payload = SharedBytes::copy_of(payload);
  return p;
}

// QoS 1 PUBLISH, topic "a/b", packet id 10, payload "hi". First byte 0x32 = type 3, QoS 1.
// 3.1.1: 32 09 | 0003 612F62 | 000A | 6869. 5.0 adds an empty property block: 32 0A ... 00 ...
TEST(MqttPublish, Qos1ExactBytes) {
  const Publish p = publish("a/b", 1, 10, "hi");
  EXPECT_EQ(encode(p, Version::kV311), hex("32 09 0003 612F62 000A 6869"));
  EXPECT_EQ(encode(p, Version::kV5), hex("32 0A 0003 612F62 000A 00 6869"));
  auto d = decode(hex("32 09 0003 612F62 000A 6869"), Version::kV311);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Publish>(*d), p);
  d = decode(hex("32 0A 0003 612F62 000A 00 6869"), Version::kV5);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Publish>(*d), p);
}

// QoS 0, retain, topic "t", payload "x", properties (19 bytes): Message Expiry 60 =
// 02 0000003C, Content Type "text" = 03 0004 74657874, User Property k=v = 26 0001 6B 0001 76.
// First byte 0x31; remaining length 3 + 1 + 19 + 1 = 24 = 0x18.
TEST(MqttPublish, Qos0RetainWithPropertiesExactBytes) {
  Publish p = publish("t", 0, 0, "x");
  p.retain = true;
  p.properties.message_expiry_interval = 60;
  p.properties.content_type = "text";
  ASSERT_TRUE(p.properties.user_properties.add("k", "v"));
  const util::Bytes bytes =
      hex("31 18 0001 74 13 02 0000003C 03 0004 74657874 26 0001 6B 0001 76 78");
  EXPECT_EQ(encode(p, Version::kV5), bytes);
  auto d = decode(bytes, Version::kV5);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Publish>(*d), p);
  // 3.1.1 drops the properties: 31 04 0001 74 78.
  EXPECT_EQ(encode(p, Version::kV311), hex("31 04 0001 74 78"));
}

TEST(MqttPublish, Qos2DupAndEmptyPayload) {
  Publish p = publish("x", 2, 0x1234, "");
  p.dup = true;
  // First byte 0x3C = type 3 | DUP (8) | QoS 2 (4). Remaining length 3 + 2 = 5.
  EXPECT_EQ(encode(p, Version::kV311), hex("3C 05 0001 78 1234"));
  auto d = decode(hex("3C 05 0001 78 1234"), Version::kV311);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Publish>(*d), p);
}

TEST(MqttPublish, FlagAndFieldRules) {
  expect_rejected(frame("36", "0001 74 0001"), Version::kV311, ReasonCode::kMalformedPacket,
                  "PUBLISH: QoS 3 is invalid");
  expect_rejected(frame("38", "0001 74"), Version::kV311, ReasonCode::kMalformedPacket,
                  "DUP flag is set on a QoS 0 message");
  expect_rejected(frame("32", "0001 74 0000"), Version::kV311, ReasonCode::kProtocolError,
                  "packet identifier 0 is invalid");
  expect_rejected(frame("30", "0003 612F23"), Version::kV311, ReasonCode::kTopicNameInvalid,
                  "wildcard");
  expect_rejected(frame("30", "0003 2B2F61"), Version::kV5, ReasonCode::kTopicNameInvalid,
                  "wildcard");
  expect_rejected(frame("30", "0002 C0 80"), Version::kV311, ReasonCode::kMalformedPacket,
                  "topic name is not valid UTF-8");
  expect_rejected(frame("30", "0002 ED A0"), Version::kV311, ReasonCode::kMalformedPacket,
                  "topic name");
  expect_rejected(frame("30", "0001 00"), Version::kV311, ReasonCode::kMalformedPacket,
                  "null character");
  expect_rejected(frame("30", "0000 68"), Version::kV311, ReasonCode::kProtocolError,
                  "topic name is empty");
  expect_rejected(frame("30", "0000 00 68"), Version::kV5, ReasonCode::kProtocolError,
                  "topic name is empty and there is no Topic Alias");
  expect_rejected(frame("32", "0001 74"), Version::kV311, ReasonCode::kMalformedPacket,
                  "packet identifier runs past the end");
}

TEST(MqttPublish, TopicAliasRules) {
  // Empty topic with Topic Alias 1 (23 0001): allowed in 5.0.
  auto d = decode(frame("30", "0000 03 23 0001 68"), Version::kV5);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Publish>(*d).properties.topic_alias, 1);
  EXPECT_EQ(std::get<Publish>(*d).topic, "");
  // Topic Alias 0 is not permitted.
  expect_rejected(frame("30", "0001 74 03 23 0000"), Version::kV5, ReasonCode::kTopicAliasInvalid,
                  "Topic Alias must not be 0");
}

TEST(MqttPublish, PropertyRules) {
  expect_rejected(frame("30", "0001 74 02 01 02"), Version::kV5, ReasonCode::kProtocolError,
                  "Payload Format Indicator must be 0 or 1");
  expect_rejected(frame("30", "0001 74 02 0B 00"), Version::kV5, ReasonCode::kProtocolError,
                  "Subscription Identifier must not be 0");
  expect_rejected(frame("30", "0001 74 05 0B FF FF FF FF"), Version::kV5,
                  ReasonCode::kMalformedPacket, "longer than 4 bytes");
  expect_rejected(frame("30", "0001 74 05 08 0002 612B"), Version::kV5, ReasonCode::kProtocolError,
                  "Response Topic");
  expect_rejected(frame("30", "0001 74 04 02 00000001 02"), Version::kV5,
                  ReasonCode::kMalformedPacket, "property block");  // expiry truncated
  expect_rejected(frame("30", "0001 74 0A 02 00000001 02 00000002"), Version::kV5,
                  ReasonCode::kProtocolError, "Message Expiry Interval property included more");
  expect_rejected(frame("30", "0001 74 05 11 00000001"), Version::kV5, ReasonCode::kMalformedPacket,
                  "Session Expiry Interval property is not allowed in PUBLISH");
  // Subscription identifiers: repeatable in PUBLISH, but a client must not send them.
  const util::Bytes with_ids = frame("30", "0001 74 04 0B 01 0B 7F");
  auto d = decode(with_ids, Version::kV5, Sender::kServer);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Publish>(*d).properties.subscription_identifiers,
            (std::vector<uint32_t>{1, 127}));
  expect_rejected(with_ids, Version::kV5, ReasonCode::kProtocolError,
                  "a client must not send a Subscription Identifier", Sender::kClient);
}

TEST(MqttPublish, PayloadFormatIndicator) {
  // Payload Format Indicator 1 with payload FF: 0x99; with "hé" (68 C3A9): fine.
  expect_rejected(frame("30", "0001 74 02 01 01 FF"), Version::kV5,
                  ReasonCode::kPayloadFormatInvalid, "payload is not UTF-8");
  EXPECT_TRUE(decode(frame("30", "0001 74 02 01 01 68 C3A9"), Version::kV5).ok());
  EXPECT_TRUE(decode(frame("30", "0001 74 02 01 00 FF"), Version::kV5).ok());
  DecodeOptions lax;
  lax.validate_payload_format = false;
  EXPECT_TRUE(decode_packet(frame("30", "0001 74 02 01 01 FF"), lax).ok());
}

TEST(MqttPublish, EncoderRefusesInvalid) {
  Publish p = publish("a/+", 0, 0, "");
  EXPECT_FALSE(encoded_size(p, Version::kV5).ok());
  p.topic = "a";
  p.qos = 1;  // packet id 0
  EXPECT_FALSE(encoded_size(p, Version::kV5).ok());
  p.packet_id = 1;
  p.qos = 3;
  EXPECT_FALSE(encoded_size(p, Version::kV5).ok());
  p.qos = 0;
  p.dup = true;
  EXPECT_FALSE(encoded_size(p, Version::kV5).ok());
  p.dup = false;
  p.properties.topic_alias = 0;
  EXPECT_FALSE(encoded_size(p, Version::kV5).ok());
  p.properties.topic_alias = 3;
  p.topic = "";
  EXPECT_TRUE(encoded_size(p, Version::kV5).ok());
  EXPECT_FALSE(encoded_size(p, Version::kV311).ok());  // no aliases in 3.1.1
  p.topic = "a";
  p.properties.session_expiry_interval = 1;  // not a PUBLISH property
  EXPECT_FALSE(encoded_size(p, Version::kV5).ok());
}

TEST(MqttPublish, ZeroCopyDecodeAliasesTheFrame) {
  const SharedBytes wire = SharedBytes::copy_of(hex("32 0A 0003 612F62 000A 00 6869"));
  const long before = wire.use_count();
  DecodeOptions o;
  auto d = decode_packet(wire, o);
  ASSERT_TRUE(d.ok()) << d.message();
  const Publish& p = std::get<Publish>(*d);
  EXPECT_EQ(p.payload.as_string_view(), "hi");
  EXPECT_EQ(p.payload.data(), wire.data() + 10);  // points into the frame
  EXPECT_EQ(wire.use_count(), before + 1);
  // The span overload copies.
  auto copied = decode_packet(wire.span(), o);
  ASSERT_TRUE(copied.ok());
  EXPECT_NE(std::get<Publish>(*copied).payload.data(), wire.data() + 10);
  EXPECT_EQ(std::get<Publish>(*copied), p);
}

// One payload buffer, 100 subscribers: each gets its own header (packet id, QoS, topic alias,
// subscription identifier, expiry), the payload bytes are never copied, and header + payload is
// exactly the PUBLISH a full encode of that copy produces.
TEST(MqttPublish, FanOutSharesOnePayload) {
  Publish message = publish("sensors/room1/temp", 2, 77, std::string(300, 'p'));
  message.retain = true;
  message.properties.content_type = "text/plain";
  message.properties.payload_format_indicator = 1;
  message.properties.message_expiry_interval = 3600;
  message.properties.topic_alias = 9;                    // publisher's alias: per hop, dropped
  message.properties.subscription_identifiers = {1234};  // ignored for subscribers
  ASSERT_TRUE(message.properties.user_properties.add("origin", "node-7"));
  const long payload_refs = message.payload.use_count();

  util::Bytes header;
  for (uint16_t i = 1; i <= 100; ++i) {
    const Version v = i % 3 == 0 ? Version::kV311 : Version::kV5;
    PublishHeader h = publish_header_of(message);
    h.qos = static_cast<uint8_t>(i % 3);
    h.packet_id = h.qos > 0 ? i : 0;
    h.retain = i % 2 == 0;
    h.message_expiry_interval = 3600 - i;
    const uint32_t sub_id[] = {i};
    h.subscription_identifiers = sub_id;
    h.topic_alias = static_cast<uint16_t>(i);
    if (i > 50) h.topic = "";  // alias already established (5.0 only)
    if (i > 50 && v == Version::kV311) h.topic = message.topic;
    if (v == Version::kV311) h.topic_alias.reset();

    header.clear();
    ASSERT_TRUE(encode_publish_header(h, message.payload.size(), v, header).ok()) << i;
    auto size = publish_size(h, message.payload.size(), v);
    ASSERT_TRUE(size.ok());
    EXPECT_EQ(*size, header.size() + message.payload.size());

    Publish expected;
    expected.topic = std::string(h.topic);
    expected.qos = h.qos;
    expected.packet_id = h.packet_id;
    expected.retain = h.retain;
    expected.payload = message.payload;
    if (v == Version::kV5) {
      expected.properties = message.properties;
      expected.properties.message_expiry_interval = h.message_expiry_interval;
      expected.properties.topic_alias = h.topic_alias;
      expected.properties.subscription_identifiers = {i};
    }
    util::Bytes wire = header;
    util::append(wire, message.payload.span());
    EXPECT_EQ(wire, encode(expected, v)) << i;
    DecodeOptions o;
    o.version = v;
    o.sender = Sender::kServer;
    auto d = decode_packet(wire, o);
    ASSERT_TRUE(d.ok()) << d.message();
    EXPECT_EQ(std::get<Publish>(*d), expected) << i;
  }
  EXPECT_EQ(message.payload.use_count(), payload_refs);
}

// ---- acknowledgements ----

TEST(MqttPubAck, V311ExactBytes) {
  Puback ack;
  ack.packet_id = 10;
  EXPECT_EQ(encode(ack, Version::kV311), hex("40 02 000A"));
  Pubrec rec;
  rec.packet_id = 10;
  EXPECT_EQ(encode(rec, Version::kV311), hex("50 02 000A"));
  Pubrel rel;
  rel.packet_id = 10;
  EXPECT_EQ(encode(rel, Version::kV311), hex("62 02 000A"));  // PUBREL flags 0010
  Pubcomp comp;
  comp.packet_id = 10;
  EXPECT_EQ(encode(comp, Version::kV311), hex("70 02 000A"));
  auto d = decode(hex("62 02 000A"), Version::kV311);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<Pubrel>(*d), rel);
  // A failure reason cannot be expressed in 3.1.1: dropped.
  ack.reason_code = ReasonCode::kNotAuthorized;
  EXPECT_EQ(encode(ack, Version::kV311), hex("40 02 000A"));
}

TEST(MqttPubAck, V5ShortAndLongForms) {
  Puback ack;
  ack.packet_id = 10;
  EXPECT_EQ(encode(ack, Version::kV5), hex("40 02 000A"));  // Success, no properties
  ack.reason_code = ReasonCode::kNoMatchingSubscribers;
  EXPECT_EQ(encode(ack, Version::kV5), hex("40 03 000A 10"));  // reason only
  ack.properties.reason_string = "r";
  EXPECT_EQ(encode(ack, Version::kV5), hex("40 08 000A 10 04 1F 0001 72"));
  for (const char* bytes : {"40 02 000A", "40 03 000A 10", "40 08 000A 10 04 1F 0001 72"}) {
    auto d = decode(hex(bytes), Version::kV5);
    ASSERT_TRUE(d.ok()) << bytes << ": " << d.message();
  }
  auto d = decode(hex("40 08 000A 10 04 1F 0001 72"), Version::kV5);
  EXPECT_EQ(std::get<Puback>(*d), ack);
  // Reason code + empty property block (4 bytes) is the same packet as the 3-byte form.
  d = decode(hex("40 04 000A 10 00"), Version::kV5);
  ASSERT_TRUE(d.ok());
  ack.properties = {};
  EXPECT_EQ(std::get<Puback>(*d), ack);
  Pubrel rel;
  rel.packet_id = 5;
  rel.reason_code = ReasonCode::kPacketIdentifierNotFound;
  EXPECT_EQ(encode(rel, Version::kV5), hex("62 03 0005 92"));
}

TEST(MqttPubAck, Rejections) {
  expect_rejected(hex("40 02 0000"), Version::kV311, ReasonCode::kProtocolError,
                  "PUBACK: packet identifier 0 is invalid");
  expect_rejected(hex("40 03 000A 00"), Version::kV311, ReasonCode::kMalformedPacket,
                  "unexpected bytes");
  expect_rejected(hex("40 01 00"), Version::kV5, ReasonCode::kMalformedPacket,
                  "packet identifier runs past the end");
  expect_rejected(hex("60 02 000A"), Version::kV311, ReasonCode::kMalformedPacket,
                  "PUBREL: invalid fixed header flags 0x0 (must be 0x2)");
  expect_rejected(hex("42 02 000A"), Version::kV311, ReasonCode::kMalformedPacket,
                  "invalid fixed header flags");
  expect_rejected(hex("52 02 000A"), Version::kV5, ReasonCode::kMalformedPacket,
                  "invalid fixed header flags");
  expect_rejected(hex("72 02 000A"), Version::kV5, ReasonCode::kMalformedPacket,
                  "invalid fixed header flags");
  // Reason codes: PUBREL/PUBCOMP allow only 0x00 and 0x92; PUBACK/PUBREC not 0x92.
  expect_rejected(hex("62 03 000A 10"), Version::kV5, ReasonCode::kProtocolError,
                  "reason code 16 is not allowed in PUBREL");
  expect_rejected(hex("70 03 000A 80"), Version::kV5, ReasonCode::kProtocolError,
                  "not allowed in PUBCOMP");
  expect_rejected(hex("40 03 000A 92"), Version::kV5, ReasonCode::kProtocolError,
                  "not allowed in PUBACK");
  expect_rejected(hex("50 03 000A 04"), Version::kV5, ReasonCode::kProtocolError,
                  "not allowed in PUBREC");
  // Property not allowed in an ack.
  expect_rejected(hex("40 07 000A 00 03 23 0001"), Version::kV5, ReasonCode::kMalformedPacket,
                  "Topic Alias property is not allowed in PUBACK");
  // Property block longer than the packet.
  expect_rejected(hex("40 05 000A 00 05 1F"), Version::kV5, ReasonCode::kMalformedPacket,
                  "property block runs past the end of the packet");
}

}  // namespace
}  // namespace imet::mqtt
