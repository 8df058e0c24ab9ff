#include "mqtt/codec/properties.h"

#include <array>
#include <cstdio>

namespace imet::mqtt {

namespace {

constexpr uint32_t bit(PropertyScope s) {
  return 1u << static_cast<unsigned>(s);
}

constexpr uint32_t kWillScope = bit(PropertyScope::kWill);
constexpr uint32_t kPublishScope = bit(PropertyScope::kPublish);
constexpr uint32_t kConnectScope = bit(PropertyScope::kConnect);
constexpr uint32_t kConnackScope = bit(PropertyScope::kConnack);
constexpr uint32_t kAcks = bit(PropertyScope::kPuback) | bit(PropertyScope::kPubrec) |
                           bit(PropertyScope::kPubrel) | bit(PropertyScope::kPubcomp) |
                           bit(PropertyScope::kSuback) | bit(PropertyScope::kUnsuback);

struct PropertyInfo {
  std::string_view name;
  uint32_t scopes = 0;
};

constexpr std::array<PropertyInfo, 0x2B> kInfo = [] {
  std::array<PropertyInfo, 0x2B> t{};
  const uint32_t disconnect = bit(PropertyScope::kDisconnect);
  const uint32_t auth = bit(PropertyScope::kAuth);
  t[0x01] = {"Payload Format Indicator", kPublishScope | kWillScope};
  t[0x02] = {"Message Expiry Interval", kPublishScope | kWillScope};
  t[0x03] = {"Content Type", kPublishScope | kWillScope};
  t[0x08] = {"Response Topic", kPublishScope | kWillScope};
  t[0x09] = {"Correlation Data", kPublishScope | kWillScope};
  t[0x0B] = {"Subscription Identifier", kPublishScope | bit(PropertyScope::kSubscribe)};
  t[0x11] = {"Session Expiry Interval", kConnectScope | kConnackScope | disconnect};
  t[0x12] = {"Assigned Client Identifier", kConnackScope};
  t[0x13] = {"Server Keep Alive", kConnackScope};
  t[0x15] = {"Authentication Method", kConnectScope | kConnackScope | auth};
  t[0x16] = {"Authentication Data", kConnectScope | kConnackScope | auth};
  t[0x17] = {"Request Problem Information", kConnectScope};
  t[0x18] = {"Will Delay Interval", kWillScope};
  t[0x19] = {"Request Response Information", kConnectScope};
  t[0x1A] = {"Response Information", kConnackScope};
  t[0x1C] = {"Server Reference", kConnackScope | disconnect};
  t[0x1F] = {"Reason String", kConnackScope | kAcks | disconnect | auth};
  t[0x21] = {"Receive Maximum", kConnectScope | kConnackScope};
  t[0x22] = {"Topic Alias Maximum", kConnectScope | kConnackScope};
  t[0x23] = {"Topic Alias", kPublishScope};
  t[0x24] = {"Maximum QoS", kConnackScope};
  t[0x25] = {"Retain Available", kConnackScope};
  t[0x26] = {"User Property", kWillScope | kConnectScope | kConnackScope | kPublishScope | kAcks |
                                  bit(PropertyScope::kSubscribe) |
                                  bit(PropertyScope::kUnsubscribe) | disconnect | auth};
  t[0x27] = {"Maximum Packet Size", kConnectScope | kConnackScope};
  t[0x28] = {"Wildcard Subscription Available", kConnackScope};
  t[0x29] = {"Subscription Identifier Available", kConnackScope};
  t[0x2A] = {"Shared Subscription Available", kConnackScope};
  return t;
}();

bool is_topic_name(std::string_view s) {
  return !s.empty() && !has_wildcard(s);
}

std::string hex_byte(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%02X", v);
  return buf;
}

std::string named(PropertyId id, std::string_view rest) {
  std::string s(property_name(static_cast<uint32_t>(id)));
  s += rest;
  return s;
}

}  // namespace

std::string_view property_name(uint32_t id) {
  return id < kInfo.size() ? kInfo[id].name : std::string_view();
}

std::string_view scope_name(PropertyScope scope) {
  if (scope == PropertyScope::kWill) return "will properties";
  return packet_type_name(static_cast<PacketType>(scope));
}

bool property_allowed(PropertyId id, PropertyScope scope) {
  const auto i = static_cast<size_t>(id);
  return i < kInfo.size() && (kInfo[i].scopes & bit(scope)) != 0;
}

// ---- UserProperties ----

namespace {
uint16_t load_u16(const char* p) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[0]) << 8) | static_cast<uint8_t>(p[1]));
}
void store_string(std::string& blob, std::string_view s) {
  blob.push_back(static_cast<char>(s.size() >> 8));
  blob.push_back(static_cast<char>(s.size() & 0xFF));
  blob.append(s);
}
}  // namespace

