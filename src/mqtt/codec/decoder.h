// Decoding of one framed MQTT packet (framing.h finds the frame) into a Packet (packet.h), with
// every check MQTT 3.1.1 and 5.0 ask of a receiver that can be made from the packet alone:
// fixed header flags, remaining length, field encodings (UTF-8 rules, lengths, integers), full
// consumption of the packet, per-packet rules (QoS 3, DUP on QoS 0, packet identifier 0, wildcard
// in a topic name, empty topic without alias, CONNECT flag combinations, subscription option bits,
// reason codes the packet may carry, at least one topic filter, ...) and the property rules of
// properties.h. Checks that need connection state (topic alias maximum, receive maximum, packet
// identifiers in flight, authentication method matching CONNECT) and topic filter syntax
// (mqtt/topic; a bad filter gets SUBACK 0x8F, not a disconnect) belong to the broker.
// Every rejection is a DecodeError (decode_error.h) with the reason code the spec prescribes; the
// header comments of the codec files list which rule gives which code.
// Thread-safety: pure functions.
// Invariants: decode never reads outside `frame`, never throws, and never sizes anything from a
// length field before checking it against the bytes actually present. Memory is bounded by the
// frame: strings and payload copies by their wire size, User Properties by their wire size (one
// buffer), filter and reason code lists are reserved once from a pre-count; the worst case is
// SUBSCRIBE or UNSUBSCRIBE with one-character filters (one ~40-byte list entry per 3..4 wire
// bytes), so the broker's maximum packet size bounds every decode. A decoded packet always
// re-encodes (encoder.h) to a packet that decodes to an equal Packet.
#pragma once

#include <optional>

#include "mqtt/codec/decode_error.h"
#include "mqtt/codec/packet.h"
#include "mqtt/codec/shared_bytes.h"
#include "util/bytes.h"

namespace imet::mqtt {

// Who sent the bytes. A broker decodes with kClient: packets only a server sends (CONNACK,
// SUBACK, UNSUBACK, PINGRESP) are then Protocol Errors, as are a Subscription Identifier in
// PUBLISH (MQTT-3.3.4-6). A client decodes with kServer: CONNECT, SUBSCRIBE, UNSUBSCRIBE and
// PINGREQ are Protocol Errors, as is a Session Expiry Interval in DISCONNECT (MQTT-3.14.2-2).
enum class Sender : uint8_t { kAny, kClient, kServer };

struct DecodeOptions {
  // The version negotiated by CONNECT. A CONNECT packet decodes according to its own protocol
  // level, whatever this says.
  Version version = Version::kV5;
  Sender sender = Sender::kAny;
  // Check that a payload declared UTF-8 (Payload Format Indicator 1, in PUBLISH or the will) is
  // well-formed UTF-8; if not: 0x99 Payload format invalid (the spec makes this check optional).
  bool validate_payload_format = true;
};

// Decodes exactly one packet: `frame` must hold the whole packet and nothing more (a shorter or
// longer frame is a Malformed Packet). Payloads (PUBLISH, will) are copied into new buffers.
DecodeResult<Packet> decode_packet(util::ByteSpan frame, const DecodeOptions& options);
// As above, but PUBLISH and will payloads alias `frame` instead of being copied (zero copy):
// they keep the frame's buffer alive. If the frame is a slice of a larger read buffer, that whole
// buffer lives as long as any payload does.
DecodeResult<Packet> decode_packet(const SharedBytes& frame, const DecodeOptions& options);

// The protocol version a CONNECT frame asks for, if it is a CONNECT with protocol name "MQTT" and
// level 4 or 5; lets a broker pick the CONNACK format for a CONNECT that failed to decode.
std::optional<Version> peek_connect_version(util::ByteSpan frame);

}  // namespace imet::mqtt
