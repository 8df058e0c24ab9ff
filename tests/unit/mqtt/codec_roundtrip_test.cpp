// Round trips of every packet type in both versions with every property the packet allows,
// truncation at every cut point, and framing of a stream split at arbitrary chunk boundaries.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mqtt/codec/decoder.h"
#include "mqtt/codec/encoder.h"
#include "mqtt/codec/framing.h"

namespace imet::mqtt {
namespace {

// Properties with every property allowed in `scope` set to a non-default value.
Properties all_properties(PropertyScope scope) {
  Properties all;
  all.payload_format_indicator = 1;
  all.message_expiry_interval = 3600;
  all.content_type = "application/json";
  all.response_topic = "reply/to/me";
  all.correlation_data = util::Bytes{0xDE, 0xAD, 0x00, 0xBE, 0xEF};
  all.subscription_identifiers = {1, 268435455};
  all.session_expiry_interval = 0xFFFFFFFF;
  all.assigned_client_identifier = "auto-1234";
  all.server_keep_alive = 30;
  all.authentication_method = "SCRAM-SHA-256";
  all.authentication_data = util::Bytes{1, 2, 3};
  all.request_problem_information = 0;
  all.will_delay_interval = 10;
  all.request_response_information = 1;
  all.response_information = "resp/";
  all.server_reference = "other.example:1883";
  all.reason_string = "because";
  all.receive_maximum = 100;
  all.topic_alias_maximum = 10;
  all.topic_alias = 7;
  all.maximum_qos = 1;
  all.retain_available = 0;
  EXPECT_TRUE(all.user_properties.add("region", "eu"));
  EXPECT_TRUE(all.user_properties.add("region", "us"));
  EXPECT_TRUE(all.user_properties.add("emoji", "\xF0\x9F\x98\x80"));
  all.maximum_packet_size = 1 << 20;
  all.wildcard_subscription_available = 1;
  all.subscription_identifier_available = 0;
  all.shared_subscription_available = 1;
  // Clear what the scope does not allow.
  Properties p;
#define IMET_KEEP(field, id) \
  if (property_allowed(PropertyId::id, scope)) p.field = all.field
  IMET_KEEP(payload_format_indicator, kPayloadFormatIndicator);
  IMET_KEEP(message_expiry_interval, kMessageExpiryInterval);
  IMET_KEEP(content_type, kContentType);
  IMET_KEEP(response_topic, kResponseTopic);
  IMET_KEEP(correlation_data, kCorrelationData);
  IMET_KEEP(subscription_identifiers, kSubscriptionIdentifier);
  IMET_KEEP(session_expiry_interval, kSessionExpiryInterval);
  IMET_KEEP(assigned_client_identifier, kAssignedClientIdentifier);
  IMET_KEEP(server_keep_alive, kServerKeepAlive);
  IMET_KEEP(authentication_method, kAuthenticationMethod);
  IMET_KEEP(authentication_data, kAuthenticationData);
  IMET_KEEP(request_problem_information, kRequestProblemInformation);
  IMET_KEEP(will_delay_interval, kWillDelayInterval);
  IMET_KEEP(request_response_information, kRequestResponseInformation);
  IMET_KEEP(response_information, kResponseInformation);
  IMET_KEEP(server_reference, kServerReference);
  IMET_KEEP(reason_string, kReasonString);
  IMET_KEEP(receive_maximum, kReceiveMaximum);
  IMET_KEEP(topic_alias_maximum, kTopicAliasMaximum);
  IMET_KEEP(topic_alias, kTopicAlias);
  IMET_KEEP(maximum_qos, kMaximumQos);
  IMET_KEEP(retain_available, kRetainAvailable);
  IMET_KEEP(user_properties, kUserProperty);
  IMET_KEEP(maximum_packet_size, kMaximumPacketSize);
  IMET_KEEP(wildcard_subscription_available, kWildcardSubscriptionAvailable);
  IMET_KEEP(subscription_identifier_available, kSubscriptionIdentifierAvailable);
  IMET_KEEP(shared_subscription_available, kSharedSubscriptionAvailable);
#undef IMET_KEEP
  if (scope == PropertyScope::kSubscribe) p.subscription_identifiers = {42};
  return p;
}

// One packet of each type (two PUBLISHes); with_v5 fills everything only 5.0 can carry.
std::vector<Packet> sample_packets(Version v) {
  const bool v5 = v == Version::kV5;
  auto props = [&](PropertyScope s) { return v5 ? all_properties(s) : Properties{}; };
  std::vector<Packet> out;

  Connect c;
  c.version = v;
  c.clean_start = false;
  c.keep_alive = 65535;
  c.client_id = "client-\xC3\xA9";
  c.properties = props(PropertyScope::kConnect);
  Will& will = c.will.emplace();
  will.topic = "status/client";
  will.payload = SharedBytes::copy_of(std::string_view("{\"online\":false}"));
  will.qos = 2;
  will.retain = true;
  will.properties = props(PropertyScope::kWill);
  c.username = "user";
  c.password = util::Bytes{0, 1, 2, 0xFF};
  out.emplace_back(c);

  Connack ca;
  ca.session_present = true;
  ca.properties = props(PropertyScope::kConnack);
  out.emplace_back(ca);
  Connack refused;
  refused.reason_code = v5 ? ReasonCode::kQuotaExceeded : ReasonCode::kBadUserNameOrPassword;
  out.emplace_back(refused);

  Publish p;
  p.topic = "sensors/\xE2\x82\xAC/temp";
  p.qos = 2;
  p.dup = true;
  p.retain = true;
  p.packet_id = 65535;
  p.properties = props(PropertyScope::kPublish);
  p.payload = SharedBytes::copy_of(std::string_view("{\"t\":21.5}"));
  out.emplace_back(p);
  Publish q0;
  q0.topic = "x";
  out.emplace_back(q0);

  auto ack = [&](auto a, ReasonCode failure) {
    a.packet_id = 7;
    if (v5) {
      a.reason_code = failure;
      a.properties = props(scope_of(decltype(a)::kType));
    }
    out.emplace_back(a);
  };
  ack(Puback{}, ReasonCode::kNoMatchingSubscribers);
  ack(Pubrec{}, ReasonCode::kQuotaExceeded);
  ack(Pubrel{}, ReasonCode::kPacketIdentifierNotFound);
  ack(Pubcomp{}, ReasonCode::kPacketIdentifierNotFound);

  Subscribe s;
  s.packet_id = 1;
  s.properties = props(PropertyScope::kSubscribe);
  Subscription a;
  a.topic_filter = "a/+/c";
  a.options.qos = 1;
  Subscription b;
  b.topic_filter = "$share/g/d/#";
  b.options.qos = 2;
  if (v5) {
    a.options.no_local = true;
    a.options.retain_as_published = true;
    a.options.retain_handling = RetainHandling::kDoNotSend;
    b.options.retain_handling = RetainHandling::kSendIfNewSubscription;
  }
  s.subscriptions = {a, b};
  out.emplace_back(s);

  Suback sa;
  sa.packet_id = 1;
  sa.properties = props(PropertyScope::kSuback);
  sa.reason_codes = {ReasonCode::kGrantedQos1, ReasonCode::kGrantedQos2,
                     ReasonCode::kUnspecifiedError};
  if (v5) sa.reason_codes.push_back(ReasonCode::kSharedSubscriptionsNotSupported);
  out.emplace_back(sa);

  Unsubscribe u;
  u.packet_id = 2;
  u.properties = props(PropertyScope::kUnsubscribe);
  u.topic_filters = {"a/+/c", "#"};
  out.emplace_back(u);

  Unsuback ua;
  ua.packet_id = 2;
  ua.properties = props(PropertyScope::kUnsuback);
  if (v5) ua.reason_codes = {ReasonCode::kSuccess, ReasonCode::kNoSubscriptionExisted};
  out.emplace_back(ua);

  out.emplace_back(Pingreq{});
  out.emplace_back(Pingresp{});

  Disconnect d;
  if (v5) {
    d.reason_code = ReasonCode::kDisconnectWithWillMessage;
    d.properties = props(PropertyScope::kDisconnect);
  }
  out.emplace_back(d);

  if (v5) {
    Auth au;
    au.reason_code = ReasonCode::kReAuthenticate;
    au.properties = props(PropertyScope::kAuth);
    out.emplace_back(au);
  }
  return out;
}

DecodeOptions options(Version v) {
  DecodeOptions o;
  o.version = v;
  return o;
}

TEST(MqttRoundTrip, EveryPacketTypeBothVersions) {
  for (const Version v : {Version::kV311, Version::kV5}) {
    const std::vector<Packet> packets = sample_packets(v);
    EXPECT_EQ(packets.size(), v == Version::kV5 ? 17u : 16u);
    for (const Packet& packet : packets) {
      const std::string name(packet_type_name(packet_type(packet)));
      auto bytes = encode_to_bytes(packet, v);
      ASSERT_TRUE(bytes.ok()) << name << ": " << bytes.status().to_string();
      EXPECT_EQ(*encoded_size(packet, v), bytes->size()) << name;
      const FrameProbe f = probe_frame(*bytes);
      EXPECT_EQ(f.status, FrameStatus::kComplete) << name;
      EXPECT_EQ(f.packet_size, bytes->size()) << name;
      auto decoded = decode_packet(*bytes, options(v));
      ASSERT_TRUE(decoded.ok()) << name << " v" << version_name(v) << ": " << decoded.message();
      EXPECT_EQ(*decoded, packet) << name << " v" << version_name(v);
      auto again = encode_to_bytes(*decoded, v);
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(*again, *bytes) << name;
    }
  }
}

TEST(MqttRoundTrip, V5PropertiesAreDroppedFor311) {
  for (const Packet& packet : sample_packets(Version::kV5)) {
    if (std::holds_alternative<Auth>(packet) || std::holds_alternative<Connect>(packet)) continue;
    auto bytes = encode_to_bytes(packet, Version::kV311);
    ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
    auto decoded = decode_packet(*bytes, options(Version::kV311));
    ASSERT_TRUE(decoded.ok()) << decoded.message();
    EXPECT_EQ(packet_type(*decoded), packet_type(packet));
  }
}

// Cutting a valid packet anywhere must give a clean rejection: (a) the frame is cut (the remaining
// length no longer matches): always Malformed Packet; (b) the body is cut and the remaining
// length rewritten to match: either a clean rejection or a (shorter) valid packet that
// round-trips.
TEST(MqttRoundTrip, TruncationAtEveryCutPoint) {
  size_t rejected = 0;
  for (const Version v : {Version::kV311, Version::kV5}) {
    for (const Packet& packet : sample_packets(v)) {
      const util::Bytes bytes = *encode_to_bytes(packet, v);
      for (size_t cut = 0; cut < bytes.size(); ++cut) {
        auto d = decode_packet(util::ByteSpan(bytes).first(cut), options(v));
        ASSERT_FALSE(d.ok());
        EXPECT_EQ(d.reason(), ReasonCode::kMalformedPacket) << d.message();
      }
      const FrameProbe f = probe_frame(bytes);
      const util::ByteSpan body = util::ByteSpan(bytes).subspan(f.header.header_size);
      for (size_t cut = 0; cut < body.size(); ++cut) {
        util::Bytes shorter = {bytes[0]};
        util::Bytes length(vbi_size(static_cast<uint32_t>(cut)));
        wire::Writer(length.data()).vbi(static_cast<uint32_t>(cut));
        util::append(shorter, length);
        util::append(shorter, body.first(cut));
        auto d = decode_packet(shorter, options(v));
        if (!d.ok()) {
          ++rejected;
          EXPECT_GE(static_cast<int>(d.reason()), 0x80);
          EXPECT_FALSE(d.message().empty());
          continue;
        }
        auto again = encode_to_bytes(*d, v);
        ASSERT_TRUE(again.ok()) << again.status().to_string();
        auto d2 = decode_packet(*again, options(v));
        ASSERT_TRUE(d2.ok()) << d2.message();
        EXPECT_EQ(*d2, *d);
      }
    }
  }
  EXPECT_GT(rejected, 500u);
}

// A stream of every sample packet, delivered in random chunks, frames back into the same packets.
TEST(MqttRoundTrip, StreamFramingAcrossArbitraryChunks) {
  for (const Version v : {Version::kV311, Version::kV5}) {
    const std::vector<Packet> packets = sample_packets(v);
    util::Bytes stream;
    for (const Packet& p : packets)
      ASSERT_TRUE(encode_packet(p, v, stream).ok());
    std::mt19937 rng(12345);
    for (int round = 0; round < 200; ++round) {
      const size_t max_chunk = round < 20 ? 1 : 1 + rng() % 64;  // byte-by-byte first
      util::Bytes buffered;
      std::vector<Packet> got;
      size_t sent = 0;
      while (sent < stream.size()) {
        const size_t n = std::min(stream.size() - sent, 1 + rng() % max_chunk);
        buffered.insert(buffered.end(), stream.begin() + static_cast<std::ptrdiff_t>(sent),
                        stream.begin() + static_cast<std::ptrdiff_t>(sent + n));
        sent += n;
        for (;;) {
          const FrameProbe f = probe_frame(buffered, 4096);
          ASSERT_NE(f.status, FrameStatus::kInvalid) << f.message;
          if (f.status == FrameStatus::kNeedMore) break;
          auto d = decode_packet(util::ByteSpan(buffered).first(f.packet_size), options(v));
          ASSERT_TRUE(d.ok()) << d.message();
          got.push_back(std::move(*d));
          buffered.erase(buffered.begin(),
                         buffered.begin() + static_cast<std::ptrdiff_t>(f.packet_size));
        }
      }
      EXPECT_TRUE(buffered.empty());
      ASSERT_EQ(got.size(), packets.size());
      for (size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(got[i], packets[i]) << i;
    }
  }
}

}  // namespace
}  // namespace imet::mqtt
