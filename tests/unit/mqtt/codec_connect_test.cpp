// CONNECT and CONNACK: exact bytes worked out by hand from MQTT 3.1.1 §3.1-3.2 and MQTT 5.0
// §3.1-3.2, and every rejection rule with its reason code.
#include <string>

#include <gtest/gtest.h>

#include "codec_test_util.h"
#include "mqtt/codec/decoder.h"
#include "mqtt/codec/encoder.h"

namespace imet::mqtt {
namespace {

using namespace test_util;

// 3.1.1 CONNECT, client id "abc", Clean Session, keep alive 60:
// 10 0F | 00 04 'M' 'Q' 'T' 'T' | 04 | 02 | 00 3C | 00 03 'a' 'b' 'c'
constexpr const char* kConnect311 = "10 0F 00 04 4D 51 54 54 04 02 00 3C 00 03 61 62 63";
// 5.0: the same plus an empty property block (00) after keep alive: remaining length 16.
constexpr const char* kConnect5 = "10 10 00 04 4D 51 54 54 05 02 00 3C 00 00 03 61 62 63";

TEST(MqttConnect, MinimalV311ExactBytes) {
  Connect c;
  c.version = Version::kV311;
  c.clean_start = true;
  c.keep_alive = 60;
  c.client_id = "abc";
  EXPECT_EQ(encode(c, Version::kV311), hex(kConnect311));
  auto d = decode(hex(kConnect311), Version::kV5);  // CONNECT carries its own version
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Connect>(*d), c);
}

TEST(MqttConnect, MinimalV5ExactBytes) {
  Connect c;
  c.keep_alive = 60;
  c.client_id = "abc";
  EXPECT_EQ(encode(c, Version::kV5), hex(kConnect5));
  auto d = decode(hex(kConnect5), Version::kV311);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Connect>(*d), c);
  EXPECT_EQ(peek_connect_version(hex(kConnect5)), Version::kV5);
  EXPECT_EQ(peek_connect_version(hex(kConnect311)), Version::kV311);
}

// 5.0 CONNECT with will, user name, password and properties.
//  flags EE = user(80) | password(40) | will retain(20) | will QoS 1 (08) | will(04) | clean(02)
//  keep alive 10; properties (8): Session Expiry 30 = 11 0000001E, Receive Maximum 20 = 21 0014
//  client id "c1"; will properties (7): Payload Format 1 = 01 01, Will Delay 5 = 18 00000005
//  will topic "w/t"; will payload "bye"; user "u"; password 01 02. Remaining length 48 = 0x30.
constexpr const char* kConnectFull5 =
    "10 30 0004 4D515454 05 EE 000A"
    " 08 11 0000001E 21 0014"
    " 0002 6331"
    " 07 01 01 18 00000005"
    " 0003 772F74 0003 627965"
    " 0001 75 0002 0102";

Connect full_connect() {
  Connect c;
  c.keep_alive = 10;
  c.client_id = "c1";
  c.properties.session_expiry_interval = 30;
  c.properties.receive_maximum = 20;
  Will& w = c.will.emplace();
  w.topic = "w/t";
  w.payload = SharedBytes::copy_of(std::string_view("bye"));
  w.qos = 1;
  w.retain = true;
  w.properties.payload_format_indicator = 1;
  w.properties.will_delay_interval = 5;
  c.username = "u";
  c.password = util::Bytes{1, 2};
  return c;
}

TEST(MqttConnect, FullV5ExactBytes) {
  EXPECT_EQ(encode(full_connect(), Version::kV5), hex(kConnectFull5));
  auto d = decode(hex(kConnectFull5), Version::kV5);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Connect>(*d), full_connect());
  // Properties may come in any order: will delay before payload format.
  auto reordered = decode(hex("10 30 0004 4D515454 05 EE 000A 08 21 0014 11 0000001E 0002 6331"
                              " 07 18 00000005 01 01 0003 772F74 0003 627965 0001 75 0002 0102"),
                          Version::kV5);
  ASSERT_TRUE(reordered.ok()) << reordered.message();
  EXPECT_EQ(std::get<Connect>(*reordered), full_connect());
}