UserProperty UserProperties::Iterator::operator*() const {
  const uint16_t name_len = load_u16(p_);
  const char* value = p_ + 2 + name_len;
  return {std::string_view(p_ + 2, name_len), std::string_view(value + 2, load_u16(value))};
}

UserProperties::Iterator& UserProperties::Iterator::operator++() {
  const char* value = p_ + 2 + load_u16(p_);
  p_ = value + 2 + load_u16(value);
  return *this;
}

bool UserProperties::add(std::string_view name, std::string_view value) {
  if (name.size() > kMaxFieldLength || value.size() > kMaxFieldLength) return false;
  store_string(blob_, name);
  store_string(blob_, value);
  ++count_;
  return true;
}

std::vector<std::string_view> UserProperties::values(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const UserProperty up : *this) {
    if (up.name == name) out.push_back(up.value);
  }
  return out;
}

// ---- decoding ----

bool read_properties(wire::Reader& r, PropertyScope scope, Properties& out) {
  uint32_t length = 0;
  if (!r.vbi(length, "property length")) return false;
  const uint8_t* saved = nullptr;
  if (!r.enter(length, saved, "property block")) return false;
  uint64_t seen = 0;
  while (!r.at_end()) {
    uint32_t raw_id = 0;
    if (!r.vbi(raw_id, "property identifier")) return false;
    const std::string_view name = property_name(raw_id);
    if (name.empty()) {
      return r.fail(ReasonCode::kMalformedPacket,
                    "unknown property identifier " + hex_byte(raw_id));
    }
    const auto id = static_cast<PropertyId>(raw_id);
    if (!property_allowed(id, scope)) {
      return r.fail(ReasonCode::kMalformedPacket,
                    named(id, " property is not allowed in ") + std::string(scope_name(scope)));
    }
    const bool repeatable =
        id == PropertyId::kUserProperty ||
        (id == PropertyId::kSubscriptionIdentifier && scope == PropertyScope::kPublish);
    const uint64_t mask = uint64_t{1} << raw_id;
    if ((seen & mask) != 0 && !repeatable) {
      return r.fail(ReasonCode::kProtocolError, named(id, " property included more than once"));
    }
    seen |= mask;

    auto flag = [&](std::optional<uint8_t>& field) {
      uint8_t v = 0;
      if (!r.u8(v, name)) return false;
      if (v > 1) {
        return r.fail(ReasonCode::kProtocolError,
                      named(id, " must be 0 or 1, got ") + std::to_string(v));
      }
      field = v;
      return true;
    };
    auto u16 = [&](std::optional<uint16_t>& field, bool nonzero) {
      uint16_t v = 0;
      if (!r.u16(v, name)) return false;
      if (nonzero && v == 0) {
        return r.fail(id == PropertyId::kTopicAlias ? ReasonCode::kTopicAliasInvalid
                                                    : ReasonCode::kProtocolError,
                      named(id, " must not be 0"));
      }
      field = v;
      return true;
    };
    auto u32 = [&](std::optional<uint32_t>& field, bool nonzero) {
      uint32_t v = 0;
      if (!r.u32(v, name)) return false;
      if (nonzero && v == 0) return r.fail(ReasonCode::kProtocolError, named(id, " must not be 0"));
      field = v;
      return true;
    };
    auto str = [&](std::optional<std::string>& field) {
      std::string_view v;
      if (!r.string_view(v, name)) return false;
      field.emplace(v);
      return true;
    };
    auto bin = [&](std::optional<util::Bytes>& field) {
      util::ByteSpan v;
      if (!r.binary(v, name)) return false;
      field.emplace(v.begin(), v.end());
      return true;
    };

    bool ok = false;
    switch (id) {
      case PropertyId::kPayloadFormatIndicator:
        ok = flag(out.payload_format_indicator);
        break;
      case PropertyId::kMessageExpiryInterval:
        ok = u32(out.message_expiry_interval, false);
        break;
      case PropertyId::kContentType:
        ok = str(out.content_type);
        break;
      case PropertyId::kResponseTopic:
        ok = str(out.response_topic);
        if (ok && !is_topic_name(*out.response_topic)) {
          ok = r.fail(ReasonCode::kProtocolError,
                      "Response Topic must be a non-empty topic name without wildcards");
        }
        break;
      case PropertyId::kCorrelationData:
        ok = bin(out.correlation_data);
        break;
      case PropertyId::kSubscriptionIdentifier: {
        uint32_t v = 0;
        ok = r.vbi(v, name);
        if (ok && v == 0) ok = r.fail(ReasonCode::kProtocolError, named(id, " must not be 0"));
        if (ok) out.subscription_identifiers.push_back(v);
        break;
      }
      case PropertyId::kSessionExpiryInterval:
        ok = u32(out.session_expiry_interval, false);
        break;
      case PropertyId::kAssignedClientIdentifier:
        ok = str(out.assigned_client_identifier);
        break;
      case PropertyId::kServerKeepAlive:
        ok = u16(out.server_keep_alive, false);
        break;
      case PropertyId::kAuthenticationMethod:
        ok = str(out.authentication_method);
        break;
      case PropertyId::kAuthenticationData:
        ok = bin(out.authentication_data);
        break;
      case PropertyId::kRequestProblemInformation:
        ok = flag(out.request_problem_information);
        break;
      case PropertyId::kWillDelayInterval:
        ok = u32(out.will_delay_interval, false);
        break;
      case PropertyId::kRequestResponseInformation:
        ok = flag(out.request_response_information);
        break;
      case PropertyId::kResponseInformation:
        ok = str(out.response_information);
        break;
      case PropertyId::kServerReference:
        ok = str(out.server_reference);
        break;
      case PropertyId::kReasonString:
        ok = str(out.reason_string);
        break;
      case PropertyId::kReceiveMaximum:
        ok = u16(out.receive_maximum, true);
        break;
      case PropertyId::kTopicAliasMaximum:
        ok = u16(out.topic_alias_maximum, false);
        break;
      case PropertyId::kTopicAlias:
        ok = u16(out.topic_alias, true);
        break;
      case PropertyId::kMaximumQos:
        ok = flag(out.maximum_qos);
        break;
      case PropertyId::kRetainAvailable:
        ok = flag(out.retain_available);
        break;
      case PropertyId::kUserProperty: {
        std::string_view key;
        std::string_view value;
        ok =
            r.string_view(key, "User Property name") && r.string_view(value, "User Property value");
        if (ok) (void)out.user_properties.add(key, value);  // lengths came from u16 prefixes
        break;
      }
      case PropertyId::kMaximumPacketSize:
        ok = u32(out.maximum_packet_size, true);
        break;
      case PropertyId::kWildcardSubscriptionAvailable:
        ok = flag(out.wildcard_subscription_available);
        break;
      case PropertyId::kSubscriptionIdentifierAvailable:
        ok = flag(out.subscription_identifier_available);
        break;
      case PropertyId::kSharedSubscriptionAvailable:
        ok = flag(out.shared_subscription_available);
        break;
    }
    if (!ok) return false;
  }
  r.leave(saved);
  if (out.authentication_data && !out.authentication_method) {
    return r.fail(ReasonCode::kProtocolError,
                  "Authentication Data without an Authentication Method");
  }
  return true;
}

