// SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK: exact bytes worked out by hand from the specs
// (3.1.1 §3.8-3.11, 5.0 §3.8-3.11) and every rejection rule with its reason code.
#include <string>

#include <gtest/gtest.h>

#include "codec_test_util.h"
#include "mqtt/codec/decoder.h"
#include "mqtt/codec/encoder.h"

namespace imet::mqtt {
namespace {

using namespace test_util;

Subscription sub(std::string filter, uint8_t qos) {
  Subscription s;
  s.topic_filter = std::move(filter);
  s.options.qos = qos;
  return s;
}

// 3.1.1 SUBSCRIBE, packet id 1: "a/#" QoS 1 and "b" QoS 0.
// 82 0C | 0001 | 0003 612F23 01 | 0001 62 00   (remaining length 2 + 6 + 4 = 12)
TEST(MqttSubscribe, V311ExactBytes) {
  Subscribe s;
  s.packet_id = 1;
  s.subscriptions = {sub("a/#", 1), sub("b", 0)};
  const util::Bytes bytes = hex("82 0C 0001 0003 612F23 01 0001 62 00");
  EXPECT_EQ(encode(s, Version::kV311), bytes);
  auto d = decode(bytes, Version::kV311);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Subscribe>(*d), s);
}

// 5.0 SUBSCRIBE, packet id 2, Subscription Identifier 5 (0B 05), filter "x/+" with options
// QoS 2 | No Local (04) | Retain As Published (08) | Retain Handling 1 (10) = 1E.
// 82 0B | 0002 | 02 0B 05 | 0003 782F2B 1E
TEST(MqttSubscribe, V5OptionsExactBytes) {
  Subscribe s;
  s.packet_id = 2;
  s.properties.subscription_identifiers = {5};
  Subscription x = sub("x/+", 2);
  x.options.no_local = true;
  x.options.retain_as_published = true;
  x.options.retain_handling = RetainHandling::kSendIfNewSubscription;
  s.subscriptions = {x};
  const util::Bytes bytes = hex("82 0B 0002 02 0B 05 0003 782F2B 1E");
  EXPECT_EQ(encode(s, Version::kV5), bytes);
  auto d = decode(bytes, Version::kV5);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Subscribe>(*d), s);
  // Retain Handling 2 = 0x20.
  d = decode(frame("82", "0002 00 0001 61 20"), Version::kV5);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Subscribe>(*d).subscriptions[0].options.retain_handling,
            RetainHandling::kDoNotSend);
  // 3.1.1 encoding carries only the QoS bits.
  EXPECT_EQ(encode(s, Version::kV311), hex("82 08 0002 0003 782F2B 02"));
}

