// CONNECT and CONNACK (MQTT 3.1.1 §3.1-3.2, MQTT 5.0 §3.1-3.2).
// Decoding rules and their reason codes:
//   CONNECT  protocol name "MQIsdp" (MQTT 3.1) or a level other than 4/5      0x84
//            protocol name other than "MQTT"                                   0x82
//            reserved flag bit 0 set; will QoS 3; will QoS/retain without will 0x81
//            3.1.1: password flag without user name flag (MQTT-3.1.2-22)      0x82
//            will topic empty or with wildcards                                0x90
//            will payload not UTF-8 while its Payload Format Indicator is 1   0x99
//            3.1.1: empty client identifier with Clean Session 0 (3.1.3-8)    0x85
//            strings not MQTT UTF-8, truncated fields, trailing bytes          0x81
//   CONNACK  reserved acknowledge flag bits set                                0x81
//            3.1.1 return code > 5; 5.0 reason code not allowed in CONNACK;
//            session present with a non-success code                          0x82
#include <string>

#include "mqtt/codec/codec_internal.h"

namespace imet::mqtt::detail {

namespace {

constexpr uint8_t kFlagReserved = 0x01;
constexpr uint8_t kFlagCleanStart = 0x02;
constexpr uint8_t kFlagWill = 0x04;
constexpr uint8_t kFlagWillRetain = 0x20;
constexpr uint8_t kFlagPassword = 0x40;
constexpr uint8_t kFlagUserName = 0x80;

}  // namespace

bool decode_connect(wire::Reader& r, const DecodeContext& ctx, Connect& c) {
  util::ByteSpan raw_name;
  uint8_t level = 0;
  if (!r.binary(raw_name, "protocol name") || !r.u8(level, "protocol level")) return false;
  const std::string_view name(reinterpret_cast<const char*>(raw_name.data()), raw_name.size());
  if (name == "MQIsdp") {
    return r.fail(ReasonCode::kUnsupportedProtocolVersion,
                  "MQTT 3.1 (protocol name \"MQIsdp\") is not supported; use MQTT 3.1.1 or 5.0");
  }
  if (name != "MQTT") {
    return r.fail(ReasonCode::kProtocolError, "protocol name is not \"MQTT\"");
  }
  if (level != 4 && level != 5) {
    return r.fail(ReasonCode::kUnsupportedProtocolVersion,
                  "protocol level " + std::to_string(level) +
                      " is not supported (4 = MQTT 3.1.1, 5 = MQTT 5.0)");
  }
  c.version = static_cast<Version>(level);
  const bool v5 = c.version == Version::kV5;

  uint8_t flags = 0;
  if (!r.u8(flags, "connect flags")) return false;
  if (flags & kFlagReserved) {
    return r.fail(ReasonCode::kMalformedPacket, "reserved connect flag (bit 0) is set");
  }
  const bool has_will = flags & kFlagWill;
  const auto will_qos = static_cast<uint8_t>((flags >> 3) & 0x03);
  const bool will_retain = flags & kFlagWillRetain;
  const bool has_password = flags & kFlagPassword;
  const bool has_user_name = flags & kFlagUserName;
  if (will_qos == 3) return r.fail(ReasonCode::kMalformedPacket, "will QoS 3 is invalid");
  if (!has_will && (will_qos != 0 || will_retain)) {
    return r.fail(ReasonCode::kMalformedPacket,
                  "will QoS and will retain must be 0 when the will flag is 0");
  }
  if (!v5 && has_password && !has_user_name) {
    return r.fail(ReasonCode::kProtocolError,
                  "password flag set without the user name flag (not allowed in MQTT 3.1.1)");
  }
  c.clean_start = flags & kFlagCleanStart;
  if (!r.u16(c.keep_alive, "keep alive")) return false;
  if (v5 && !read_properties(r, PropertyScope::kConnect, c.properties)) return false;

  if (!r.string(c.client_id, "client identifier")) return false;
  if (has_will) {
    Will& will = c.will.emplace();
    will.qos = will_qos;
    will.retain = will_retain;
    if (v5 && !read_properties(r, PropertyScope::kWill, will.properties)) return false;
    if (!r.string(will.topic, "will topic")) return false;
    if (!is_topic_name(will.topic)) {
      return r.fail(ReasonCode::kTopicNameInvalid,
                    "will topic must be a non-empty topic name without wildcards");
    }
    util::ByteSpan payload;
    if (!r.binary(payload, "will payload")) return false;
    if (ctx.validate_payload_format && will.properties.payload_format_indicator == 1 &&
        !is_well_formed_utf8(payload)) {
      return r.fail(ReasonCode::kPayloadFormatInvalid,
                    "will payload is not UTF-8 although its Payload Format Indicator is 1");
    }
    will.payload = ctx.payload(payload);
  }
  if (has_user_name && !r.string(c.username.emplace(), "user name")) return false;
  if (has_password) {
    util::ByteSpan password;
    if (!r.binary(password, "password")) return false;
    c.password.emplace(password.begin(), password.end());
  }
  if (!v5 && c.client_id.empty() && !c.clean_start) {
    return r.fail(ReasonCode::kClientIdentifierNotValid,
                  "an empty client identifier requires Clean Session 1 in MQTT 3.1.1");
  }
  return true;
}

bool decode_connack(wire::Reader& r, const DecodeContext& ctx, Connack& c) {
  uint8_t flags = 0;
  uint8_t code = 0;
  if (!r.u8(flags, "acknowledge flags") || !r.u8(code, "reason code")) return false;
  if (flags & 0xFE) {
    return r.fail(ReasonCode::kMalformedPacket, "reserved acknowledge flags (bits 7..1) are set");
  }
  c.session_present = flags & 0x01;
  if (!ctx.v5()) {
    if (code > 5) {
      return r.fail(ReasonCode::kProtocolError,
                    "return code " + std::to_string(code) + " is reserved");
    }
    c.reason_code = to_reason_code(static_cast<ConnectReturnCode>(code));
  } else {
    c.reason_code = static_cast<ReasonCode>(code);
    if (!reason_code_allowed(PacketType::kConnack, c.reason_code)) {
      return r.fail(ReasonCode::kProtocolError,
                    "reason code " + std::to_string(code) + " is not allowed in CONNACK");
    }
  }
  if (c.session_present && c.reason_code != ReasonCode::kSuccess) {
    return r.fail(ReasonCode::kProtocolError,
                  "session present must be 0 when the connection is refused");
  }
  return !ctx.v5() || read_properties(r, PropertyScope::kConnack, c.properties);
}

util::Result<size_t> encode_connect(const Connect& c, util::Bytes* out) {
  constexpr auto kType = PacketType::kConnect;
  const bool v5 = c.version == Version::kV5;
  if (c.version != Version::kV5 && c.version != Version::kV311) {
    return encode_error(kType, "unsupported protocol version");
  }
  if (c.client_id.size() > kMaxFieldLength) {
    return encode_error(kType, "client identifier is longer than 65535 bytes");
  }
  if (!v5 && c.client_id.empty() && !c.clean_start) {
    return encode_error(kType, "an empty client identifier requires Clean Session 1 in 3.1.1");
  }
  if (c.username && c.username->size() > kMaxFieldLength) {
    return encode_error(kType, "user name is longer than 65535 bytes");
  }
  if (c.password && c.password->size() > kMaxFieldLength) {
    return encode_error(kType, "password is longer than 65535 bytes");
  }
  if (!v5 && c.password && !c.username) {
    return encode_error(kType, "a password needs a user name in MQTT 3.1.1");
  }
  size_t props = 0;
  size_t will_props = 0;
  size_t rl = 2 + 4 + 1 + 1 + 2 + 2 + c.client_id.size();
  if (v5) {
    IMET_ASSIGN_OR_RETURN(props, properties_size(&c.properties, PropertyScope::kConnect));
    rl += vbi_size(static_cast<uint32_t>(props)) + props;
  }
  if (c.will) {
    const Will& w = *c.will;
    if (w.qos > 2) return encode_error(kType, "will QoS must be 0, 1 or 2");
    if (!is_topic_name(w.topic) || w.topic.size() > kMaxFieldLength) {
      return encode_error(kType, "will topic must be a topic name of 1..65535 bytes, no wildcards");
    }
    if (w.payload.size() > kMaxFieldLength) {
      return encode_error(kType, "will payload is longer than 65535 bytes");
    }
    if (v5) {
      IMET_ASSIGN_OR_RETURN(will_props, properties_size(&w.properties, PropertyScope::kWill));
      rl += vbi_size(static_cast<uint32_t>(will_props)) + will_props;
    }
    rl += 2 + w.topic.size() + 2 + w.payload.size();
  }
  if (c.username) rl += 2 + c.username->size();
  if (c.password) rl += 2 + c.password->size();
  IMET_ASSIGN_OR_RETURN(const size_t total, checked_size(kType, rl));
  if (out == nullptr) return total;

  uint8_t flags = c.clean_start ? kFlagCleanStart : 0;
  if (c.will) {
    flags |= kFlagWill | static_cast<uint8_t>(c.will->qos << 3);
    if (c.will->retain) flags |= kFlagWillRetain;
  }
  if (c.password) flags |= kFlagPassword;
  if (c.username) flags |= kFlagUserName;
  wire::Writer w = start_packet(*out, first_byte(kType), rl);
  w.string("MQTT");
  w.u8(static_cast<uint8_t>(c.version));
  w.u8(flags);
  w.u16(c.keep_alive);
  if (v5) write_properties(w, &c.properties, props);
  w.string(c.client_id);
  if (c.will) {
    if (v5) write_properties(w, &c.will->properties, will_props);
    w.string(c.will->topic);
    w.binary(c.will->payload.span());
  }
  if (c.username) w.string(*c.username);
  if (c.password) w.binary(*c.password);
  return total;
}

util::Result<size_t> encode_connack(const Connack& c, Version v, util::Bytes* out) {
  constexpr auto kType = PacketType::kConnack;
  if (c.session_present && c.reason_code != ReasonCode::kSuccess) {
    return encode_error(kType, "session present must be 0 when the connection is refused");
  }
  size_t props = 0;
  size_t rl = 2;
  uint8_t code = static_cast<uint8_t>(to_connect_return_code(c.reason_code));
  if (v == Version::kV5) {
    if (!reason_code_allowed(kType, c.reason_code)) {
      return encode_error(kType, "reason code " + std::to_string(static_cast<int>(c.reason_code)) +
                                     " is not allowed in CONNACK");
    }
    code = static_cast<uint8_t>(c.reason_code);
    IMET_ASSIGN_OR_RETURN(props, properties_size(&c.properties, PropertyScope::kConnack));
    rl += vbi_size(static_cast<uint32_t>(props)) + props;
  }
  IMET_ASSIGN_OR_RETURN(const size_t total, checked_size(kType, rl));
  if (out == nullptr) return total;
  wire::Writer w = start_packet(*out, first_byte(kType), rl);
  w.u8(c.session_present ? 1 : 0);
  w.u8(code);
  if (v == Version::kV5) write_connack_properties(w, c.properties, props);
  return total;
}

}  // namespace imet::mqtt::detail
