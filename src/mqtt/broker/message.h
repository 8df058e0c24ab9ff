// Message: one application message accepted by the broker (from a PUBLISH or a will), shared
// immutably by every session it is delivered to, and the per-subscriber delivery options.
// Thread-safety: a Message is immutable after construction and travels as MessagePtr
// (shared_ptr<const Message>), so any thread may read it.
// Invariants: topic is a valid topic name (never empty: aliases are resolved before a Message is
// made); qos <= 2; tier is 1..3; expiry_at_ms == 0 means "never expires"; properties hold only the
// forwarded 5.0 properties (no topic alias, no subscription identifiers, no expiry interval: those
// are per hop and computed at delivery).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mqtt/codec/properties.h"
#include "mqtt/codec/shared_bytes.h"

namespace imet::mqtt::broker {

struct Message {
  std::string topic;
  SharedBytes payload;
  uint8_t qos = 0;
  bool retain = false;
  Properties properties;      // forwarded 5.0 properties
  int64_t created_ms = 0;     // wall clock when accepted
  int64_t expiry_at_ms = 0;   // 0 = no message expiry
  std::string origin_client;  // client id of the publisher ("" for $SYS)
  uint8_t tier = 2;           // delivery tier 1..3 (SPEC section 4)
  uint64_t log_seq = 0;       // sequence number in the message log (0 = not logged)
};
using MessagePtr = std::shared_ptr<const Message>;

// Options of one subscription, as stored in the subscription tree and the session.
struct SubOptions {
  uint8_t qos = 0;
  bool no_local = false;
  bool retain_as_published = false;
  uint8_t retain_handling = 0;
  uint32_t subscription_id = 0;  // 0 = none
  bool operator==(const SubOptions&) const = default;
};

// How one message goes to one session: merged over every matching subscription of the session.
struct Delivery {
  uint8_t qos = 0;                // min(message qos, granted qos)
  bool retain = false;            // the RETAIN flag on the outgoing PUBLISH
  std::vector<uint32_t> sub_ids;  // 5.0 subscription identifiers of the matching subscriptions
  std::string shared_group;       // non-empty when delivered through a shared subscription
};

}  // namespace imet::mqtt::broker