TEST(MqttConnect, V311WillUserPassword) {
  // flags C4 = user | password | will (QoS 0, no retain), no clean session; keep alive 0;
  // client id "x", will topic "t", will payload empty, user "u", password "p".
  // Remaining length: 10 + 3 + 3 + 2 + 3 + 3 = 24 = 0x18.
  const char* bytes = "10 18 0004 4D515454 04 C4 0000 0001 78 0001 74 0000 0001 75 0001 70";
  Connect c;
  c.version = Version::kV311;
  c.clean_start = false;
  c.client_id = "x";
  c.will.emplace().topic = "t";
  c.username = "u";
  c.password = util::Bytes{'p'};
  EXPECT_EQ(encode(c, Version::kV311), hex(bytes));
  auto d = decode(hex(bytes), Version::kV311);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Connect>(*d), c);
}

TEST(MqttConnect, ProtocolNameAndLevel) {
  // MQTT 3.1: "MQIsdp" level 3 -> Unsupported Protocol Version (3.1.1 CONNACK code 0x01).
  expect_rejected(frame("10", "0006 4D5149736470 03 02 003C 0003 616263"), Version::kV5,
                  ReasonCode::kUnsupportedProtocolVersion, "MQIsdp");
  EXPECT_EQ(to_connect_return_code(ReasonCode::kUnsupportedProtocolVersion),
            ConnectReturnCode::kUnacceptableProtocolVersion);
  expect_rejected(frame("10", "0004 4D515454 03 02 003C 0003 616263"), Version::kV5,
                  ReasonCode::kUnsupportedProtocolVersion, "protocol level 3 is not supported");
  expect_rejected(frame("10", "0004 4D515454 06 02 003C 0003 616263"), Version::kV5,
                  ReasonCode::kUnsupportedProtocolVersion, "protocol level 6");
  expect_rejected(frame("10", "0004 4D515455 04 02 003C 0003 616263"), Version::kV5,
                  ReasonCode::kProtocolError, "protocol name is not \"MQTT\"");
  EXPECT_EQ(peek_connect_version(hex("10 0F 0004 4D515454 03 02 003C 0003 616263")), std::nullopt);
}

TEST(MqttConnect, FlagRules) {
  // Reserved bit 0 set (MQTT-3.1.2-3).
  expect_rejected(frame("10", "0004 4D515454 04 03 003C 0003 616263"), Version::kV311,
                  ReasonCode::kMalformedPacket, "reserved connect flag");
  // Will flag 0 with will QoS 1 (MQTT-3.1.2-11 / 3.1.1: 3.1.2-13).
  expect_rejected(frame("10", "0004 4D515454 04 0A 003C 0003 616263"), Version::kV311,
                  ReasonCode::kMalformedPacket, "will QoS and will retain must be 0");
  // Will flag 0 with will retain.
  expect_rejected(frame("10", "0004 4D515454 05 22 003C 00 0003 616263"), Version::kV5,
                  ReasonCode::kMalformedPacket, "will QoS and will retain must be 0");
  // Will QoS 3 (with will flag).
  expect_rejected(frame("10", "0004 4D515454 04 1E 003C 0001 61 0001 74 0000"), Version::kV311,
                  ReasonCode::kMalformedPacket, "will QoS 3 is invalid");
  // 3.1.1: password without user name (MQTT-3.1.2-22); allowed in 5.0.
  expect_rejected(frame("10", "0004 4D515454 04 42 003C 0001 61 0001 70"), Version::kV311,
                  ReasonCode::kProtocolError, "password flag set without the user name flag");
  auto v5 = decode(frame("10", "0004 4D515454 05 42 003C 00 0001 61 0001 70"), Version::kV5);
  ASSERT_TRUE(v5.ok()) << v5.message();
  EXPECT_FALSE(std::get<Connect>(*v5).username);
  EXPECT_EQ(std::get<Connect>(*v5).password, util::Bytes{'p'});
}

