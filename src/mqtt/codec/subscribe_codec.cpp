// SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK (MQTT 3.1.1 §3.8-3.11, MQTT 5.0 §3.8-3.11).
// Decoding rules and their reason codes:
//   all      packet identifier 0                                                    0x82
//   SUBSCRIBE no topic filter (MQTT-3.8.3-3)                                        0x82
//            3.1.1: requested QoS byte with reserved bits set or QoS 3 (3.8.3-4)     0x81
//            5.0: subscription options reserved bits 7..6 set (MQTT-3.8.3-5)         0x81
//            5.0: maximum QoS 3; Retain Handling 3; No Local on a shared
//                 subscription "$share/..." (MQTT-3.8.3-4)                           0x82
//            topic filter not MQTT UTF-8                                            0x81
//   SUBACK   no reason code; a code the version does not allow in SUBACK              0x82
//   UNSUBSCRIBE no topic filter (MQTT-3.10.3-2)                                     0x82
//   UNSUBACK 3.1.1: anything after the packet identifier                            0x81
//            5.0: no reason code; a code not allowed in UNSUBACK                      0x82
// Topic filter syntax (wildcard placement, empty filters, share names) is not checked here: the
// broker answers a bad filter with SUBACK/UNSUBACK 0x8F (3.1.1: 0x80) using mqtt/topic.
#include <string>

#include "mqtt/codec/codec_internal.h"

