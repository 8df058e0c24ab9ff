// PUBLISH and its acknowledgements PUBACK, PUBREC, PUBREL, PUBCOMP (MQTT 3.1.1 §3.3-3.7,
// MQTT 5.0 §3.3-3.7), and the header-only PUBLISH encoding used for fan-out.
// Decoding rules and their reason codes:
//   PUBLISH  QoS 3 (MQTT-3.3.1-4); DUP set with QoS 0 (MQTT-3.3.1-2)              0x81
//            topic name with '+' or '#' (MQTT-3.3.2-2)                            0x90
//            packet identifier 0 with QoS > 0 (MQTT-2.2.1-3)                      0x82
//            empty topic name: in 3.1.1 (MQTT-4.7.3-1); in 5.0 without a Topic Alias 0x82
//            Subscription Identifier sent by a client (MQTT-3.3.4-6)              0x82
//            payload not UTF-8 while Payload Format Indicator is 1                 0x99
//   PUBACK.. packet identifier 0                                                  0x82
//            5.0 reason code not allowed for the packet type                      0x82
//            3.1.1: anything after the packet identifier                          0x81
// In 5.0 the acknowledgements may stop after the packet identifier (Success, no properties) or
// after the reason code (no properties), §3.4.2.1.
#include <string>

#include "mqtt/codec/codec_internal.h"