TEST(MqttConnect, ClientIdentifierRules) {
  // 3.1.1: empty client id needs Clean Session (MQTT-3.1.3-8) -> identifier rejected.
  expect_rejected(frame("10", "0004 4D515454 04 00 003C 0000"), Version::kV311,
                  ReasonCode::kClientIdentifierNotValid, "empty client identifier");
  EXPECT_EQ(to_connect_return_code(ReasonCode::kClientIdentifierNotValid),
            ConnectReturnCode::kIdentifierRejected);
  EXPECT_TRUE(decode(hex("10 0C 0004 4D515454 04 02 003C 0000"), Version::kV311).ok());
  // 5.0: an empty client id is allowed even without Clean Start (the server assigns one).
  EXPECT_TRUE(decode(hex("10 0D 0004 4D515454 05 00 003C 00 0000"), Version::kV5).ok());
  // Ill-formed UTF-8 / U+0000 in the client id: malformed (MQTT-1.5.4-1/2).
  expect_rejected(frame("10", "0004 4D515454 04 02 003C 0001 C0"), Version::kV311,
                  ReasonCode::kMalformedPacket, "client identifier is not valid UTF-8");
  expect_rejected(frame("10", "0004 4D515454 04 02 003C 0001 00"), Version::kV311,
                  ReasonCode::kMalformedPacket, "client identifier contains the null character");
}

TEST(MqttConnect, WillRules) {
  // Will topic with a wildcard: Topic Name invalid.
  expect_rejected(frame("10", "0004 4D515454 04 06 003C 0001 61 0001 23 0000"), Version::kV311,
                  ReasonCode::kTopicNameInvalid, "will topic");
  // Empty will topic.
  expect_rejected(frame("10", "0004 4D515454 04 06 003C 0001 61 0000 0000"), Version::kV311,
                  ReasonCode::kTopicNameInvalid, "will topic");
  // 5.0 will payload declared UTF-8 (01 01) but FF is not UTF-8: Payload format invalid.
  expect_rejected(frame("10", "0004 4D515454 05 06 003C 00 0001 61 02 0101 0001 74 0001 FF"),
                  Version::kV5, ReasonCode::kPayloadFormatInvalid, "will payload is not UTF-8");
  DecodeOptions lax;
  lax.validate_payload_format = false;
  EXPECT_TRUE(
      decode_packet(hex("10 17 0004 4D515454 05 06 003C 00 0001 61 02 0101 0001 74 0001 FF"), lax)
          .ok());
  // A CONNECT-only property in the will properties: not allowed there -> malformed.
  expect_rejected(frame("10", "0004 4D515454 05 06 003C 00 0001 61 05 11 00000001 0001 74 0000"),
                  Version::kV5, ReasonCode::kMalformedPacket,
                  "Session Expiry Interval property is not allowed in will properties");
}

TEST(MqttConnect, PropertyRules) {
  // Receive Maximum 0 -> Protocol Error.
  expect_rejected(frame("10", "0004 4D515454 05 02 003C 03 21 0000 0001 61"), Version::kV5,
                  ReasonCode::kProtocolError, "Receive Maximum must not be 0");
  // Maximum Packet Size 0 -> Protocol Error.
  expect_rejected(frame("10", "0004 4D515454 05 02 003C 05 27 00000000 0001 61"), Version::kV5,
                  ReasonCode::kProtocolError, "Maximum Packet Size must not be 0");
  // Request Problem Information 2 -> Protocol Error.
  expect_rejected(frame("10", "0004 4D515454 05 02 003C 02 17 02 0001 61"), Version::kV5,
                  ReasonCode::kProtocolError, "Request Problem Information must be 0 or 1");
  // Authentication Data without Authentication Method -> Protocol Error.
  expect_rejected(frame("10", "0004 4D515454 05 02 003C 04 16 0001 AA 0001 61"), Version::kV5,
                  ReasonCode::kProtocolError, "Authentication Data without");
  // Topic Alias (PUBLISH only) in CONNECT -> malformed.
  expect_rejected(frame("10", "0004 4D515454 05 02 003C 03 23 0001 0001 61"), Version::kV5,
                  ReasonCode::kMalformedPacket, "Topic Alias property is not allowed in CONNECT");
}

