// Encoding of MQTT packets (packet.h) into wire bytes, in 3.1.1 or 5.0, and the split PUBLISH
// encoding used for fan-out: the fixed and variable header of one subscriber's copy is encoded on
// its own, and the payload bytes follow from a buffer shared by every copy, e.g.
//   PublishHeader h = publish_header_of(message);      // topic, properties: by reference
//   for (auto& sub : subscribers) {
//     h.qos = std::min(message.qos, sub.qos);  h.packet_id = sub.next_id();
//     h.retain = sub.retain_as_published && message.retain;
//     h.subscription_identifiers = sub.ids;  h.topic_alias = ...;  // per-hop v5 properties
//     sub.header.clear();
//     if (encode_publish_header(h, message.payload.size(), sub.version, sub.header).ok())
//       sub.write({sub.header, message.payload});     // gather write; payload is shared
//   }
// Output is the spec's byte layout with minimal Variable Byte Integers, properties in ascending
// identifier order, and the short forms of 5.0 (PUBACK/PUBREC/PUBREL/PUBCOMP and DISCONNECT omit
// reason code and/or property length when they are Success / empty; AUTH omits both when Success
// with no properties).
// Encoding 3.1.1 drops what 3.1.1 cannot carry: properties, ack reason codes, DISCONNECT reason;
// CONNACK reason codes become 3.1.1 return codes (to_connect_return_code) and SUBACK failure codes
// become 0x80. AUTH cannot be encoded in 3.1.1.
// The encoder refuses (Status kInvalidArgument, nothing appended) a packet the decoder would
// reject for a structural reason: fields over 65535 bytes, QoS 3, packet identifier 0, DUP on
// QoS 0, empty lists, reason codes or properties not allowed in the packet, property values out
// of range, a packet over the maximum size. It does not re-validate UTF-8 (strings decoded by
// this codec are valid; strings built by the program are its responsibility).
// Thread-safety: pure functions.
// Invariants: on success exactly encoded_size() bytes are appended to `out`; on failure `out` is
// unchanged.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "mqtt/codec/packet.h"
#include "util/bytes.h"
#include "util/result.h"

namespace imet::mqtt {

// Appends the encoding of `packet` to `out`. A Connect is encoded at its own `version`; for every
// other packet `version` is the connection's protocol version.
util::Status encode_packet(const Packet& packet, Version version, util::Bytes& out);
// Size encode_packet would append.
util::Result<size_t> encoded_size(const Packet& packet, Version version);
// Convenience: the encoding as a new buffer.
util::Result<util::Bytes> encode_to_bytes(const Packet& packet, Version version);

// Everything of an outgoing PUBLISH except the payload bytes, by reference (no copies).
struct PublishHeader {
  std::string_view topic;  // may be empty in 5.0 when topic_alias is set
  uint8_t qos = 0;
  bool retain = false;
  bool dup = false;
  uint16_t packet_id = 0;  // required (non-zero) when qos > 0
  // 5.0 only. The forwarded properties (payload format, content type, response topic,
  // correlation data, user properties); may be null. Their message_expiry_interval, topic_alias
  // and subscription_identifiers are ignored: the three fields below are used instead.
  const Properties* properties = nullptr;
  std::optional<uint32_t> message_expiry_interval;
  std::optional<uint16_t> topic_alias;
  std::span<const uint32_t> subscription_identifiers;
};

// A header view of `publish`, including its own per-hop properties; publish must outlive it.
PublishHeader publish_header_of(const Publish& publish);

// Total packet size of a PUBLISH with this header and a payload of payload_size bytes (to check
// against the receiver's Maximum Packet Size before sending).
util::Result<size_t> publish_size(const PublishHeader& header, size_t payload_size,
                                  Version version);
// Appends fixed header + variable header (topic, packet id, properties) of a PUBLISH whose
// payload is payload_size bytes; the packet on the wire is these bytes followed by the payload.
util::Status encode_publish_header(const PublishHeader& header, size_t payload_size,
                                   Version version, util::Bytes& out);

}  // namespace imet::mqtt