TEST(MqttSubscribe, Rejections) {
  expect_rejected(frame("80", "0001 0001 61 00"), Version::kV311, ReasonCode::kMalformedPacket,
                  "SUBSCRIBE: invalid fixed header flags 0x0 (must be 0x2)");
  expect_rejected(frame("83", "0001 0001 61 00"), Version::kV5, ReasonCode::kMalformedPacket,
                  "invalid fixed header flags");
  expect_rejected(frame("82", "0000 0001 61 00"), Version::kV311, ReasonCode::kProtocolError,
                  "packet identifier 0 is invalid");
  expect_rejected(frame("82", "0001"), Version::kV311, ReasonCode::kProtocolError,
                  "no topic filters");
  expect_rejected(frame("82", "0001 00"), Version::kV5, ReasonCode::kProtocolError,
                  "no topic filters");
  // 3.1.1 requested QoS byte: reserved bits or QoS 3 -> malformed (MQTT-3.8.3-4).
  expect_rejected(frame("82", "0001 0001 61 04"), Version::kV311, ReasonCode::kMalformedPacket,
                  "reserved bits (7..2)");
  expect_rejected(frame("82", "0001 0001 61 03"), Version::kV311, ReasonCode::kMalformedPacket,
                  "requested QoS 3");
  // 5.0 subscription options.
  expect_rejected(frame("82", "0001 00 0001 61 40"), Version::kV5, ReasonCode::kMalformedPacket,
                  "reserved subscription option bits");
  expect_rejected(frame("82", "0001 00 0001 61 80"), Version::kV5, ReasonCode::kMalformedPacket,
                  "reserved subscription option bits");
  expect_rejected(frame("82", "0001 00 0001 61 03"), Version::kV5, ReasonCode::kProtocolError,
                  "maximum QoS 3");
  expect_rejected(frame("82", "0001 00 0001 61 30"), Version::kV5, ReasonCode::kProtocolError,
                  "Retain Handling 3");
  // No Local on a shared subscription (MQTT-3.8.3-4); fine on a normal one.
  expect_rejected(frame("82", "0001 00 000A 2473686172652F672F61 04"), Version::kV5,
                  ReasonCode::kProtocolError, "No Local is set on a shared subscription");
  EXPECT_TRUE(decode(frame("82", "0001 00 0001 61 04"), Version::kV5).ok());
  // Subscription Identifier: once only, not 0.
  expect_rejected(frame("82", "0001 04 0B 01 0B 02 0001 61 00"), Version::kV5,
                  ReasonCode::kProtocolError, "Subscription Identifier property included more");
  expect_rejected(frame("82", "0001 02 0B 00 0001 61 00"), Version::kV5, ReasonCode::kProtocolError,
                  "Subscription Identifier must not be 0");
  // Truncated filter / missing options byte.
  expect_rejected(frame("82", "0001 0003 61"), Version::kV311, ReasonCode::kMalformedPacket,
                  "topic filter runs past the end");
  expect_rejected(frame("82", "0001 0001 61"), Version::kV311, ReasonCode::kMalformedPacket,
                  "subscription options runs past the end");
  expect_rejected(frame("82", "0001 0001 FF 00"), Version::kV311, ReasonCode::kMalformedPacket,
                  "topic filter is not valid UTF-8");
  // A server does not receive SUBSCRIBE from a server.
  expect_rejected(frame("82", "0001 0001 61 00"), Version::kV311, ReasonCode::kProtocolError,
                  "only a client sends this packet", Sender::kServer);
}

// SUBACK, packet id 1: 3.1.1 codes 01 and 80: 90 04 0001 01 80; 5.0: 90 05 0001 00 01 8F.
TEST(MqttSuback, ExactBytes) {
  Suback a;
  a.packet_id = 1;
  a.reason_codes = {ReasonCode::kGrantedQos1, ReasonCode::kUnspecifiedError};
  EXPECT_EQ(encode(a, Version::kV311), hex("90 04 0001 01 80"));
  auto d = decode(hex("90 04 0001 01 80"), Version::kV311);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Suback>(*d), a);
  a.reason_codes = {ReasonCode::kGrantedQos1, ReasonCode::kTopicFilterInvalid};
  EXPECT_EQ(encode(a, Version::kV5), hex("90 05 0001 00 01 8F"));
  // A 3.1.1 client learns only "failure" (0x80).
  EXPECT_EQ(encode(a, Version::kV311), hex("90 04 0001 01 80"));
  d = decode(hex("90 05 0001 00 01 8F"), Version::kV5);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Suback>(*d), a);
}

TEST(MqttSuback, Rejections) {
  expect_rejected(hex("90 02 0001"), Version::kV311, ReasonCode::kProtocolError,
                  "SUBACK: no reason codes");
  expect_rejected(hex("90 03 0001 8F"), Version::kV311, ReasonCode::kProtocolError,
                  "reason code 143 is not allowed in SUBACK");  // 0x8F is 5.0 only
  expect_rejected(hex("90 03 0001 03"), Version::kV311, ReasonCode::kProtocolError,
                  "not allowed in SUBACK");
  expect_rejected(hex("90 04 0001 00 11"), Version::kV5, ReasonCode::kProtocolError,
                  "not allowed in SUBACK");
  expect_rejected(hex("91 03 0001 00"), Version::kV311, ReasonCode::kMalformedPacket,
                  "invalid fixed header flags");
  expect_rejected(hex("90 03 0001 00"), Version::kV311, ReasonCode::kProtocolError,
                  "only a server sends this packet", Sender::kClient);
}