// ---- encoding ----

namespace {

// Calls the visitor for each present property in ascending identifier order; with overrides, the
// three per-hop PUBLISH properties come from them instead of `p`.
template <class V>
void visit(const Properties& p, const PublishPropertyOverrides* o, V& v) {
  using Id = PropertyId;
  if (p.payload_format_indicator) v.byte(Id::kPayloadFormatIndicator, *p.payload_format_indicator);
  const auto& expiry = o ? o->message_expiry_interval : p.message_expiry_interval;
  if (expiry) v.u32(Id::kMessageExpiryInterval, *expiry);
  if (p.content_type) v.str(Id::kContentType, *p.content_type);
  if (p.response_topic) v.str(Id::kResponseTopic, *p.response_topic);
  if (p.correlation_data) v.bin(Id::kCorrelationData, *p.correlation_data);
  const std::span<const uint32_t> ids =
      o ? o->subscription_identifiers : std::span<const uint32_t>(p.subscription_identifiers);
  v.sub_ids(ids);
  if (p.session_expiry_interval) v.u32(Id::kSessionExpiryInterval, *p.session_expiry_interval);
  if (p.assigned_client_identifier) {
    v.str(Id::kAssignedClientIdentifier, *p.assigned_client_identifier);
  }
  if (p.server_keep_alive) v.u16(Id::kServerKeepAlive, *p.server_keep_alive);
  if (p.authentication_method) v.str(Id::kAuthenticationMethod, *p.authentication_method);
  if (p.authentication_data) v.bin(Id::kAuthenticationData, *p.authentication_data);
  if (p.request_problem_information) {
    v.byte(Id::kRequestProblemInformation, *p.request_problem_information);
  }
  if (p.will_delay_interval) v.u32(Id::kWillDelayInterval, *p.will_delay_interval);
  if (p.request_response_information) {
    v.byte(Id::kRequestResponseInformation, *p.request_response_information);
  }
  if (p.response_information) v.str(Id::kResponseInformation, *p.response_information);
  if (p.server_reference) v.str(Id::kServerReference, *p.server_reference);
  if (p.reason_string) v.str(Id::kReasonString, *p.reason_string);
  if (p.receive_maximum) v.u16(Id::kReceiveMaximum, *p.receive_maximum);
  if (p.topic_alias_maximum) v.u16(Id::kTopicAliasMaximum, *p.topic_alias_maximum);
  const auto& alias = o ? o->topic_alias : p.topic_alias;
  if (alias) v.u16(Id::kTopicAlias, *alias);
  if (p.maximum_qos) v.byte(Id::kMaximumQos, *p.maximum_qos);
  if (p.retain_available) v.byte(Id::kRetainAvailable, *p.retain_available);
  v.users(p.user_properties);
  if (p.maximum_packet_size) v.u32(Id::kMaximumPacketSize, *p.maximum_packet_size);
  if (p.wildcard_subscription_available) {
    v.byte(Id::kWildcardSubscriptionAvailable, *p.wildcard_subscription_available);
  }
  if (p.subscription_identifier_available) {
    v.byte(Id::kSubscriptionIdentifierAvailable, *p.subscription_identifier_available);
  }
  if (p.shared_subscription_available) {
    v.byte(Id::kSharedSubscriptionAvailable, *p.shared_subscription_available);
  }
}

class Sizer {
 public:
  explicit Sizer(PropertyScope scope) : scope_(scope) {}

