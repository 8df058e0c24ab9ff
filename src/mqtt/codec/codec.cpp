// Dispatch of decode_packet / encode_packet over the packet types, and the fixed header checks
// shared by every packet:
//   frame shorter or longer than its fixed header says; remaining length over 4 bytes      0x81
//   packet type 0; type 15 (AUTH) in 3.1.1                                                0x81
//   fixed header flags other than 0010 for PUBREL, SUBSCRIBE, UNSUBSCRIBE and 0000 for
//   every other type but PUBLISH (MQTT-2.2.2-2)                                          0x81
//   PINGREQ/PINGRESP with a remaining length other than 0                                 0x81
//   a packet of the other side (Sender): e.g. SUBACK from a client                        0x82
//   bytes left after the last field of the packet                                         0x81
#include <cstdio>
#include <optional>
#include <string>
#include <type_traits>

#include "mqtt/codec/codec_internal.h"

namespace imet::mqtt {

namespace detail {

util::Status encode_error(PacketType type, std::string_view what) {
  std::string message(packet_type_name(type));
  message += ": ";
  message += what;
  return util::invalid_argument(std::move(message));
}

util::Result<size_t> checked_size(PacketType type, size_t remaining_length) {
  if (remaining_length > kMaxRemainingLength) {
    return encode_error(type, "remaining length " + std::to_string(remaining_length) +
                                  " exceeds the maximum 268435455");
  }
  return packet_size(remaining_length);
}

}  // namespace detail

namespace {

using detail::DecodeContext;

DecodeError header_error(ReasonCode reason, PacketType type, std::string_view what) {
  std::string message(packet_type_name(type));
  message += ": ";
  message += what;
  return DecodeError{reason, std::move(message)};
}

uint8_t required_flags(PacketType type) {
  switch (type) {
    case PacketType::kPubrel:
    case PacketType::kSubscribe:
    case PacketType::kUnsubscribe:
      return 0x02;
    default:
      return 0x00;
  }
}

bool sent_by_client(PacketType t) {
  return t != PacketType::kConnack && t != PacketType::kSuback && t != PacketType::kUnsuback &&
         t != PacketType::kPingresp;
}
bool sent_by_server(PacketType t) {
  return t != PacketType::kConnect && t != PacketType::kSubscribe &&
         t != PacketType::kUnsubscribe && t != PacketType::kPingreq;
}

// Decodes into `out`, which holds a value on entry: the packet is built in place (no move of the
// large packet structs), and replaced by the error on failure.
template <class T, class F>
void run(wire::Reader& r, DecodeResult<Packet>& out, F&& decode) {
  T& packet = out.value().template emplace<T>();
  if (!decode(packet)) {
    out = r.take_error();
  } else if (!r.at_end()) {
    r.fail(ReasonCode::kMalformedPacket,
           std::to_string(r.remaining()) + " unexpected bytes after the end of the packet");
    out = r.take_error();
  }
}

template <class T>
void run_pub_response(wire::Reader& r, const DecodeContext& ctx, DecodeResult<Packet>& out) {
  run<T>(r, out, [&](T& p) {
    return detail::decode_pub_response(r, ctx, p.packet_id, p.reason_code, p.properties);
  });
}

// The fixed header checks; nullopt if the header is acceptable.
std::optional<DecodeError> check_header(util::ByteSpan frame, const DecodeOptions& options,
                                        size_t& header_size) {
  if (frame.empty()) return DecodeError{ReasonCode::kMalformedPacket, "empty packet"};
  const auto type = static_cast<PacketType>(frame[0] >> 4);
  const auto flags = static_cast<uint8_t>(frame[0] & 0x0F);
  const VbiParse length = parse_vbi(frame.subspan(1));
  if (length.status == VbiStatus::kIncomplete) {
    return header_error(ReasonCode::kMalformedPacket, type, "remaining length is truncated");
  }
  if (length.status == VbiStatus::kTooLong) {
    return header_error(ReasonCode::kMalformedPacket, type,
                        "remaining length is longer than 4 bytes");
  }
  header_size = 1 + size_t{length.size};
  const size_t available = frame.size() - header_size;
  if (available != length.value) {
    return header_error(ReasonCode::kMalformedPacket, type,
                        "remaining length is " + std::to_string(length.value) + " but " +
                            std::to_string(available) + " bytes follow the fixed header");
  }
  const bool v5 = options.version == Version::kV5;
  if (type == PacketType{0} || (type == PacketType::kAuth && !v5)) {
    return header_error(ReasonCode::kMalformedPacket, type,
                        "packet type " + std::to_string(frame[0] >> 4) + " is reserved in MQTT " +
                            std::string(version_name(options.version)));
  }
  if (type != PacketType::kPublish && flags != required_flags(type)) {
    char text[64];
    std::snprintf(text, sizeof text, "invalid fixed header flags 0x%X (must be 0x%X)", flags,
                  required_flags(type));
    return header_error(ReasonCode::kMalformedPacket, type, text);
  }
  if (options.sender == Sender::kClient && !sent_by_client(type)) {
    return header_error(ReasonCode::kProtocolError, type, "only a server sends this packet");
  }
  if (options.sender == Sender::kServer && !sent_by_server(type)) {
    return header_error(ReasonCode::kProtocolError, type, "only a client sends this packet");
  }
  return std::nullopt;
}

void decode_impl(util::ByteSpan frame, const SharedBytes* owner, const DecodeOptions& options,
                 DecodeResult<Packet>& out) {
  size_t header_size = 0;
  if (auto error = check_header(frame, options, header_size)) {
    out = std::move(*error);
    return;
  }
  const auto type = static_cast<PacketType>(frame[0] >> 4);
  wire::Reader r(frame.subspan(header_size), type);
  DecodeContext ctx;
  ctx.version = options.version;
  ctx.sender = options.sender;
  ctx.validate_payload_format = options.validate_payload_format;
  ctx.flags = static_cast<uint8_t>(frame[0] & 0x0F);
  ctx.owner = owner;
  ctx.frame_begin = frame.data();
  switch (type) {
    case PacketType::kConnect:
      return run<Connect>(r, out, [&](Connect& p) { return detail::decode_connect(r, ctx, p); });
    case PacketType::kConnack:
      return run<Connack>(r, out, [&](Connack& p) { return detail::decode_connack(r, ctx, p); });
    case PacketType::kPublish:
      return run<Publish>(r, out, [&](Publish& p) { return detail::decode_publish(r, ctx, p); });
    case PacketType::kPuback:
      return run_pub_response<Puback>(r, ctx, out);
    case PacketType::kPubrec:
      return run_pub_response<Pubrec>(r, ctx, out);
    case PacketType::kPubrel:
      return run_pub_response<Pubrel>(r, ctx, out);
    case PacketType::kPubcomp:
      return run_pub_response<Pubcomp>(r, ctx, out);
    case PacketType::kSubscribe:
      return run<Subscribe>(r, out,
                            [&](Subscribe& p) { return detail::decode_subscribe(r, ctx, p); });
    case PacketType::kSuback:
      return run<Suback>(r, out, [&](Suback& p) { return detail::decode_suback(r, ctx, p); });
    case PacketType::kUnsubscribe:
      return run<Unsubscribe>(
          r, out, [&](Unsubscribe& p) { return detail::decode_unsubscribe(r, ctx, p); });
    case PacketType::kUnsuback:
      return run<Unsuback>(r, out, [&](Unsuback& p) { return detail::decode_unsuback(r, ctx, p); });
    case PacketType::kPingreq:
      return run<Pingreq>(r, out, [](Pingreq&) { return true; });
    case PacketType::kPingresp:
      return run<Pingresp>(r, out, [](Pingresp&) { return true; });
    case PacketType::kDisconnect:
      return run<Disconnect>(r, out,
                             [&](Disconnect& p) { return detail::decode_disconnect(r, ctx, p); });
    case PacketType::kAuth:
      return run<Auth>(r, out, [&](Auth& p) { return detail::decode_auth(r, ctx, p); });
  }
  out = header_error(ReasonCode::kMalformedPacket, type, "unknown packet type");
}

util::Result<size_t> encode_any(const Packet& packet, Version v, util::Bytes* out) {
  return std::visit(
      [&](const auto& p) -> util::Result<size_t> {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, Connect>) {
          return detail::encode_connect(p, out);
        } else if constexpr (std::is_same_v<T, Connack>) {
          return detail::encode_connack(p, v, out);
        } else if constexpr (std::is_same_v<T, Publish>) {
          return detail::encode_publish(p, v, out);
        } else if constexpr (std::is_same_v<T, Puback> || std::is_same_v<T, Pubrec> ||
                             std::is_same_v<T, Pubrel> || std::is_same_v<T, Pubcomp>) {
          return detail::encode_pub_response(T::kType, p.packet_id, p.reason_code, p.properties, v,
                                             out);
        } else if constexpr (std::is_same_v<T, Subscribe>) {
          return detail::encode_subscribe(p, v, out);
        } else if constexpr (std::is_same_v<T, Suback>) {
          return detail::encode_suback(p, v, out);
        } else if constexpr (std::is_same_v<T, Unsubscribe>) {
          return detail::encode_unsubscribe(p, v, out);
        } else if constexpr (std::is_same_v<T, Unsuback>) {
          return detail::encode_unsuback(p, v, out);
        } else if constexpr (std::is_same_v<T, Pingreq> || std::is_same_v<T, Pingresp>) {
          if (out != nullptr) {
            out->push_back(detail::first_byte(T::kType));
            out->push_back(0);
          }
          return size_t{2};
        } else if constexpr (std::is_same_v<T, Disconnect>) {
          return detail::encode_disconnect(p, v, out);
        } else {
          static_assert(std::is_same_v<T, Auth>);
          return detail::encode_auth(p, v, out);
        }
      },
      packet);
}

}  // namespace

