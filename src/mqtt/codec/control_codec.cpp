// DISCONNECT and AUTH (MQTT 5.0 §3.14-3.15; 3.1.1 DISCONNECT is just the fixed header).
// PINGREQ and PINGRESP have no variable part and are handled by the dispatch in codec.cpp.
// Decoding rules and their reason codes:
//   DISCONNECT 3.1.1: any byte after the fixed header                               0x81
//              5.0: reason code not allowed in DISCONNECT                            0x82
//              5.0: Session Expiry Interval sent by a server (MQTT-3.14.2-2)         0x82
//   AUTH       3.1.1: packet type 15 is reserved (codec.cpp)                         0x81
//              reason code other than 0x00/0x18/0x19                                0x82
//              no Authentication Method, unless the packet is the short form with
//              reason Success (§3.15.2.2.2)                                          0x82
// Short forms (5.0): DISCONNECT may end after the fixed header (Normal disconnection) or after
// the reason code; AUTH may end after the fixed header (Success, no properties) or, accepted
// here, after a Success reason code.
#include <string>

#include "mqtt/codec/codec_internal.h"

namespace imet::mqtt::detail {

namespace {

bool read_reason(wire::Reader& r, ReasonCode& reason) {
  uint8_t code = 0;
  if (!r.u8(code, "reason code")) return false;
  reason = static_cast<ReasonCode>(code);
  if (reason_code_allowed(r.packet(), reason)) return true;
  return r.fail(ReasonCode::kProtocolError, "reason code " + std::to_string(code) +
                                                " is not allowed in " +
                                                std::string(packet_type_name(r.packet())));
}

}  // namespace

bool decode_disconnect(wire::Reader& r, const DecodeContext& ctx, Disconnect& d) {
  if (!ctx.v5() || r.at_end()) return true;
  if (!read_reason(r, d.reason_code)) return false;
  if (r.at_end()) return true;
  if (!read_properties(r, PropertyScope::kDisconnect, d.properties)) return false;
  if (ctx.sender == Sender::kServer && d.properties.session_expiry_interval) {
    return r.fail(ReasonCode::kProtocolError,
                  "a server must not send a Session Expiry Interval in DISCONNECT");
  }
  return true;
}

bool decode_auth(wire::Reader& r, const DecodeContext& /*ctx*/, Auth& a) {
  if (r.at_end()) return true;
  if (!read_reason(r, a.reason_code)) return false;
  if (!r.at_end() && !read_properties(r, PropertyScope::kAuth, a.properties)) return false;
  if (!a.properties.authentication_method &&
      (a.reason_code != ReasonCode::kSuccess || !a.properties.empty())) {
    return r.fail(ReasonCode::kProtocolError, "Authentication Method is missing");
  }
  return true;
}

util::Result<size_t> encode_disconnect(const Disconnect& d, Version v, util::Bytes* out) {
  constexpr auto kType = PacketType::kDisconnect;
  size_t rl = 0;
  size_t props = 0;
  if (v == Version::kV5) {
    if (!reason_code_allowed(kType, d.reason_code)) {
      return encode_error(kType, "reason code " + std::to_string(static_cast<int>(d.reason_code)) +
                                     " is not allowed");
    }
    IMET_ASSIGN_OR_RETURN(props, properties_size(&d.properties, PropertyScope::kDisconnect));
    if (props > 0) {
      rl = 1 + vbi_size(static_cast<uint32_t>(props)) + props;
    } else if (d.reason_code != ReasonCode::kNormalDisconnection) {
      rl = 1;
    }
  }
  IMET_ASSIGN_OR_RETURN(const size_t total, checked_size(kType, rl));
  if (out == nullptr) return total;
  wire::Writer w = start_packet(*out, first_byte(kType), rl);
  if (rl >= 1) w.u8(static_cast<uint8_t>(d.reason_code));
  if (rl >= 2) write_properties(w, &d.properties, props);
  return total;
}

util::Result<size_t> encode_auth(const Auth& a, Version v, util::Bytes* out) {
  constexpr auto kType = PacketType::kAuth;
  if (v != Version::kV5) return encode_error(kType, "AUTH exists only in MQTT 5.0");
  if (!reason_code_allowed(kType, a.reason_code)) {
    return encode_error(kType, "reason code " + std::to_string(static_cast<int>(a.reason_code)) +
                                   " is not allowed");
  }
  size_t rl = 0;
  size_t props = 0;
  IMET_ASSIGN_OR_RETURN(props, properties_size(&a.properties, PropertyScope::kAuth));
  if (props > 0 || a.reason_code != ReasonCode::kSuccess) {
    if (!a.properties.authentication_method) {
      return encode_error(kType, "Authentication Method is required");
    }
    rl = 1 + vbi_size(static_cast<uint32_t>(props)) + props;
  }
  IMET_ASSIGN_OR_RETURN(const size_t total, checked_size(kType, rl));
  if (out == nullptr) return total;
  wire::Writer w = start_packet(*out, first_byte(kType), rl);
  if (rl > 0) {
    w.u8(static_cast<uint8_t>(a.reason_code));
    write_properties(w, &a.properties, props);
  }
  return total;
}

}  // namespace imet::mqtt::detail
