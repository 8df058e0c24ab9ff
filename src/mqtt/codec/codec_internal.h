// Internal interface between the per-family packet codecs (connect_codec.cpp, publish_codec.cpp,
// subscribe_codec.cpp, control_codec.cpp) and the dispatch in codec.cpp. Not for use outside
// src/mqtt/codec.
// Thread-safety: pure functions.
// Invariants: decode_* functions read the variable header and payload of one packet whose fixed
// header has already been checked (type, flags, version, sender); on failure the Reader holds
// the error. encode_* functions validate everything first and return the total packet size; when
// `out` is not null they then append exactly that many bytes.
#pragma once

#include <string_view>

#include "mqtt/codec/decoder.h"
#include "mqtt/codec/encoder.h"
#include "mqtt/codec/packet.h"
#include "mqtt/codec/wire.h"
#include "util/result.h"

namespace imet::mqtt::detail {

struct DecodeContext {
  Version version = Version::kV5;
  Sender sender = Sender::kAny;
  bool validate_payload_format = true;
  uint8_t flags = 0;                     // fixed header flags (bits 3..0)
  const SharedBytes* owner = nullptr;    // owner of the frame, for zero-copy payloads
  const uint8_t* frame_begin = nullptr;  // first byte of the frame

  bool v5() const { return version == Version::kV5; }
  // The bytes as an owned payload: a slice of the owner, or a fresh copy.
  SharedBytes payload(util::ByteSpan bytes) const {
    if (owner == nullptr) return SharedBytes::copy_of(bytes);
    return owner->slice(static_cast<size_t>(bytes.data() - frame_begin), bytes.size());
  }
};

inline bool is_topic_name(std::string_view s) {
  return !s.empty() && !has_wildcard(s);
}

bool decode_connect(wire::Reader& r, const DecodeContext& ctx, Connect& out);
bool decode_connack(wire::Reader& r, const DecodeContext& ctx, Connack& out);
bool decode_publish(wire::Reader& r, const DecodeContext& ctx, Publish& out);
// PUBACK, PUBREC, PUBREL, PUBCOMP (the reader knows which).
bool decode_pub_response(wire::Reader& r, const DecodeContext& ctx, uint16_t& packet_id,
                         ReasonCode& reason, Properties& properties);
bool decode_subscribe(wire::Reader& r, const DecodeContext& ctx, Subscribe& out);
bool decode_suback(wire::Reader& r, const DecodeContext& ctx, Suback& out);
bool decode_unsubscribe(wire::Reader& r, const DecodeContext& ctx, Unsubscribe& out);
bool decode_unsuback(wire::Reader& r, const DecodeContext& ctx, Unsuback& out);
bool decode_disconnect(wire::Reader& r, const DecodeContext& ctx, Disconnect& out);
bool decode_auth(wire::Reader& r, const DecodeContext& ctx, Auth& out);

util::Result<size_t> encode_connect(const Connect& p, util::Bytes* out);
util::Result<size_t> encode_connack(const Connack& p, Version v, util::Bytes* out);
util::Result<size_t> encode_publish(const Publish& p, Version v, util::Bytes* out);
util::Result<size_t> encode_pub_response(PacketType type, uint16_t packet_id, ReasonCode reason,
                                         const Properties& properties, Version v, util::Bytes* out);
util::Result<size_t> encode_subscribe(const Subscribe& p, Version v, util::Bytes* out);
util::Result<size_t> encode_suback(const Suback& p, Version v, util::Bytes* out);
util::Result<size_t> encode_unsubscribe(const Unsubscribe& p, Version v, util::Bytes* out);
util::Result<size_t> encode_unsuback(const Unsuback& p, Version v, util::Bytes* out);
util::Result<size_t> encode_disconnect(const Disconnect& p, Version v, util::Bytes* out);
util::Result<size_t> encode_auth(const Auth& p, Version v, util::Bytes* out);

// ---- encoding helpers ----

inline size_t packet_size(size_t remaining_length) {
  return 1 + vbi_size(static_cast<uint32_t>(remaining_length)) + remaining_length;
}

// kInvalidArgument "<PACKET>: <what>".
util::Status encode_error(PacketType type, std::string_view what);

// Fails if remaining_length is over the protocol maximum; else the total packet size.
util::Result<size_t> checked_size(PacketType type, size_t remaining_length);

// Grows `out` by the whole packet, writes the fixed header, returns a writer after it.
inline wire::Writer start_packet(util::Bytes& out, uint8_t first_byte, size_t remaining_length) {
  wire::Writer w(wire::extend(out, packet_size(remaining_length)));
  w.u8(first_byte);
  w.vbi(static_cast<uint32_t>(remaining_length));
  return w;
}

inline uint8_t first_byte(PacketType type, uint8_t flags = 0) {
  return static_cast<uint8_t>((static_cast<unsigned>(type) << 4) | flags);
}

}  // namespace imet::mqtt::detail