namespace imet::mqtt {

namespace {

struct PublishLayout {
  size_t properties = 0;  // property block content size (5.0)
  size_t remaining_length = 0;
  PublishPropertyOverrides overrides;
};

util::Result<PublishLayout> publish_layout(const PublishHeader& h, size_t payload_size, Version v) {
  constexpr auto kType = PacketType::kPublish;
  using detail::encode_error;
  if (h.qos > 2) return encode_error(kType, "QoS must be 0, 1 or 2");
  if (h.dup && h.qos == 0) return encode_error(kType, "DUP must be 0 for QoS 0");
  if (h.qos > 0 && h.packet_id == 0) {
    return encode_error(kType, "packet identifier must not be 0 for QoS > 0");
  }
  if (h.topic.size() > kMaxFieldLength) {
    return encode_error(kType, "topic name is longer than 65535 bytes");
  }
  if (has_wildcard(h.topic)) {
    return encode_error(kType, "topic name contains a wildcard");
  }
  if (h.topic.empty() && (v != Version::kV5 || !h.topic_alias)) {
    return encode_error(kType, "topic name is empty (allowed only in 5.0 with a Topic Alias)");
  }
  PublishLayout layout;
  layout.remaining_length = 2 + h.topic.size() + (h.qos > 0 ? 2 : 0) + payload_size;
  if (v == Version::kV5) {
    layout.overrides.message_expiry_interval = h.message_expiry_interval;
    layout.overrides.topic_alias = h.topic_alias;
    layout.overrides.subscription_identifiers = h.subscription_identifiers;
    IMET_ASSIGN_OR_RETURN(layout.properties, properties_size(h.properties, PropertyScope::kPublish,
                                                             &layout.overrides));
    layout.remaining_length +=
        vbi_size(static_cast<uint32_t>(layout.properties)) + layout.properties;
  }
  if (layout.remaining_length > kMaxRemainingLength) {
    return encode_error(kType, "packet is larger than the maximum packet size");
  }
  return layout;
}

}  // namespace

PublishHeader publish_header_of(const Publish& p) {
  PublishHeader h;
  h.topic = p.topic;
  h.qos = p.qos;
  h.retain = p.retain;
  h.dup = p.dup;
  h.packet_id = p.packet_id;
  h.properties = &p.properties;
  h.message_expiry_interval = p.properties.message_expiry_interval;
  h.topic_alias = p.properties.topic_alias;
  h.subscription_identifiers = p.properties.subscription_identifiers;
  return h;
}

util::Result<size_t> publish_size(const PublishHeader& header, size_t payload_size,
                                  Version version) {
  IMET_ASSIGN_OR_RETURN(const PublishLayout layout, publish_layout(header, payload_size, version));
  return detail::packet_size(layout.remaining_length);
}

util::Status encode_publish_header(const PublishHeader& h, size_t payload_size, Version version,
                                   util::Bytes& out) {
  IMET_ASSIGN_OR_RETURN(const PublishLayout layout, publish_layout(h, payload_size, version));
  const auto flags = static_cast<uint8_t>((h.dup ? 0x08 : 0) | (h.qos << 1) | (h.retain ? 1 : 0));
  const size_t header_size = detail::packet_size(layout.remaining_length) - payload_size;
  wire::Writer w(wire::extend(out, header_size));
  w.u8(detail::first_byte(PacketType::kPublish, flags));
  w.vbi(static_cast<uint32_t>(layout.remaining_length));
  w.string(h.topic);
  if (h.qos > 0) w.u16(h.packet_id);
  if (version == Version::kV5) {
    write_properties(w, h.properties, layout.properties, &layout.overrides);
  }
  return util::Status();
}

namespace detail {

bool decode_publish(wire::Reader& r, const DecodeContext& ctx, Publish& p) {
  p.qos = static_cast<uint8_t>((ctx.flags >> 1) & 0x03);
  p.retain = ctx.flags & 0x01;
  p.dup = ctx.flags & 0x08;
  if (p.qos == 3) return r.fail(ReasonCode::kMalformedPacket, "QoS 3 is invalid");
  if (p.dup && p.qos == 0) {
    return r.fail(ReasonCode::kMalformedPacket, "DUP flag is set on a QoS 0 message");
  }
  std::string_view topic;
  if (!r.string_view(topic, "topic name")) return false;
  if (has_wildcard(topic)) {
    return r.fail(ReasonCode::kTopicNameInvalid, "topic name contains a wildcard ('+' or '#')");
  }
  if (p.qos > 0) {
    if (!r.u16(p.packet_id, "packet identifier")) return false;
    if (p.packet_id == 0) {
      return r.fail(ReasonCode::kProtocolError, "packet identifier 0 is invalid for QoS > 0");
    }
  }
  if (ctx.v5()) {
    if (!read_properties(r, PropertyScope::kPublish, p.properties)) return false;
    if (ctx.sender == Sender::kClient && !p.properties.subscription_identifiers.empty()) {
      return r.fail(ReasonCode::kProtocolError,
                    "a client must not send a Subscription Identifier in PUBLISH");
    }
  }
  if (topic.empty()) {
    if (!ctx.v5()) return r.fail(ReasonCode::kProtocolError, "topic name is empty");
    if (!p.properties.topic_alias) {
      return r.fail(ReasonCode::kProtocolError, "topic name is empty and there is no Topic Alias");
    }
  }
  p.topic.assign(topic);
  const util::ByteSpan payload = r.rest();
  if (ctx.validate_payload_format && p.properties.payload_format_indicator == 1 &&
      !is_well_formed_utf8(payload)) {
    return r.fail(ReasonCode::kPayloadFormatInvalid,
                  "payload is not UTF-8 although its Payload Format Indicator is 1");
  }
  p.payload = ctx.payload(payload);
  return true;
}

bool decode_pub_response(wire::Reader& r, const DecodeContext& ctx, uint16_t& packet_id,
                         ReasonCode& reason, Properties& properties) {
  if (!r.u16(packet_id, "packet identifier")) return false;
  if (packet_id == 0) return r.fail(ReasonCode::kProtocolError, "packet identifier 0 is invalid");
  if (!ctx.v5() || r.at_end()) return true;
  uint8_t code = 0;
  if (!r.u8(code, "reason code")) return false;
  reason = static_cast<ReasonCode>(code);
  if (!reason_code_allowed(r.packet(), reason)) {
    return r.fail(ReasonCode::kProtocolError, "reason code " + std::to_string(code) +
                                                  " is not allowed in " +
                                                  std::string(packet_type_name(r.packet())));
  }
  return r.at_end() || read_properties(r, scope_of(r.packet()), properties);
}

util::Result<size_t> encode_publish(const Publish& p, Version v, util::Bytes* out) {
  const PublishHeader h = publish_header_of(p);
  if (out == nullptr) return publish_size(h, p.payload.size(), v);
  const size_t before = out->size();
  IMET_TRY(encode_publish_header(h, p.payload.size(), v, *out));
  util::append(*out, p.payload.span());
  return out->size() - before;
}

util::Result<size_t> encode_pub_response(PacketType type, uint16_t packet_id, ReasonCode reason,
                                         const Properties& properties, Version v,
                                         util::Bytes* out) {
  if (packet_id == 0) return encode_error(type, "packet identifier must not be 0");
  size_t rl = 2;
  size_t props = 0;
  const bool v5 = v == Version::kV5;
  if (v5) {
    if (!reason_code_allowed(type, reason)) {
      return encode_error(
          type, "reason code " + std::to_string(static_cast<int>(reason)) + " is not allowed");
    }
    IMET_ASSIGN_OR_RETURN(props, properties_size(&properties, scope_of(type)));
    if (props > 0) {
      rl = 3 + vbi_size(static_cast<uint32_t>(props)) + props;
    } else if (reason != ReasonCode::kSuccess) {
      rl = 3;
    }
  }
  IMET_ASSIGN_OR_RETURN(const size_t total, checked_size(type, rl));
  if (out == nullptr) return total;
  wire::Writer w = start_packet(*out, first_byte(type, type == PacketType::kPubrel ? 0x02 : 0), rl);
  w.u16(packet_id);
  if (rl >= 3) w.u8(static_cast<uint8_t>(reason));
  if (rl >= 4) write_properties(w, &properties, props);
  return total;
}

}  // namespace detail
}  // namespace imet::mqtt
