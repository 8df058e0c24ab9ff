// MQTT 5.0 properties (spec §2.2.2): the Properties struct that every v5 packet and the will
// message carry, the table of which property may appear where, and the property block codec.
// Decoding enforces, with the reason code the spec prescribes:
//   - an unknown identifier, or one not allowed in this packet, is a Malformed Packet (0x81)
//     (§2.2.2.2: "contains an Identifier which is not valid for its packet type");
//   - a second copy of a property other than User Property (and Subscription Identifier in
//     PUBLISH) is a Protocol Error (0x82);
//   - values: Payload Format Indicator, Request Problem/Response Information, Maximum QoS,
//     Retain/Wildcard Subscription/Subscription Identifier/Shared Subscription Available must be
//     0 or 1; Receive Maximum, Maximum Packet Size and Subscription Identifier must not be 0; a
//     Response Topic must be a non-empty topic name without wildcards; Authentication Data needs
//     an Authentication Method: all Protocol Error (0x82). Topic Alias 0 is 0x94 Topic Alias
//     invalid. Strings must be valid MQTT UTF-8 (else 0x81).
// Encoding writes the properties in ascending identifier order (User Properties in their order)
// and refuses (Status kInvalidArgument) what decoding would reject.
// Thread-safety: value types and pure functions.
// Invariants: UserProperties stores pairs in arrival order in one buffer, exactly as on the wire
// minus the identifier bytes, so decoding never allocates more for them than the packet's size.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt/codec/types.h"
#include "mqtt/codec/wire.h"
#include "util/bytes.h"
#include "util/result.h"

namespace imet::mqtt {

enum class PropertyId : uint8_t {
  kPayloadFormatIndicator = 0x01,
  kMessageExpiryInterval = 0x02,
  kContentType = 0x03,
  kResponseTopic = 0x08,
  kCorrelationData = 0x09,
  kSubscriptionIdentifier = 0x0B,
  kSessionExpiryInterval = 0x11,
  kAssignedClientIdentifier = 0x12,
  kServerKeepAlive = 0x13,
  kAuthenticationMethod = 0x15,
  kAuthenticationData = 0x16,
  kRequestProblemInformation = 0x17,
  kWillDelayInterval = 0x18,
  kRequestResponseInformation = 0x19,
  kResponseInformation = 0x1A,
  kServerReference = 0x1C,
  kReasonString = 0x1F,
  kReceiveMaximum = 0x21,
  kTopicAliasMaximum = 0x22,
  kTopicAlias = 0x23,
  kMaximumQos = 0x24,
  kRetainAvailable = 0x25,
  kUserProperty = 0x26,
  kMaximumPacketSize = 0x27,
  kWildcardSubscriptionAvailable = 0x28,
  kSubscriptionIdentifierAvailable = 0x29,
  kSharedSubscriptionAvailable = 0x2A,
};

// "Payload Format Indicator", ...; empty for identifiers that are not properties.
std::string_view property_name(uint32_t id);

// Where a property block appears: a packet type, or kWill for the will properties of CONNECT.
enum class PropertyScope : uint8_t {
  kWill = 0,
  kConnect = 1,
  kConnack = 2,
  kPublish = 3,
  kPuback = 4,
  kPubrec = 5,
  kPubrel = 6,
  kPubcomp = 7,
  kSubscribe = 8,
  kSuback = 9,
  kUnsubscribe = 10,
  kUnsuback = 11,
  kDisconnect = 14,
  kAuth = 15,
};
constexpr PropertyScope scope_of(PacketType type) {
  return static_cast<PropertyScope>(type);
}
// "CONNECT", ..., "will properties".
std::string_view scope_name(PropertyScope scope);
// True if property `id` may appear in `scope` (spec §2.2.2.2 table).
bool property_allowed(PropertyId id, PropertyScope scope);

struct UserProperty {
  std::string_view name;
  std::string_view value;
  bool operator==(const UserProperty&) const = default;
};

// Ordered list of User Property (name, value) pairs, names may repeat.
class UserProperties {
 public:
  class Iterator {
   public:
    using value_type = UserProperty;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    UserProperty operator*() const;
    Iterator& operator++();
    Iterator operator++(int) {
      Iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const Iterator& other) const { return p_ == other.p_; }

   private:
    friend class UserProperties;
    explicit Iterator(const char* p) : p_(p) {}
    const char* p_ = nullptr;
  };