// UNSUBSCRIBE, packet id 3, filter "a/b": 3.1.1 A2 07 0003 0003 612F62; 5.0 adds property
// length 00: A2 08 0003 00 0003 612F62.
TEST(MqttUnsubscribe, ExactBytesAndRejections) {
  Unsubscribe u;
  u.packet_id = 3;
  u.topic_filters = {"a/b"};
  EXPECT_EQ(encode(u, Version::kV311), hex("A2 07 0003 0003 612F62"));
  EXPECT_EQ(encode(u, Version::kV5), hex("A2 08 0003 00 0003 612F62"));
  auto d = decode(hex("A2 08 0003 00 0003 612F62"), Version::kV5);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Unsubscribe>(*d), u);
  expect_rejected(hex("A0 07 0003 0003 612F62"), Version::kV311, ReasonCode::kMalformedPacket,
                  "UNSUBSCRIBE: invalid fixed header flags");
  expect_rejected(hex("A2 02 0003"), Version::kV311, ReasonCode::kProtocolError,
                  "no topic filters");
  expect_rejected(hex("A2 03 0003 00"), Version::kV5, ReasonCode::kProtocolError,
                  "no topic filters");
  expect_rejected(hex("A2 07 0000 0003 612F62"), Version::kV311, ReasonCode::kProtocolError,
                  "packet identifier 0");
  // Only User Property is allowed in UNSUBSCRIBE.
  expect_rejected(hex("A2 0A 0003 02 0B 01 0003 612F62"), Version::kV5,
                  ReasonCode::kMalformedPacket,
                  "Subscription Identifier property is not allowed in UNSUBSCRIBE");
}

// UNSUBACK, packet id 3: 3.1.1 B0 02 0003; 5.0 with reason 0x11: B0 04 0003 00 11.
TEST(MqttUnsuback, ExactBytesAndRejections) {
  Unsuback a;
  a.packet_id = 3;
  EXPECT_EQ(encode(a, Version::kV311), hex("B0 02 0003"));
  a.reason_codes = {ReasonCode::kNoSubscriptionExisted};
  EXPECT_EQ(encode(a, Version::kV5), hex("B0 04 0003 00 11"));
  auto d = decode(hex("B0 04 0003 00 11"), Version::kV5);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Unsuback>(*d), a);
  d = decode(hex("B0 02 0003"), Version::kV311);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(std::get<Unsuback>(*d).reason_codes.empty());
  expect_rejected(hex("B0 03 0003 00"), Version::kV311, ReasonCode::kMalformedPacket,
                  "unexpected bytes");
  expect_rejected(hex("B0 03 0003 00"), Version::kV5, ReasonCode::kProtocolError,
                  "UNSUBACK: no reason codes");
  expect_rejected(hex("B0 04 0003 00 01"), Version::kV5, ReasonCode::kProtocolError,
                  "reason code 1 is not allowed in UNSUBACK");
  expect_rejected(hex("B0 02 0003"), Version::kV5, ReasonCode::kMalformedPacket,
                  "property length runs past the end");
}

TEST(MqttSubscribe, EncoderRefusesInvalid) {
  Subscribe s;
  s.packet_id = 1;
  EXPECT_FALSE(encoded_size(s, Version::kV5).ok());  // no filters
  s.subscriptions = {sub("a", 3)};
  EXPECT_FALSE(encoded_size(s, Version::kV5).ok());
  s.subscriptions = {sub("$share/g/a", 1)};
  s.subscriptions[0].options.no_local = true;
  EXPECT_FALSE(encoded_size(s, Version::kV5).ok());
  s.subscriptions[0].options.no_local = false;
  s.properties.subscription_identifiers = {1, 2};
  EXPECT_FALSE(encoded_size(s, Version::kV5).ok());
  s.properties.subscription_identifiers = {268435456};
  EXPECT_FALSE(encoded_size(s, Version::kV5).ok());
  s.properties.subscription_identifiers = {268435455};
  EXPECT_TRUE(encoded_size(s, Version::kV5).ok());
  Suback a;
  a.packet_id = 1;
  EXPECT_FALSE(encoded_size(a, Version::kV5).ok());       // no codes
  a.reason_codes = {ReasonCode::kNoSubscriptionExisted};  // an UNSUBACK code
  EXPECT_FALSE(encoded_size(a, Version::kV5).ok());
}

}  // namespace
}  // namespace imet::mqtt