  void byte(PropertyId id, uint8_t v) {
    if (allowed(id)) size += 2;
    if (v > 1) fail(id, " must be 0 or 1");
  }
  void u16(PropertyId id, uint16_t v) {
    if (allowed(id)) size += 3;
    if (v == 0 && (id == PropertyId::kReceiveMaximum || id == PropertyId::kTopicAlias)) {
      fail(id, " must not be 0");
    }
  }
  void u32(PropertyId id, uint32_t v) {
    if (allowed(id)) size += 5;
    if (v == 0 && id == PropertyId::kMaximumPacketSize) fail(id, " must not be 0");
  }
  void str(PropertyId id, const std::string& v) {
    if (allowed(id)) size += 3 + v.size();
    if (v.size() > kMaxFieldLength) fail(id, " is longer than 65535 bytes");
    if (id == PropertyId::kResponseTopic && !is_topic_name(v)) {
      fail(id, " must be a non-empty topic name without wildcards");
    }
  }
  void bin(PropertyId id, const util::Bytes& v) {
    if (allowed(id)) size += 3 + v.size();
    if (v.size() > kMaxFieldLength) fail(id, " is longer than 65535 bytes");
  }
  void sub_ids(std::span<const uint32_t> ids) {
    if (ids.empty()) return;
    const auto id = PropertyId::kSubscriptionIdentifier;
    if (!allowed(id)) return;
    if (ids.size() > 1 && scope_ != PropertyScope::kPublish) fail(id, " may appear only once");
    for (const uint32_t v : ids) {
      if (v == 0 || v > kMaxVarByteInt) fail(id, " must be in 1..268435455");
      size += 1 + vbi_size(v);
    }
  }
  void users(const UserProperties& u) {
    if (!u.empty() && allowed(PropertyId::kUserProperty)) size += u.wire_size();
  }

  std::string error;
  size_t size = 0;