TEST(MqttConnect, TrailingAndTruncated) {
  expect_rejected(frame("10", "0004 4D515454 04 02 003C 0003 616263 00"), Version::kV311,
                  ReasonCode::kMalformedPacket, "1 unexpected bytes after the end of the packet");
  expect_rejected(frame("10", "0004 4D515454 04 02 003C 0003 6162"), Version::kV311,
                  ReasonCode::kMalformedPacket, "client identifier runs past the end");
  // User name flag set but no user name.
  expect_rejected(frame("10", "0004 4D515454 04 82 003C 0003 616263"), Version::kV311,
                  ReasonCode::kMalformedPacket, "user name runs past the end");
}

TEST(MqttConnect, EncoderRefusesInvalid) {
  Connect c;
  c.version = Version::kV311;
  c.password = util::Bytes{1};
  EXPECT_FALSE(encoded_size(c, Version::kV311).ok());  // password without user name in 3.1.1
  c.version = Version::kV5;
  EXPECT_TRUE(encoded_size(c, Version::kV5).ok());
  c.will.emplace().topic = "a/+";
  EXPECT_FALSE(encoded_size(c, Version::kV5).ok());
  c.will->topic = "a";
  c.will->qos = 3;
  EXPECT_FALSE(encoded_size(c, Version::kV5).ok());
  c.will->qos = 2;
  c.client_id.assign(65536, 'x');
  util::Bytes out = {9};
  EXPECT_FALSE(encode_packet(c, Version::kV5, out).ok());
  EXPECT_EQ(out, util::Bytes{9});  // unchanged on failure
}

// ---- CONNACK ----

TEST(MqttConnack, V311ExactBytes) {
  Connack accepted;
  EXPECT_EQ(encode(accepted, Version::kV311), hex("20 02 00 00"));
  Connack resumed;
  resumed.session_present = true;
  EXPECT_EQ(encode(resumed, Version::kV311), hex("20 02 01 00"));
  Connack refused;
  refused.reason_code = ReasonCode::kUnsupportedProtocolVersion;
  EXPECT_EQ(encode(refused, Version::kV311), hex("20 02 00 01"));
  refused.reason_code = ReasonCode::kNotAuthorized;
  EXPECT_EQ(encode(refused, Version::kV311), hex("20 02 00 05"));
  refused.reason_code = ReasonCode::kBadUserNameOrPassword;
  EXPECT_EQ(encode(refused, Version::kV311), hex("20 02 00 04"));
  auto d = decode(hex("20 02 00 02"), Version::kV311);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<Connack>(*d).reason_code, ReasonCode::kClientIdentifierNotValid);
  d = decode(hex("20 02 00 03"), Version::kV311);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<Connack>(*d).reason_code, ReasonCode::kServerUnavailable);
}

TEST(MqttConnack, V5ExactBytes) {
  Connack c;
  EXPECT_EQ(encode(c, Version::kV5), hex("20 03 00 00 00"));
  // Assigned Client Identifier "id": properties 12 0002 6964 (5 bytes), remaining length 8.
  c.properties.assigned_client_identifier = "id";
  EXPECT_EQ(encode(c, Version::kV5), hex("20 08 00 00 05 12 0002 6964"));
  auto d = decode(hex("20 08 00 00 05 12 0002 6964"), Version::kV5);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Connack>(*d), c);
}

