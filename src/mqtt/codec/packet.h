// The MQTT control packets of 3.1.1 and 5.0 as plain structs, and Packet, a variant over all of
// them. One struct serves both versions: fields that exist only in 5.0 (properties, most reason
// codes) are left at their defaults when decoding 3.1.1 and ignored when encoding 3.1.1.
// Decoding: decoder.h. Encoding: encoder.h. Framing a byte stream: framing.h.
// Thread-safety: value types. A decoded Publish's payload may share its buffer with other objects
// (SharedBytes); it is immutable, so sharing is safe.
// Invariants (what the decoder guarantees and the encoder requires):
//   - qos fields are 0..2; a Publish with qos > 0 has packet_id != 0; dup implies qos > 0;
//   - Subscribe/Unsubscribe/Suback list at least one entry; packet ids of
//     acks/Subscribe/Unsubscribe are non-zero;
//   - reason codes are among those the packet type allows in 5.0 (reason_code_allowed).
// operator== compares every field (payload by content); the codec's round-trip property is
// decode(encode(p)) == p.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "mqtt/codec/properties.h"
#include "mqtt/codec/reason_code.h"
#include "mqtt/codec/shared_bytes.h"
#include "mqtt/codec/types.h"
#include "util/bytes.h"

namespace imet::mqtt {

// The will message of a CONNECT.
struct Will {
  std::string topic;    // a topic name: non-empty, no wildcards
  SharedBytes payload;  // at most 65535 bytes (Binary Data)
  uint8_t qos = 0;
  bool retain = false;
  Properties properties;  // 5.0 will properties
  bool operator==(const Will&) const = default;
};

struct Connect {
  static constexpr PacketType kType = PacketType::kConnect;
  Version version = Version::kV5;  // the protocol level the CONNECT asks for
  bool clean_start = true;         // "Clean Session" in 3.1.1
  uint16_t keep_alive = 0;         // seconds
  std::string client_id;           // may be empty (3.1.1: only with clean_start)
  std::optional<Will> will;
  std::optional<std::string> username;
  std::optional<util::Bytes> password;  // 3.1.1: only with a username
  Properties properties;
  bool operator==(const Connect&) const = default;
};

struct Connack {
  static constexpr PacketType kType = PacketType::kConnack;
  bool session_present = false;  // must be false when reason_code != kSuccess
  // 5.0 reason code. For 3.1.1 the return code is carried as the matching reason code
  // (to_reason_code / to_connect_return_code in reason_code.h).
  ReasonCode reason_code = ReasonCode::kSuccess;
  Properties properties;
  bool operator==(const Connack&) const = default;
};

struct Publish {
  static constexpr PacketType kType = PacketType::kPublish;
  std::string topic;  // empty only in 5.0 with properties.topic_alias
  uint8_t qos = 0;
  bool retain = false;
  bool dup = false;
  uint16_t packet_id = 0;  // present on the wire only when qos > 0
  Properties properties;
  SharedBytes payload;
  bool operator==(const Publish&) const = default;
};

// PUBACK, PUBREC, PUBREL, PUBCOMP: same layout, distinct types.
template <PacketType kPacketType>
struct PubResponse {
  static constexpr PacketType kType = kPacketType;
  uint16_t packet_id = 0;
  ReasonCode reason_code = ReasonCode::kSuccess;  // 5.0 only
  Properties properties;                          // 5.0 only
  bool operator==(const PubResponse&) const = default;
};
using Puback = PubResponse<PacketType::kPuback>;
using Pubrec = PubResponse<PacketType::kPubrec>;
using Pubrel = PubResponse<PacketType::kPubrel>;
using Pubcomp = PubResponse<PacketType::kPubcomp>;

// Retain Handling option of a 5.0 subscription (§3.8.3.1).
enum class RetainHandling : uint8_t {
  kSendOnSubscribe = 0,        // send retained messages at subscribe time
  kSendIfNewSubscription = 1,  // only if the subscription did not exist
  kDoNotSend = 2,
};

struct SubscriptionOptions {
  uint8_t qos = 0;                   // maximum QoS (3.1.1: requested QoS)
  bool no_local = false;             // 5.0 only
  bool retain_as_published = false;  // 5.0 only
  RetainHandling retain_handling = RetainHandling::kSendOnSubscribe;  // 5.0 only
  bool operator==(const SubscriptionOptions&) const = default;
};

struct Subscription {
  std::string topic_filter;  // valid UTF-8; wildcard syntax is checked by mqtt/topic
  SubscriptionOptions options;
  bool operator==(const Subscription&) const = default;
};

struct Subscribe {
  static constexpr PacketType kType = PacketType::kSubscribe;
  uint16_t packet_id = 0;
  Properties properties;
  std::vector<Subscription> subscriptions;
  bool operator==(const Subscribe&) const = default;
};

struct Suback {
  static constexpr PacketType kType = PacketType::kSuback;
  uint16_t packet_id = 0;
  Properties properties;
  // One per subscription. 3.1.1 knows only 0x00/0x01/0x02 and 0x80 (any failure code is sent as
  // 0x80 to a 3.1.1 client).
  std::vector<ReasonCode> reason_codes;
  bool operator==(const Suback&) const = default;
};

struct Unsubscribe {
  static constexpr PacketType kType = PacketType::kUnsubscribe;
  uint16_t packet_id = 0;
  Properties properties;
  std::vector<std::string> topic_filters;
  bool operator==(const Unsubscribe&) const = default;
};

struct Unsuback {
  static constexpr PacketType kType = PacketType::kUnsuback;
  uint16_t packet_id = 0;
  Properties properties;
  std::vector<ReasonCode> reason_codes;  // 5.0 only (3.1.1 UNSUBACK has no payload)
  bool operator==(const Unsuback&) const = default;
};

struct Pingreq {
  static constexpr PacketType kType = PacketType::kPingreq;
  bool operator==(const Pingreq&) const = default;
};

struct Pingresp {
  static constexpr PacketType kType = PacketType::kPingresp;
  bool operator==(const Pingresp&) const = default;
};

struct Disconnect {
  static constexpr PacketType kType = PacketType::kDisconnect;
  ReasonCode reason_code = ReasonCode::kNormalDisconnection;  // 5.0 only
  Properties properties;                                      // 5.0 only
  bool operator==(const Disconnect&) const = default;
};

// 5.0 only.
struct Auth {
  static constexpr PacketType kType = PacketType::kAuth;
  ReasonCode reason_code = ReasonCode::kSuccess;
  Properties properties;
  bool operator==(const Auth&) const = default;
};

// Alternatives are in packet type order: index() + 1 == packet type number.
using Packet = std::variant<Connect, Connack, Publish, Puback, Pubrec, Pubrel, Pubcomp, Subscribe,
                            Suback, Unsubscribe, Unsuback, Pingreq, Pingresp, Disconnect, Auth>;

inline PacketType packet_type(const Packet& packet) {
  return static_cast<PacketType>(packet.index() + 1);
}

}  // namespace imet::mqtt