 private:
  bool allowed(PropertyId id) {
    if (property_allowed(id, scope_)) return true;
    fail(id, " property is not allowed in " + std::string(scope_name(scope_)));
    return false;
  }
  void fail(PropertyId id, const std::string& what) {
    if (error.empty()) error = named(id, what);
  }
  PropertyScope scope_;
};

class PropertyWriter {
 public:
  explicit PropertyWriter(wire::Writer& w) : w_(w) {}
  void byte(PropertyId id, uint8_t v) {
    w_.u8(static_cast<uint8_t>(id));
    w_.u8(v);
  }
  void u16(PropertyId id, uint16_t v) {
    w_.u8(static_cast<uint8_t>(id));
    w_.u16(v);
  }
  void u32(PropertyId id, uint32_t v) {
    w_.u8(static_cast<uint8_t>(id));
    w_.u32(v);
  }
  void str(PropertyId id, const std::string& v) {
    w_.u8(static_cast<uint8_t>(id));
    w_.string(v);
  }
  void bin(PropertyId id, const util::Bytes& v) {
    w_.u8(static_cast<uint8_t>(id));
    w_.binary(v);
  }
  void sub_ids(std::span<const uint32_t> ids) {
    for (const uint32_t v : ids) {
      w_.u8(static_cast<uint8_t>(PropertyId::kSubscriptionIdentifier));
      w_.vbi(v);
    }
  }
  void users(const UserProperties& u) {
    for (const UserProperty up : u) {
      w_.u8(static_cast<uint8_t>(PropertyId::kUserProperty));
      w_.string(up.name);
      w_.string(up.value);
    }
  }

 private:
  wire::Writer& w_;
};

const Properties& empty_properties() {
  static const Properties kEmpty;
  return kEmpty;
}

}  // namespace

util::Result<size_t> properties_size(const Properties* base, PropertyScope scope,
                                     const PublishPropertyOverrides* overrides) {
  const Properties& p = base ? *base : empty_properties();
  Sizer sizer(scope);
  visit(p, overrides, sizer);
  if (p.authentication_data && !p.authentication_method) {
    sizer.error = "Authentication Data without an Authentication Method";
  }
  if (!sizer.error.empty()) {
    return util::invalid_argument(std::string(scope_name(scope)) + ": " + sizer.error);
  }
  if (sizer.size > kMaxVarByteInt) {
    return util::invalid_argument(std::string(scope_name(scope)) + ": properties too large");
  }
  return sizer.size;
}

void write_properties(wire::Writer& w, const Properties* base, size_t content_size,
                      const PublishPropertyOverrides* overrides) {
  w.vbi(static_cast<uint32_t>(content_size));
  if (content_size == 0) return;
  PropertyWriter writer(w);
  visit(base ? *base : empty_properties(), overrides, writer);
}

void write_connack_properties(wire::Writer& w, const Properties& p, size_t content_size) {
  using Id = PropertyId;
  w.vbi(static_cast<uint32_t>(content_size));
  if (content_size == 0) return;
  PropertyWriter writer(w);
  if (p.topic_alias_maximum) writer.u16(Id::kTopicAliasMaximum, *p.topic_alias_maximum);
  if (p.server_keep_alive) writer.u16(Id::kServerKeepAlive, *p.server_keep_alive);
  if (p.assigned_client_identifier) {
    writer.str(Id::kAssignedClientIdentifier, *p.assigned_client_identifier);
  }
  if (p.authentication_method) writer.str(Id::kAuthenticationMethod, *p.authentication_method);
  if (p.authentication_data) writer.bin(Id::kAuthenticationData, *p.authentication_data);
  if (p.retain_available) writer.byte(Id::kRetainAvailable, *p.retain_available);
  if (p.maximum_packet_size) writer.u32(Id::kMaximumPacketSize, *p.maximum_packet_size);
  if (p.receive_maximum) writer.u16(Id::kReceiveMaximum, *p.receive_maximum);
  if (p.maximum_qos) writer.byte(Id::kMaximumQos, *p.maximum_qos);
  Properties rest = p;
  rest.topic_alias_maximum.reset();
  rest.server_keep_alive.reset();
  rest.assigned_client_identifier.reset();
  rest.authentication_method.reset();
  rest.authentication_data.reset();
  rest.retain_available.reset();
  rest.maximum_packet_size.reset();
  rest.receive_maximum.reset();
  rest.maximum_qos.reset();
  visit(rest, nullptr, writer);
}

}  // namespace imet::mqtt