  // Appends a pair. Returns false (and appends nothing) if name or value is longer than 65535
  // bytes. UTF-8 validity is the caller's business (the decoder checks it).
  [[nodiscard]] bool add(std::string_view name, std::string_view value);
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  void clear() {
    blob_.clear();
    count_ = 0;
  }
  Iterator begin() const { return Iterator(blob_.data()); }
  Iterator end() const { return Iterator(blob_.data() + blob_.size()); }
  // Bytes these pairs occupy on the wire, identifier bytes included.
  size_t wire_size() const { return blob_.size() + count_; }
  // Values of every pair named `name`, in order.
  std::vector<std::string_view> values(std::string_view name) const;

  bool operator==(const UserProperties&) const = default;

 private:
  std::string blob_;  // repeated: u16 name length, name, u16 value length, value (big-endian)
  uint32_t count_ = 0;
};

// Every MQTT 5.0 property. Absent = nullopt / empty. Byte-valued properties keep the wire value
// (validated to 0/1 where the spec says so).
struct Properties {
  std::optional<uint8_t> payload_format_indicator;           // 0x01
  std::optional<uint32_t> message_expiry_interval;           // 0x02
  std::optional<std::string> content_type;                   // 0x03
  std::optional<std::string> response_topic;                 // 0x08
  std::optional<util::Bytes> correlation_data;               // 0x09
  std::vector<uint32_t> subscription_identifiers;            // 0x0B (repeats in PUBLISH only)
  std::optional<uint32_t> session_expiry_interval;           // 0x11
  std::optional<std::string> assigned_client_identifier;     // 0x12
  std::optional<uint16_t> server_keep_alive;                 // 0x13
  std::optional<std::string> authentication_method;          // 0x15
  std::optional<util::Bytes> authentication_data;            // 0x16
  std::optional<uint8_t> request_problem_information;        // 0x17
  std::optional<uint32_t> will_delay_interval;               // 0x18
  std::optional<uint8_t> request_response_information;       // 0x19
  std::optional<std::string> response_information;           // 0x1A
  std::optional<std::string> server_reference;               // 0x1C
  std::optional<std::string> reason_string;                  // 0x1F
  std::optional<uint16_t> receive_maximum;                   // 0x21
  std::optional<uint16_t> topic_alias_maximum;               // 0x22
  std::optional<uint16_t> topic_alias;                       // 0x23
  std::optional<uint8_t> maximum_qos;                        // 0x24
  std::optional<uint8_t> retain_available;                   // 0x25
  UserProperties user_properties;                            // 0x26
  std::optional<uint32_t> maximum_packet_size;               // 0x27
  std::optional<uint8_t> wildcard_subscription_available;    // 0x28
  std::optional<uint8_t> subscription_identifier_available;  // 0x29
  std::optional<uint8_t> shared_subscription_available;      // 0x2A

  bool empty() const { return *this == Properties{}; }
  bool operator==(const Properties&) const = default;
};

// The per-hop PUBLISH properties of one outgoing copy of a message (fan-out): when given to the
// encoder they replace the Message Expiry Interval, Topic Alias and Subscription Identifiers of
// the forwarded properties.
struct PublishPropertyOverrides {
  std::optional<uint32_t> message_expiry_interval;
  std::optional<uint16_t> topic_alias;
  std::span<const uint32_t> subscription_identifiers;
};

// Reads a property block (Variable Byte Integer length + properties) into `out`, which must be
// empty. On failure the reader holds the error.
bool read_properties(wire::Reader& r, PropertyScope scope, Properties& out);

// Size of the property block content, excluding its length prefix, after checking that every
// present property is allowed in `scope` and has a valid value and length. `base` may be null.
util::Result<size_t> properties_size(const Properties* base, PropertyScope scope,
                                     const PublishPropertyOverrides* overrides = nullptr);
// Writes vbi(content_size) and the properties; content_size comes from properties_size() with the
// same arguments.
void write_properties(wire::Writer& w, const Properties* base, size_t content_size,
                      const PublishPropertyOverrides* overrides = nullptr);
// CONNACK: like write_properties, but Topic Alias Maximum, Server Keep Alive, Assigned Client
// Identifier, Authentication Method and Data, Retain Available, Maximum Packet Size, Receive
// Maximum and Maximum QoS come first, in that order (mosquitto 2.0's order), then the others in
// ascending identifier order. MQTT 5 leaves the order open; test suites written against mosquitto
// compare CONNACKs byte for byte.
void write_connack_properties(wire::Writer& w, const Properties& p, size_t content_size);

}  // namespace imet::mqtt
