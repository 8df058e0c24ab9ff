// Validation of MQTT topic names, topic filters and shared-subscription filters (MQTT 3.1.1 §4.7,
// MQTT 5.0 §4.7 and §4.8.2), plus the broker's own configurable limits (length, number of levels).
// Every check returns a small TopicError code and a fixed English message (no allocation), so the
// hot path (one topic name per PUBLISH) stays cheap and the broker can map the code to a reason
// code (reason_code_for_name / reason_code_for_filter). Thread-safety: pure functions over their
// arguments; safe from any thread. Invariants: a TopicCheck is ok() <=> error == TopicError::kOk,
// and then message is empty. A topic name accepted by validate_topic_name contains no '+' or '#',
// is well-formed UTF-8 without U+0000 or surrogates, and is at most min(65535, limits.max_length)
// bytes. A filter accepted by validate_topic_filter additionally has every '+' alone in its level
// and at most one '#', alone in the last level. The string_views in SharedSubscription point into
// the caller's input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace imet::mqtt {

// Largest topic name/filter the protocol can carry (a 2-byte length prefix).
inline constexpr size_t kMaxTopicBytes = 65535;
// The prefix that marks a shared subscription (MQTT 5.0 §4.8.2).
inline constexpr std::string_view kSharePrefix = "$share/";

enum class TopicError : uint8_t {
  kOk = 0,
  kEmpty,              // zero length (names: only allowed with a topic alias; filters: never)
  kTooLong,            // over 65535 bytes: cannot be encoded at all
  kInvalidUtf8,        // ill-formed UTF-8: overlong, truncated, surrogate, above U+10FFFF
  kNullCharacter,      // contains U+0000
  kWildcardInName,     // a topic name contains '+' or '#'
  kMisplacedWildcard,  // filter: '+' or '#' shares its level with other characters, or '#' not last
  kBadShareName,       // "$share/" with an empty share name or one containing '+' or '#'
  kBadShareFilter,     // "$share/<name>" not followed by "/" and a non-empty topic filter
  kExceedsMaxLength,   // broker limit: longer than TopicLimits::max_length
  kExceedsMaxLevels,   // broker limit: more levels than TopicLimits::max_levels
};

// Short stable identifier of a code ("empty", "too_long", ...), for logs and tests.
std::string_view topic_error_name(TopicError error);

struct TopicCheck {
  TopicError error = TopicError::kOk;
  std::string_view message;  // static text; empty when ok

  bool ok() const { return error == TopicError::kOk; }
};

// Broker limits, checked after the protocol rules. Zero means "no limit beyond the protocol".
// The trie stores one node per level, so memory per subscription grows with the number of levels:
// a broker facing untrusted clients should set max_levels (mosquitto uses 200).
struct TopicLimits {
  size_t max_length = 0;  // bytes, counted on the whole string (including "$share/<name>/")
  size_t max_levels = 0;  // '/'-separated levels (of the inner filter for shared subscriptions)
};

enum class EmptyName : uint8_t { kReject, kAllow };

// Topic name as carried by PUBLISH / Will Topic. `empty` = kAllow for MQTT 5 PUBLISH packets that
// carry a Topic Alias (the name is then looked up from the alias).
TopicCheck validate_topic_name(std::string_view name, const TopicLimits& limits = {},
                               EmptyName empty = EmptyName::kReject);

// Plain topic filter as carried by SUBSCRIBE/UNSUBSCRIBE. "$share/..." is NOT special here (use
// validate_subscription_filter for what a client sends).
TopicCheck validate_topic_filter(std::string_view filter, const TopicLimits& limits = {});

// The two parts of "$share/{group}/{filter}".
struct SharedSubscription {
  std::string_view group;
  std::string_view filter;
};

// Structural split only (no validation of either part): if `raw` starts with "$share/" and has a
// further '/', returns {group, filter}; otherwise nullopt. Used by the trie on already-validated
// filters.
std::optional<SharedSubscription> split_shared_subscription(std::string_view raw);

// A subscription filter from SUBSCRIBE/UNSUBSCRIBE, either plain or shared.
struct ParsedSubscription {
  TopicCheck check;
  bool shared = false;
  std::string_view group;   // empty unless shared
  std::string_view filter;  // the topic filter to match against (without "$share/<group>/")
};

// Validates a raw SUBSCRIBE/UNSUBSCRIBE filter. Anything starting with "$share/" must be a valid
// shared subscription: non-empty share name without '/', '+', '#', then '/', then a valid non-empty
// topic filter; otherwise kBadShareName / kBadShareFilter (or the inner filter's own error).
ParsedSubscription parse_subscription_filter(std::string_view raw, const TopicLimits& limits = {});

// MQTT 5 reason codes for a rejected topic name in PUBLISH (or Will Topic in CONNECT): 0x81
// Malformed Packet for bad UTF-8 / U+0000 / over 65535 bytes (MQTT-1.5.4-1..2), 0x82 Protocol Error
// for an empty name without alias, 0x90 Topic Name invalid otherwise. 0x00 for kOk.
uint8_t reason_code_for_name(TopicError error);
// MQTT 5 reason codes for a rejected filter in SUBSCRIBE/UNSUBSCRIBE: 0x81 for bad UTF-8 / U+0000,
// 0x8F Topic Filter invalid otherwise. (MQTT 3.1.1 has only SUBACK 0x80.) 0x00 for kOk.
uint8_t reason_code_for_filter(TopicError error);

}  // namespace imet::mqtt
