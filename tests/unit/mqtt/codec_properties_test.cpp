// MQTT 5.0 properties (§2.2.2): which property is allowed in which packet (checked against a
// table transcribed here from the spec, independently of the codec's own table), duplicates,
// value rules and the UserProperties container.
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codec_test_util.h"
#include "mqtt/codec/properties.h"

namespace imet::mqtt {
namespace {

using namespace test_util;

using S = PropertyScope;

const std::vector<S> kAllScopes = {S::kWill,       S::kConnect, S::kConnack,     S::kPublish,
                                   S::kPuback,     S::kPubrec,  S::kPubrel,      S::kPubcomp,
                                   S::kSubscribe,  S::kSuback,  S::kUnsubscribe, S::kUnsuback,
                                   S::kDisconnect, S::kAuth};

struct SpecRow {
  uint8_t id;
  const char* name;
  const char* value;   // a valid value, hex
  std::set<S> scopes;  // MQTT 5.0 §2.2.2.2 table
};

// Transcribed from the MQTT 5.0 specification, table 2-4 "Properties".
const std::vector<SpecRow>& spec_table() {
  static const std::vector<SpecRow> rows = {
      {0x01, "Payload Format Indicator", "01", {S::kPublish, S::kWill}},
      {0x02, "Message Expiry Interval", "0000000A", {S::kPublish, S::kWill}},
      {0x03, "Content Type", "0001 61", {S::kPublish, S::kWill}},
      {0x08, "Response Topic", "0001 61", {S::kPublish, S::kWill}},
      {0x09, "Correlation Data", "0001 AA", {S::kPublish, S::kWill}},
      {0x0B, "Subscription Identifier", "05", {S::kPublish, S::kSubscribe}},
      {0x11, "Session Expiry Interval", "0000000A", {S::kConnect, S::kConnack, S::kDisconnect}},
      {0x12, "Assigned Client Identifier", "0001 61", {S::kConnack}},
      {0x13, "Server Keep Alive", "000A", {S::kConnack}},
      {0x15, "Authentication Method", "0001 61", {S::kConnect, S::kConnack, S::kAuth}},
      {0x16, "Authentication Data", "0001 AA", {S::kConnect, S::kConnack, S::kAuth}},
      {0x17, "Request Problem Information", "01", {S::kConnect}},
      {0x18, "Will Delay Interval", "0000000A", {S::kWill}},
      {0x19, "Request Response Information", "01", {S::kConnect}},
      {0x1A, "Response Information", "0001 61", {S::kConnack}},
      {0x1C, "Server Reference", "0001 61", {S::kConnack, S::kDisconnect}},
      {0x1F,
       "Reason String",
       "0001 61",
       {S::kConnack, S::kPuback, S::kPubrec, S::kPubrel, S::kPubcomp, S::kSuback, S::kUnsuback,
        S::kDisconnect, S::kAuth}},
      {0x21, "Receive Maximum", "000A", {S::kConnect, S::kConnack}},
      {0x22, "Topic Alias Maximum", "000A", {S::kConnect, S::kConnack}},
      {0x23, "Topic Alias", "000A", {S::kPublish}},
      {0x24, "Maximum QoS", "01", {S::kConnack}},
      {0x25, "Retain Available", "01", {S::kConnack}},
      {0x26,
       "User Property",
       "0001 61 0001 62",
       {S::kConnect, S::kConnack, S::kPublish, S::kWill, S::kPuback, S::kPubrec, S::kPubrel,
        S::kPubcomp, S::kSubscribe, S::kSuback, S::kUnsubscribe, S::kUnsuback, S::kDisconnect,
        S::kAuth}},
      {0x27, "Maximum Packet Size", "0000000A", {S::kConnect, S::kConnack}},
      {0x28, "Wildcard Subscription Available", "01", {S::kConnack}},
      {0x29, "Subscription Identifier Available", "01", {S::kConnack}},
      {0x2A, "Shared Subscription Available", "01", {S::kConnack}},
  };
  return rows;
}

// A property block: vbi length (< 128 here) + content.
util::Bytes block(std::string_view content_hex) {
  const util::Bytes content = hex(content_hex);
  util::Bytes out;
  out.reserve(content.size() + 1);
  out.push_back(static_cast<uint8_t>(content.size()));
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

struct ReadOutcome {
  bool ok = false;
  DecodeError error;
  Properties props;
};

ReadOutcome read(const util::Bytes& bytes, S scope) {
  ReadOutcome o;
  const PacketType type = scope == S::kWill ? PacketType::kConnect : static_cast<PacketType>(scope);
  wire::Reader r(bytes, type);
  o.ok = read_properties(r, scope, o.props);
  if (!o.ok) o.error = r.take_error();
  if (o.ok && !r.at_end()) {
    o.ok = false;
    o.error.message = "block not consumed";
  }
  return o;
}

util::Bytes write(const Properties& p, S scope) {
  auto size = properties_size(&p, scope);
  EXPECT_TRUE(size.ok()) << size.status().to_string();
  if (!size.ok()) return {};
  util::Bytes out(vbi_size(static_cast<uint32_t>(*size)) + *size);
  wire::Writer w(out.data());
  write_properties(w, &p, *size);
  EXPECT_EQ(w.position(), out.data() + out.size());
  return out;
}

std::string content_of(const SpecRow& row) {
  std::string content;
  char id[3];
  std::snprintf(id, sizeof id, "%02X", row.id);
  // Authentication Data needs an Authentication Method next to it.
  if (row.id == 0x16) content = "15 0001 61 ";
  content += id;
  content += " ";
  content += row.value;
  return content;
}

TEST(MqttProperties, AllowedExactlyWhereTheSpecSays) {
  for (const SpecRow& row : spec_table()) {
    EXPECT_EQ(property_name(row.id), row.name);
    for (const S scope : kAllScopes) {
      const bool allowed = row.scopes.count(scope) > 0;
      EXPECT_EQ(property_allowed(static_cast<PropertyId>(row.id), scope), allowed)
          << row.name << " in " << scope_name(scope);
      const ReadOutcome o = read(block(content_of(row)), scope);
      if (allowed) {
        EXPECT_TRUE(o.ok) << row.name << " in " << scope_name(scope) << ": " << o.error.message;
        // Single property: the canonical encoding is the input.
        if (o.ok) {
          EXPECT_EQ(write(o.props, scope), block(content_of(row))) << row.name;
        }
      } else {
        ASSERT_FALSE(o.ok) << row.name << " in " << scope_name(scope);
        EXPECT_EQ(o.error.reason, ReasonCode::kMalformedPacket);
        EXPECT_NE(o.error.message.find("is not allowed in"), std::string::npos) << o.error.message;
        // The encoder refuses it too.
        if (row.id != 0x16) {
          Properties p = read(block(content_of(row)), *row.scopes.begin()).props;
          EXPECT_FALSE(properties_size(&p, scope).ok()) << row.name << " " << scope_name(scope);
        }
      }
    }
  }
}

TEST(MqttProperties, UnknownIdentifiersAreMalformed) {
  std::set<uint8_t> known;
  for (const SpecRow& row : spec_table())
    known.insert(row.id);
  for (int id = 0; id < 0x80; ++id) {
    if (known.count(static_cast<uint8_t>(id))) continue;
    const util::Bytes bytes = {2, static_cast<uint8_t>(id), 0};
    const ReadOutcome o = read(bytes, S::kPublish);
    ASSERT_FALSE(o.ok) << id;
    EXPECT_EQ(o.error.reason, ReasonCode::kMalformedPacket);
    EXPECT_NE(o.error.message.find("unknown property identifier"), std::string::npos);
  }
  // A two-byte identifier (0x81 0x01 = 129) is unknown too.
  const ReadOutcome o = read(hex("03 81 01 00"), S::kPublish);
  ASSERT_FALSE(o.ok);
  EXPECT_NE(o.error.message.find("unknown property identifier 0x81"), std::string::npos);
}

TEST(MqttProperties, DuplicatesAreProtocolErrors) {
  for (const SpecRow& row : spec_table()) {
    if (row.id == 0x16) continue;  // covered with its method below
    const std::string one = content_of(row);
    for (const S scope : row.scopes) {
      const ReadOutcome o = read(block(one + " " + one), scope);
      const bool repeatable = row.id == 0x26 || (row.id == 0x0B && scope == S::kPublish);
      if (repeatable) {
        EXPECT_TRUE(o.ok) << row.name << ": " << o.error.message;
      } else {
        ASSERT_FALSE(o.ok) << row.name << " twice in " << scope_name(scope);
        EXPECT_EQ(o.error.reason, ReasonCode::kProtocolError) << o.error.message;
        EXPECT_NE(o.error.message.find("included more than once"), std::string::npos);
      }
    }
  }
  const ReadOutcome data = read(block("15 0001 61 16 0001 AA 16 0001 AA"), S::kConnect);
  ASSERT_FALSE(data.ok);
  EXPECT_EQ(data.error.reason, ReasonCode::kProtocolError);
}

TEST(MqttProperties, ValueRules) {
  const struct {
    const char* content;
    S scope;
    ReasonCode reason;
    const char* text;
  } cases[] = {
      {"01 02", S::kPublish, ReasonCode::kProtocolError, "Payload Format Indicator must be 0 or 1"},
      {"17 02", S::kConnect, ReasonCode::kProtocolError, "must be 0 or 1"},
      {"19 FF", S::kConnect, ReasonCode::kProtocolError, "must be 0 or 1"},
      {"24 02", S::kConnack, ReasonCode::kProtocolError, "Maximum QoS must be 0 or 1"},
      {"25 02", S::kConnack, ReasonCode::kProtocolError, "must be 0 or 1"},
      {"28 02", S::kConnack, ReasonCode::kProtocolError, "must be 0 or 1"},
      {"29 02", S::kConnack, ReasonCode::kProtocolError, "must be 0 or 1"},
      {"2A 02", S::kConnack, ReasonCode::kProtocolError, "must be 0 or 1"},
      {"21 0000", S::kConnect, ReasonCode::kProtocolError, "Receive Maximum must not be 0"},
      {"21 0000", S::kConnack, ReasonCode::kProtocolError, "Receive Maximum must not be 0"},
      {"27 00000000", S::kConnack, ReasonCode::kProtocolError, "Maximum Packet Size must not be 0"},
      {"0B 00", S::kSubscribe, ReasonCode::kProtocolError, "Subscription Identifier must not be 0"},
      {"0B 80 80 80 80", S::kSubscribe, ReasonCode::kMalformedPacket, "longer than 4 bytes"},
      {"23 0000", S::kPublish, ReasonCode::kTopicAliasInvalid, "Topic Alias must not be 0"},
      {"08 0000", S::kPublish, ReasonCode::kProtocolError, "Response Topic"},
      {"08 0003 612F23", S::kWill, ReasonCode::kProtocolError, "Response Topic"},
      {"03 0001 FF", S::kPublish, ReasonCode::kMalformedPacket, "Content Type is not valid UTF-8"},
      {"26 0001 61 0001 00", S::kPublish, ReasonCode::kMalformedPacket,
       "User Property value contains the null character"},
      {"26 0001 61", S::kPublish, ReasonCode::kMalformedPacket,
       "User Property value runs past the end of the property block"},
      {"16 0001 AA", S::kAuth, ReasonCode::kProtocolError, "Authentication Data without"},
      {"13 00", S::kConnack, ReasonCode::kMalformedPacket, "Server Keep Alive runs past"},
      {"0B", S::kPublish, ReasonCode::kMalformedPacket, "Subscription Identifier runs past"},
  };
  for (const auto& c : cases) {
    const ReadOutcome o = read(block(c.content), c.scope);
    ASSERT_FALSE(o.ok) << c.content;
    EXPECT_EQ(o.error.reason, c.reason) << c.content << ": " << o.error.message;
    EXPECT_NE(o.error.message.find(c.text), std::string::npos) << o.error.message;
  }
  // Property length longer than what follows.
  const ReadOutcome o = read(hex("05 01 01"), S::kPublish);
  ASSERT_FALSE(o.ok);
  EXPECT_NE(o.error.message.find("property block runs past the end of the packet"),
            std::string::npos);
  // Largest Subscription Identifier and a multi-byte one.
  const ReadOutcome big = read(block("0B FF FF FF 7F 0B 80 01"), S::kPublish);
  ASSERT_TRUE(big.ok) << big.error.message;
  EXPECT_EQ(big.props.subscription_identifiers, (std::vector<uint32_t>{268435455, 128}));
}

TEST(MqttProperties, EncoderRejectsInvalidValues) {
  Properties p;
  p.receive_maximum = 0;
  EXPECT_FALSE(properties_size(&p, S::kConnect).ok());
  p = {};
  p.maximum_packet_size = 0;
  EXPECT_FALSE(properties_size(&p, S::kConnect).ok());
  p = {};
  p.payload_format_indicator = 2;
  EXPECT_FALSE(properties_size(&p, S::kPublish).ok());
  p = {};
  p.subscription_identifiers = {0};
  EXPECT_FALSE(properties_size(&p, S::kPublish).ok());
  p = {};
  p.response_topic = "a/#";
  EXPECT_FALSE(properties_size(&p, S::kPublish).ok());
  p = {};
  p.content_type = std::string(65536, 'c');
  EXPECT_FALSE(properties_size(&p, S::kPublish).ok());
  p = {};
  p.authentication_data = util::Bytes{1};
  EXPECT_FALSE(properties_size(&p, S::kConnect).ok());
  EXPECT_EQ(*properties_size(nullptr, S::kPublish), 0u);
}

TEST(MqttProperties, OrderIsCanonicalOnOutput) {
  // Input in descending identifier order; output ascending, user properties kept in order.
  const ReadOutcome o = read(
      block("26 0001 62 0001 32 23 0007 26 0001 61 0001 31 03 0001 74 02 00000001"), S::kPublish);
  ASSERT_TRUE(o.ok) << o.error.message;
  EXPECT_EQ(write(o.props, S::kPublish),
            block("02 00000001 03 0001 74 23 0007 26 0001 62 0001 32 26 0001 61 0001 31"));
}

TEST(MqttUserProperties, OrderedRepeatableCompact) {
  UserProperties u;
  EXPECT_TRUE(u.empty());
  ASSERT_TRUE(u.add("k", "1"));
  ASSERT_TRUE(u.add("a", ""));
  ASSERT_TRUE(u.add("k", "2"));
  EXPECT_EQ(u.size(), 3u);
  std::vector<std::pair<std::string, std::string>> seen;
  for (const UserProperty up : u)
    seen.emplace_back(up.name, up.value);
  EXPECT_EQ(seen,
            (std::vector<std::pair<std::string, std::string>>{{"k", "1"}, {"a", ""}, {"k", "2"}}));
  EXPECT_EQ(u.values("k"), (std::vector<std::string_view>{"1", "2"}));
  // Wire size: each pair is 1 (id) + 2 + name + 2 + value.
  EXPECT_EQ(u.wire_size(), 3u * 5 + 3 + 2);  // names "k","a","k"; values "1","","2"
  EXPECT_FALSE(u.add(std::string(65536, 'x'), "v"));
  EXPECT_EQ(u.size(), 3u);
  UserProperties same;
  ASSERT_TRUE(same.add("k", "1"));
  ASSERT_TRUE(same.add("a", ""));
  ASSERT_TRUE(same.add("k", "2"));
  EXPECT_EQ(u, same);
  u.clear();
  EXPECT_TRUE(u.empty());
  EXPECT_NE(u, same);
}

}  // namespace
}  // namespace imet::mqtt