DecodeResult<Packet> decode_packet(util::ByteSpan frame, const DecodeOptions& options) {
  DecodeResult<Packet> result{Packet(std::in_place_type<Pingreq>)};
  decode_impl(frame, nullptr, options, result);
  return result;  // NRVO: the packet is built where the caller receives it
}

DecodeResult<Packet> decode_packet(const SharedBytes& frame, const DecodeOptions& options) {
  DecodeResult<Packet> result{Packet(std::in_place_type<Pingreq>)};
  decode_impl(frame.span(), &frame, options, result);
  return result;
}

std::optional<Version> peek_connect_version(util::ByteSpan frame) {
  if (frame.empty() || frame[0] != 0x10) return std::nullopt;
  const VbiParse length = parse_vbi(frame.subspan(1));
  if (length.status != VbiStatus::kOk) return std::nullopt;
  wire::Reader r(frame.subspan(1 + size_t{length.size}), PacketType::kConnect);
  util::ByteSpan name;
  uint8_t level = 0;
  if (!r.binary(name, "protocol name") || !r.u8(level, "protocol level")) return std::nullopt;
  if (util::to_string(name) != "MQTT" || (level != 4 && level != 5)) return std::nullopt;
  return static_cast<Version>(level);
}

util::Status encode_packet(const Packet& packet, Version version, util::Bytes& out) {
  return encode_any(packet, version, &out).status();
}

util::Result<size_t> encoded_size(const Packet& packet, Version version) {
  return encode_any(packet, version, nullptr);
}

util::Result<util::Bytes> encode_to_bytes(const Packet& packet, Version version) {
  IMET_ASSIGN_OR_RETURN(const size_t size, encoded_size(packet, version));
  util::Bytes out;
  out.reserve(size);
  IMET_TRY(encode_packet(packet, version, out));
  return out;
}

}  // namespace imet::mqtt
