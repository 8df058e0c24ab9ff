// PINGREQ, PINGRESP, DISCONNECT, AUTH, reserved packet types, the Sender rules and the reason
// code tables: exact bytes worked out by hand from the specs and each rejection rule.
#include <string>

#include <gtest/gtest.h>

#include "codec_test_util.h"
#include "mqtt/codec/decoder.h"
#include "mqtt/codec/encoder.h"

namespace imet::mqtt {
namespace {

using namespace test_util;

TEST(MqttPing, ExactBytes) {
  for (const Version v : {Version::kV311, Version::kV5}) {
    EXPECT_EQ(encode(Pingreq{}, v), hex("C0 00"));
    EXPECT_EQ(encode(Pingresp{}, v), hex("D0 00"));
    auto d = decode(hex("C0 00"), v);
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE(std::holds_alternative<Pingreq>(*d));
    d = decode(hex("D0 00"), v);
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE(std::holds_alternative<Pingresp>(*d));
    expect_rejected(hex("C0 01 00"), v, ReasonCode::kMalformedPacket,
                    "PINGREQ: 1 unexpected bytes after the end of the packet");
    expect_rejected(hex("C1 00"), v, ReasonCode::kMalformedPacket,
                    "PINGREQ: invalid fixed header flags 0x1 (must be 0x0)");
    expect_rejected(hex("D8 00"), v, ReasonCode::kMalformedPacket, "invalid fixed header flags");
  }
  expect_rejected(hex("C0 00"), Version::kV5, ReasonCode::kProtocolError,
                  "only a client sends this packet", Sender::kServer);
  expect_rejected(hex("D0 00"), Version::kV5, ReasonCode::kProtocolError,
                  "only a server sends this packet", Sender::kClient);
  EXPECT_TRUE(decode(hex("C0 00"), Version::kV5, Sender::kClient).ok());
  EXPECT_TRUE(decode(hex("D0 00"), Version::kV5, Sender::kServer).ok());
}

TEST(MqttDisconnect, ExactBytes) {
  Disconnect d;
  EXPECT_EQ(encode(d, Version::kV311), hex("E0 00"));
  EXPECT_EQ(encode(d, Version::kV5), hex("E0 00"));  // Normal disconnection, no properties
  d.reason_code = ReasonCode::kSessionTakenOver;
  EXPECT_EQ(encode(d, Version::kV5), hex("E0 01 8E"));
  EXPECT_EQ(encode(d, Version::kV311), hex("E0 00"));  // 3.1.1 has no reason
  // Reason string "bye": properties 1F 0003 627965 (6 bytes); remaining length 1 + 1 + 6 = 8.
  d.properties.reason_string = "bye";
  EXPECT_EQ(encode(d, Version::kV5), hex("E0 08 8E 06 1F 0003 627965"));
  for (const char* bytes : {"E0 00", "E0 01 8E", "E0 02 8E 00", "E0 08 8E 06 1F 0003 627965"}) {
    auto r = decode(hex(bytes), Version::kV5);
    ASSERT_TRUE(r.ok()) << bytes << ": " << r.message();
  }
  auto r = decode(hex("E0 08 8E 06 1F 0003 627965"), Version::kV5);
  EXPECT_EQ(std::get<Disconnect>(*r), d);
  r = decode(hex("E0 00"), Version::kV5);
  EXPECT_EQ(std::get<Disconnect>(*r).reason_code, ReasonCode::kNormalDisconnection);
}

TEST(MqttDisconnect, Rejections) {
  expect_rejected(hex("E0 01 00"), Version::kV311, ReasonCode::kMalformedPacket,
                  "DISCONNECT: 1 unexpected bytes");
  expect_rejected(hex("E2 00"), Version::kV311, ReasonCode::kMalformedPacket,
                  "invalid fixed header flags");
  expect_rejected(hex("E0 01 01"), Version::kV5, ReasonCode::kProtocolError,
                  "reason code 1 is not allowed in DISCONNECT");
  expect_rejected(hex("E0 01 84"), Version::kV5, ReasonCode::kProtocolError,
                  "not allowed in DISCONNECT");
  expect_rejected(hex("E0 04 00 02 11 00"), Version::kV5, ReasonCode::kMalformedPacket,
                  "Session Expiry Interval runs past the end of the property block");
  expect_rejected(hex("E0 05 00 03 21 0001"), Version::kV5, ReasonCode::kMalformedPacket,
                  "Receive Maximum property is not allowed in DISCONNECT");
  // Session Expiry Interval: a client may send it, a server must not (MQTT-3.14.2-2).
  const util::Bytes with_expiry = hex("E0 07 00 05 11 0000000A");
  EXPECT_TRUE(decode(with_expiry, Version::kV5, Sender::kClient).ok());
  expect_rejected(with_expiry, Version::kV5, ReasonCode::kProtocolError,
                  "a server must not send a Session Expiry Interval", Sender::kServer);
  // Server Reference is allowed.
  EXPECT_TRUE(decode(hex("E0 07 9C 05 1C 0002 6868"), Version::kV5).ok());
}

// AUTH: Success with no properties is F0 00. Continue authentication (0x18) with method "SCRAM"
// (15 0005 534352414D) and data 01 02 (16 0002 0102): properties 8 + 5 = 13 (0x0D), remaining
// length 1 + 1 + 13 = 15.
TEST(MqttAuth, ExactBytes) {
  Auth a;
  EXPECT_EQ(encode(a, Version::kV5), hex("F0 00"));
  a.reason_code = ReasonCode::kContinueAuthentication;
  a.properties.authentication_method = "SCRAM";
  a.properties.authentication_data = util::Bytes{1, 2};
  const util::Bytes bytes = hex("F0 0F 18 0D 15 0005 534352414D 16 0002 0102");
  EXPECT_EQ(encode(a, Version::kV5), bytes);
  auto d = decode(bytes, Version::kV5);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(std::get<Auth>(*d), a);
  d = decode(hex("F0 00"), Version::kV5);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<Auth>(*d), Auth{});
  EXPECT_TRUE(decode(hex("F0 01 00"), Version::kV5).ok());  // Success, reason code only
  EXPECT_FALSE(encoded_size(a, Version::kV311).ok());
}

TEST(MqttAuth, Rejections) {
  expect_rejected(hex("F0 00"), Version::kV311, ReasonCode::kMalformedPacket,
                  "packet type 15 is reserved in MQTT 3.1.1");
  expect_rejected(hex("F1 00"), Version::kV5, ReasonCode::kMalformedPacket,
                  "AUTH: invalid fixed header flags");
  expect_rejected(hex("F0 02 87 00"), Version::kV5, ReasonCode::kProtocolError,
                  "reason code 135 is not allowed in AUTH");
  expect_rejected(hex("F0 02 18 00"), Version::kV5, ReasonCode::kProtocolError,
                  "Authentication Method is missing");
  expect_rejected(hex("F0 01 19"), Version::kV5, ReasonCode::kProtocolError,
                  "Authentication Method is missing");
  expect_rejected(hex("F0 06 00 04 1F 0001 72"), Version::kV5, ReasonCode::kProtocolError,
                  "Authentication Method is missing");
  expect_rejected(hex("F0 0A 18 08 15 0001 4D 15 0001 4D"), Version::kV5,
                  ReasonCode::kProtocolError, "Authentication Method property included more");
  expect_rejected(hex("F0 05 18 03 16 0000"), Version::kV5, ReasonCode::kProtocolError,
                  "Authentication Data without an Authentication Method");
  Auth no_method;
  no_method.reason_code = ReasonCode::kReAuthenticate;
  EXPECT_FALSE(encoded_size(no_method, Version::kV5).ok());
}

TEST(MqttFixedHeader, ReservedTypeZero) {
  for (const Version v : {Version::kV311, Version::kV5}) {
    expect_rejected(hex("00 00"), v, ReasonCode::kMalformedPacket, "packet type 0 is reserved");
  }
}

TEST(MqttReasonCodes, NamesAndTables) {
  EXPECT_EQ(reason_code_name(ReasonCode::kSuccess), "Success");
  EXPECT_EQ(reason_code_name(ReasonCode::kMalformedPacket), "Malformed Packet");
  EXPECT_EQ(reason_code_name(ReasonCode::kPacketTooLarge), "Packet too large");
  EXPECT_EQ(reason_code_name(ReasonCode::kWildcardSubscriptionsNotSupported),
            "Wildcard Subscriptions not supported");
  EXPECT_EQ(reason_code_name(static_cast<ReasonCode>(0x03)), "Unknown reason code");
  // The 43 distinct codes of MQTT 5.0 §2.4.
  int count = 0;
  for (int b = 0; b < 256; ++b)
    count += is_reason_code(static_cast<uint8_t>(b)) ? 1 : 0;
  EXPECT_EQ(count, 43);
  EXPECT_TRUE(reason_code_allowed(PacketType::kConnack, ReasonCode::kBanned));
  EXPECT_FALSE(reason_code_allowed(PacketType::kConnack, ReasonCode::kServerShuttingDown));
  EXPECT_TRUE(reason_code_allowed(PacketType::kDisconnect, ReasonCode::kServerShuttingDown));
  EXPECT_TRUE(reason_code_allowed(PacketType::kSuback, ReasonCode::kGrantedQos2));
  EXPECT_FALSE(reason_code_allowed(PacketType::kPuback, ReasonCode::kGrantedQos2));
  EXPECT_FALSE(reason_code_allowed(PacketType::kPublish, ReasonCode::kSuccess));
  for (uint8_t c = 0; c <= 5; ++c) {
    const auto rc = static_cast<ConnectReturnCode>(c);
    EXPECT_EQ(to_connect_return_code(to_reason_code(rc)), rc);
    EXPECT_NE(connect_return_code_name(rc), "Reserved return code");
  }
  EXPECT_EQ(to_connect_return_code(ReasonCode::kQuotaExceeded),
            ConnectReturnCode::kServerUnavailable);
  EXPECT_EQ(packet_type_name(PacketType::kUnsubscribe), "UNSUBSCRIBE");
  EXPECT_EQ(version_name(Version::kV311), "3.1.1");
}

}  // namespace
}  // namespace imet::mqtt