namespace imet::mqtt::detail {

namespace {

// Number of complete (u16 length, bytes, `trailer` bytes) entries at the start of `in`, so that
// lists are allocated once, exactly.
size_t count_entries(util::ByteSpan in, size_t trailer) {
  size_t n = 0;
  size_t pos = 0;
  while (in.size() - pos >= 2) {
    pos += 2 + ((size_t{in[pos]} << 8) | in[pos + 1]) + trailer;
    if (pos > in.size()) break;
    ++n;
  }
  return n;
}

bool read_packet_id(wire::Reader& r, uint16_t& id) {
  if (!r.u16(id, "packet identifier")) return false;
  return id != 0 || r.fail(ReasonCode::kProtocolError, "packet identifier 0 is invalid");
}

bool v311_suback_code(ReasonCode c) {
  return c == ReasonCode::kGrantedQos0 || c == ReasonCode::kGrantedQos1 ||
         c == ReasonCode::kGrantedQos2 || c == ReasonCode::kUnspecifiedError;
}

bool read_reason_codes(wire::Reader& r, const DecodeContext& ctx, std::vector<ReasonCode>& out) {
  out.reserve(r.remaining());
  while (!r.at_end()) {
    uint8_t code = 0;
    if (!r.u8(code, "reason code")) return false;
    const auto reason = static_cast<ReasonCode>(code);
    const bool ok = (ctx.v5() || r.packet() != PacketType::kSuback)
                        ? reason_code_allowed(r.packet(), reason)
                        : v311_suback_code(reason);
    if (!ok) {
      return r.fail(ReasonCode::kProtocolError, "reason code " + std::to_string(code) +
                                                    " is not allowed in " +
                                                    std::string(packet_type_name(r.packet())));
    }
    out.push_back(reason);
  }
  if (out.empty()) return r.fail(ReasonCode::kProtocolError, "no reason codes");
  return true;
}

bool is_shared(std::string_view filter) {
  return filter.starts_with("$share/");
}

}  // namespace

bool decode_subscribe(wire::Reader& r, const DecodeContext& ctx, Subscribe& s) {
  if (!read_packet_id(r, s.packet_id)) return false;
  if (ctx.v5() && !read_properties(r, PropertyScope::kSubscribe, s.properties)) return false;
  s.subscriptions.reserve(count_entries(util::ByteSpan(r.position(), r.remaining()), 1));
  while (!r.at_end()) {
    Subscription& sub = s.subscriptions.emplace_back();
    uint8_t options = 0;
    if (!r.string(sub.topic_filter, "topic filter") || !r.u8(options, "subscription options")) {
      return false;
    }
    sub.options.qos = options & 0x03;
    if (!ctx.v5()) {
      if (options & 0xFC) {
        return r.fail(ReasonCode::kMalformedPacket,
                      "reserved bits (7..2) of the requested QoS byte are set");
      }
      if (sub.options.qos == 3) return r.fail(ReasonCode::kMalformedPacket, "requested QoS 3");
      continue;
    }
    if (options & 0xC0) {
      return r.fail(ReasonCode::kMalformedPacket,
                    "reserved subscription option bits (7..6) are set");
    }
    if (sub.options.qos == 3) return r.fail(ReasonCode::kProtocolError, "maximum QoS 3");
    const auto retain_handling = static_cast<uint8_t>((options >> 4) & 0x03);
    if (retain_handling == 3) return r.fail(ReasonCode::kProtocolError, "Retain Handling 3");
    sub.options.retain_handling = static_cast<RetainHandling>(retain_handling);
    sub.options.no_local = options & 0x04;
    sub.options.retain_as_published = options & 0x08;
    if (sub.options.no_local && is_shared(sub.topic_filter)) {
      return r.fail(ReasonCode::kProtocolError, "No Local is set on a shared subscription");
    }
  }
  if (s.subscriptions.empty()) {
    return r.fail(ReasonCode::kProtocolError, "no topic filters (at least one is required)");
  }
  return true;
}

bool decode_suback(wire::Reader& r, const DecodeContext& ctx, Suback& s) {
  if (!read_packet_id(r, s.packet_id)) return false;
  if (ctx.v5() && !read_properties(r, PropertyScope::kSuback, s.properties)) return false;
  return read_reason_codes(r, ctx, s.reason_codes);
}

bool decode_unsubscribe(wire::Reader& r, const DecodeContext& ctx, Unsubscribe& u) {
  if (!read_packet_id(r, u.packet_id)) return false;
  if (ctx.v5() && !read_properties(r, PropertyScope::kUnsubscribe, u.properties)) return false;
  u.topic_filters.reserve(count_entries(util::ByteSpan(r.position(), r.remaining()), 0));
  while (!r.at_end()) {
    if (!r.string(u.topic_filters.emplace_back(), "topic filter")) return false;
  }
  if (u.topic_filters.empty()) {
    return r.fail(ReasonCode::kProtocolError, "no topic filters (at least one is required)");
  }
  return true;
}

bool decode_unsuback(wire::Reader& r, const DecodeContext& ctx, Unsuback& u) {
  if (!read_packet_id(r, u.packet_id)) return false;
  if (!ctx.v5()) return true;
  if (!read_properties(r, PropertyScope::kUnsuback, u.properties)) return false;
  return read_reason_codes(r, ctx, u.reason_codes);
}

// ---- encoding ----

namespace {

util::Result<size_t> properties_block(const Properties& p, PropertyScope scope, Version v,
                                      size_t& content) {
  content = 0;
  if (v != Version::kV5) return size_t{0};
  IMET_ASSIGN_OR_RETURN(content, properties_size(&p, scope));
  return vbi_size(static_cast<uint32_t>(content)) + content;
}

util::Result<size_t> encode_reason_list(PacketType type, uint16_t packet_id,
                                        const Properties& props,
                                        const std::vector<ReasonCode>& codes, Version v,
                                        util::Bytes* out) {
  if (packet_id == 0) return encode_error(type, "packet identifier must not be 0");
  const bool has_payload = v == Version::kV5 || type == PacketType::kSuback;
  if (has_payload && codes.empty()) return encode_error(type, "no reason codes");
  for (const ReasonCode c : codes) {
    if (!reason_code_allowed(type, c)) {
      return encode_error(type,
                          "reason code " + std::to_string(static_cast<int>(c)) + " is not allowed");
    }
  }
  size_t content = 0;
  IMET_ASSIGN_OR_RETURN(const size_t block, properties_block(props, scope_of(type), v, content));
  const size_t rl = 2 + block + (has_payload ? codes.size() : 0);
  IMET_ASSIGN_OR_RETURN(const size_t total, checked_size(type, rl));
  if (out == nullptr) return total;
  wire::Writer w = start_packet(*out, first_byte(type), rl);
  w.u16(packet_id);
  if (v == Version::kV5) write_properties(w, &props, content);
  if (!has_payload) return total;
  for (const ReasonCode c : codes) {
    const auto byte = static_cast<uint8_t>(c);
    w.u8(v == Version::kV5 || byte < 0x80 ? byte : 0x80);
  }
  return total;
}

}  // namespace

util::Result<size_t> encode_subscribe(const Subscribe& s, Version v, util::Bytes* out) {
  constexpr auto kType = PacketType::kSubscribe;
  if (s.packet_id == 0) return encode_error(kType, "packet identifier must not be 0");
  if (s.subscriptions.empty()) return encode_error(kType, "no topic filters");
  size_t content = 0;
  IMET_ASSIGN_OR_RETURN(size_t rl, properties_block(s.properties, scope_of(kType), v, content));
  rl += 2;
  for (const Subscription& sub : s.subscriptions) {
    const SubscriptionOptions& o = sub.options;
    if (sub.topic_filter.size() > kMaxFieldLength) {
      return encode_error(kType, "topic filter is longer than 65535 bytes");
    }
    if (o.qos > 2) return encode_error(kType, "QoS must be 0, 1 or 2");
    if (static_cast<uint8_t>(o.retain_handling) > 2) {
      return encode_error(kType, "Retain Handling must be 0, 1 or 2");
    }
    if (v == Version::kV5 && o.no_local && is_shared(sub.topic_filter)) {
      return encode_error(kType, "No Local must not be set on a shared subscription");
    }
    rl += 3 + sub.topic_filter.size();
  }
  IMET_ASSIGN_OR_RETURN(const size_t total, checked_size(kType, rl));
  if (out == nullptr) return total;
  wire::Writer w = start_packet(*out, first_byte(kType, 0x02), rl);
  w.u16(s.packet_id);
  if (v == Version::kV5) write_properties(w, &s.properties, content);
  for (const Subscription& sub : s.subscriptions) {
    const SubscriptionOptions& o = sub.options;
    w.string(sub.topic_filter);
    uint8_t byte = o.qos;
    if (v == Version::kV5) {
      byte |= static_cast<uint8_t>((o.no_local ? 0x04 : 0) | (o.retain_as_published ? 0x08 : 0) |
                                   (static_cast<uint8_t>(o.retain_handling) << 4));
    }
    w.u8(byte);
  }
  return total;
}

util::Result<size_t> encode_suback(const Suback& s, Version v, util::Bytes* out) {
  return encode_reason_list(PacketType::kSuback, s.packet_id, s.properties, s.reason_codes, v, out);
}

util::Result<size_t> encode_unsubscribe(const Unsubscribe& u, Version v, util::Bytes* out) {
  constexpr auto kType = PacketType::kUnsubscribe;
  if (u.packet_id == 0) return encode_error(kType, "packet identifier must not be 0");
  if (u.topic_filters.empty()) return encode_error(kType, "no topic filters");
  size_t content = 0;
  IMET_ASSIGN_OR_RETURN(size_t rl, properties_block(u.properties, scope_of(kType), v, content));
  rl += 2;
  for (const std::string& filter : u.topic_filters) {
    if (filter.size() > kMaxFieldLength) {
      return encode_error(kType, "topic filter is longer than 65535 bytes");
    }
    rl += 2 + filter.size();
  }
  IMET_ASSIGN_OR_RETURN(const size_t total, checked_size(kType, rl));
  if (out == nullptr) return total;
  wire::Writer w = start_packet(*out, first_byte(kType, 0x02), rl);
  w.u16(u.packet_id);
  if (v == Version::kV5) write_properties(w, &u.properties, content);
  for (const std::string& filter : u.topic_filters)
    w.string(filter);
  return total;
}

util::Result<size_t> encode_unsuback(const Unsuback& u, Version v, util::Bytes* out) {
  return encode_reason_list(PacketType::kUnsuback, u.packet_id, u.properties, u.reason_codes, v,
                            out);
}

}  // namespace imet::mqtt::detail