TEST(MqttConnack, Rejections) {
  expect_rejected(frame("20", "02 00"), Version::kV311, ReasonCode::kMalformedPacket,
                  "reserved acknowledge flags");
  expect_rejected(frame("20", "00 06"), Version::kV311, ReasonCode::kProtocolError,
                  "return code 6 is reserved");
  expect_rejected(frame("20", "01 05"), Version::kV311, ReasonCode::kProtocolError,
                  "session present must be 0");
  expect_rejected(frame("20", "01 87 00"), Version::kV5, ReasonCode::kProtocolError,
                  "session present must be 0");
  expect_rejected(frame("20", "00 8E 00"), Version::kV5, ReasonCode::kProtocolError,
                  "not allowed in CONNACK");  // Session taken over is a DISCONNECT code
  expect_rejected(frame("20", "00 00"), Version::kV5, ReasonCode::kMalformedPacket,
                  "property length runs past the end");
  expect_rejected(frame("20", "00 00 00"), Version::kV311, ReasonCode::kMalformedPacket,
                  "unexpected bytes");
  expect_rejected(frame("20", "00 00 02 24 02"), Version::kV5, ReasonCode::kProtocolError,
                  "Maximum QoS must be 0 or 1");
  expect_rejected(frame("20", "00 00 02 25 02"), Version::kV5, ReasonCode::kProtocolError,
                  "Retain Available must be 0 or 1");
  expect_rejected(frame("20", "00 00 02 28 05"), Version::kV5, ReasonCode::kProtocolError,
                  "Wildcard Subscription Available must be 0 or 1");
  expect_rejected(frame("20", "00 00 02 29 02"), Version::kV5, ReasonCode::kProtocolError,
                  "Subscription Identifier Available must be 0 or 1");
  expect_rejected(frame("20", "00 00 02 2A 02"), Version::kV5, ReasonCode::kProtocolError,
                  "Shared Subscription Available must be 0 or 1");
  // A client must not receive CONNACK as a server.
  auto r = decode(hex("20 03 00 00 00"), Version::kV5, Sender::kClient);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.reason(), ReasonCode::kProtocolError);
}

// MQTT 5 leaves the property order open; imetd writes CONNACK properties in mosquitto 2.0's order
// so byte-exact suites written against mosquitto can run. Expected bytes: the CONNACK the
// mosquitto 2.0.11 broker test suite expects for max_topic_alias 10, max_inflight_messages 20.
TEST(MqttConnack, V5PropertiesInMosquittosOrder) {
  Connack plain;
  plain.properties.receive_maximum = 20;
  plain.properties.topic_alias_maximum = 10;
  EXPECT_EQ(encode(plain, Version::kV5), hex("20 09 00 00 06 22 00 0a 21 00 14"));

  Connack full;
  full.properties.session_expiry_interval = 60;
  full.properties.receive_maximum = 20;
  full.properties.maximum_packet_size = 1024;
  full.properties.topic_alias_maximum = 10;
  full.properties.retain_available = 0;
  full.properties.server_keep_alive = 30;
  full.properties.assigned_client_identifier = "id";
  full.properties.reason_string = "ok";
  // 22 TopicAliasMax, 13 ServerKeepAlive, 12 AssignedClientId, 25 RetainAvailable,
  // 27 MaximumPacketSize, 21 ReceiveMaximum, then the rest ascending: 11 SessionExpiry,
  // 1f ReasonString.
  EXPECT_EQ(encode(full, Version::kV5),
            hex("20 22 00 00 1f 22 00 0a 13 00 1e 12 00 02 69 64 25 00 27 00 00 04 00"
                " 21 00 14 11 00 00 00 3c 1f 00 02 6f 6b"));
  // The decoder takes any order back.
  auto d = decode(encode(full, Version::kV5), Version::kV5, Sender::kServer);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<Connack>(*d).properties, full.properties);
}

}  // namespace
}  // namespace imet::mqtt
