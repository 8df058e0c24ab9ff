#include "mqtt/topic/validation.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace imet::mqtt {
namespace {

// Byte classes for the ASCII fast path.
enum : uint8_t { kPlain = 0, kSlash, kPlus, kHash, kNul, kHigh };

constexpr std::array<uint8_t, 256> make_classes() {
  std::array<uint8_t, 256> t{};
  for (size_t i = 0x80; i < 256; ++i)
    t[i] = kHigh;
  t['/'] = kSlash;
  t['+'] = kPlus;
  t['#'] = kHash;
  t[0] = kNul;
  return t;
}
constexpr std::array<uint8_t, 256> kClasses = make_classes();

constexpr bool is_cont(uint8_t b) {
  return (b & 0xC0) == 0x80;
}

// Length of the well-formed UTF-8 sequence starting with lead byte s[i] (>= 0x80), or 0 if the
// sequence is ill-formed (RFC 3629 table: no overlongs, no surrogates, nothing above U+10FFFF).
size_t utf8_sequence(const uint8_t* s, size_t i, size_t n) {
  const uint8_t c = s[i];
  if (c < 0xC2) return 0;  // stray continuation byte or overlong 2-byte lead (C0, C1)
  if (c < 0xE0) return (i + 1 < n && is_cont(s[i + 1])) ? 2 : 0;
  if (c < 0xF0) {
    if (i + 2 >= n) return 0;
    const uint8_t b1 = s[i + 1];
    const uint8_t lo = c == 0xE0 ? 0xA0 : 0x80;  // E0: overlong below A0
    const uint8_t hi = c == 0xED ? 0x9F : 0xBF;  // ED: A0..BF would be surrogates D800..DFFF
    if (b1 < lo || b1 > hi || !is_cont(s[i + 2])) return 0;
    return 3;
  }
  if (c < 0xF5) {
    if (i + 3 >= n) return 0;
    const uint8_t b1 = s[i + 1];
    const uint8_t lo = c == 0xF0 ? 0x90 : 0x80;  // F0: overlong below 90
    const uint8_t hi = c == 0xF4 ? 0x8F : 0xBF;  // F4: above 8F would exceed U+10FFFF
    if (b1 < lo || b1 > hi || !is_cont(s[i + 2]) || !is_cont(s[i + 3])) return 0;
    return 4;
  }
  return 0;
}

struct Scan {
  TopicError error = TopicError::kOk;
  size_t levels = 1;
};

// One pass over the bytes: UTF-8 well-formedness, U+0000, wildcards (forbidden in names, placement
// rules in filters) and the level count.
Scan scan(std::string_view text, bool filter) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  Scan out;
  size_t level_start = 0;
  size_t i = 0;
  while (i < n) {
    switch (kClasses[s[i]]) {
      case kPlain:
        ++i;
        continue;
      case kSlash:
        ++out.levels;
        level_start = ++i;
        continue;
      case kPlus:
        if (!filter) return {TopicError::kWildcardInName, out.levels};
        if (i != level_start || (i + 1 < n && s[i + 1] != '/')) {
          return {TopicError::kMisplacedWildcard, out.levels};
        }
        ++i;
        continue;
      case kHash:
        if (!filter) return {TopicError::kWildcardInName, out.levels};
        if (i != level_start || i + 1 != n) return {TopicError::kMisplacedWildcard, out.levels};
        ++i;
        continue;
      case kNul:
        return {TopicError::kNullCharacter, out.levels};
      default: {
        const size_t len = utf8_sequence(s, i, n);
        if (len == 0) return {TopicError::kInvalidUtf8, out.levels};
        i += len;
        continue;
      }
    }
  }
  return out;
}

// True if none of the 8 bytes at s is >= 0x80, NUL, '+' or '#' (the bytes a topic name's scan
// must look at; '/' only matters for the level count, done separately).
inline bool plain_word(const uint8_t* s) {
  uint64_t w;
  std::memcpy(&w, s, sizeof w);
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  const auto has_zero = [](uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  return ((w & kHighs) | has_zero(w) | has_zero(w ^ (kOnes * '+')) | has_zero(w ^ (kOnes * '#'))) ==
         0;
}

// scan() for topic names, 8 ASCII bytes at a time where possible (the per-PUBLISH path).
Scan scan_name(std::string_view text, bool count_levels) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n && plain_word(s + i)) {
      i += 8;
      continue;
    }
    const uint8_t c = s[i];
    if (c < 0x80) {
      if (c == 0) return {TopicError::kNullCharacter, 0};
      if (c == '+' || c == '#') return {TopicError::kWildcardInName, 0};
      ++i;
      continue;
    }
    const size_t len = utf8_sequence(s, i, n);
    if (len == 0) return {TopicError::kInvalidUtf8, 0};
    i += len;
  }
  Scan out;
  if (count_levels) out.levels += static_cast<size_t>(std::count(text.begin(), text.end(), '/'));
  return out;
}

TopicCheck fail(TopicError e) {
  static constexpr std::array<std::string_view, 11> kMessages = {
      "",
      "topic is empty",
      "topic is longer than 65535 bytes",
      "topic is not well-formed UTF-8",
      "topic contains the null character U+0000",
      "topic name contains a wildcard ('+' or '#')",
      "topic filter wildcard must occupy a whole level, and '#' must be the last level",
      "shared subscription needs a non-empty share name without '/', '+' or '#' after \"$share/\"",
      "shared subscription needs \"/\" and a non-empty topic filter after the share name",
      "topic is longer than this broker allows",
      "topic has more levels than this broker allows",
  };
  return {e, kMessages[static_cast<size_t>(e)]};
}

TopicCheck validate(std::string_view text, const TopicLimits& limits, bool filter,
                    size_t length_for_limit) {
  if (text.size() > kMaxTopicBytes) return fail(TopicError::kTooLong);
  const Scan r = filter ? scan(text, true) : scan_name(text, limits.max_levels != 0);
  if (r.error != TopicError::kOk) return fail(r.error);
  if (limits.max_length != 0 && length_for_limit > limits.max_length) {
    return fail(TopicError::kExceedsMaxLength);
  }
  if (limits.max_levels != 0 && r.levels > limits.max_levels) {
    return fail(TopicError::kExceedsMaxLevels);
  }
  return {};
}

}  // namespace

std::string_view topic_error_name(TopicError error) {
  static constexpr std::array<std::string_view, 11> kNames = {
      "ok",
      "empty",
      "too_long",
      "invalid_utf8",
      "null_char",
      "wildcard_name",
      "misplaced_wildcard",
      "bad_share_name",
      "bad_share_filter",
      "exceeds_max_length",
      "exceeds_max_levels",
  };
  const auto i = static_cast<size_t>(error);
  return i < kNames.size() ? kNames[i] : "unknown";
}

TopicCheck validate_topic_name(std::string_view name, const TopicLimits& limits, EmptyName empty) {
  if (name.empty()) return empty == EmptyName::kAllow ? TopicCheck{} : fail(TopicError::kEmpty);
  return validate(name, limits, /*filter=*/false, name.size());
}

TopicCheck validate_topic_filter(std::string_view filter, const TopicLimits& limits) {
  if (filter.empty()) return fail(TopicError::kEmpty);
  return validate(filter, limits, /*filter=*/true, filter.size());
}

std::optional<SharedSubscription> split_shared_subscription(std::string_view raw) {
  if (!raw.starts_with(kSharePrefix)) return std::nullopt;
  const std::string_view rest = raw.substr(kSharePrefix.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return SharedSubscription{rest.substr(0, slash), rest.substr(slash + 1)};
}

ParsedSubscription parse_subscription_filter(std::string_view raw, const TopicLimits& limits) {
  ParsedSubscription out;
  if (!raw.starts_with(kSharePrefix)) {
    out.check = validate_topic_filter(raw, limits);
    if (out.check.ok()) out.filter = raw;
    return out;
  }
  if (raw.size() > kMaxTopicBytes) {
    out.check = fail(TopicError::kTooLong);
    return out;
  }
  const std::string_view rest = raw.substr(kSharePrefix.size());
  const size_t slash = rest.find('/');
  const std::string_view group = rest.substr(0, slash);  // whole rest if no '/'
  if (group.empty() || group.find_first_of("+#") != std::string_view::npos) {
    out.check = fail(TopicError::kBadShareName);
    return out;
  }
  // The share name must itself be valid UTF-8 without U+0000 (it is part of a UTF-8 string).
  if (const Scan g = scan(group, /*filter=*/true); g.error != TopicError::kOk) {
    out.check = fail(g.error);
    return out;
  }
  if (slash == std::string_view::npos || slash + 1 == rest.size()) {
    out.check = fail(TopicError::kBadShareFilter);
    return out;
  }
  const std::string_view inner = rest.substr(slash + 1);
  out.check = validate(inner, limits, /*filter=*/true, raw.size());
  if (!out.check.ok()) return out;
  out.shared = true;
  out.group = group;
  out.filter = inner;
  return out;
}

uint8_t reason_code_for_name(TopicError error) {
  switch (error) {
    case TopicError::kOk:
      return 0x00;
    case TopicError::kInvalidUtf8:
    case TopicError::kNullCharacter:
    case TopicError::kTooLong:
      return 0x81;  // Malformed Packet
    case TopicError::kEmpty:
      return 0x82;  // Protocol Error: zero-length name without a Topic Alias
    default:
      return 0x90;  // Topic Name invalid
  }
}

uint8_t reason_code_for_filter(TopicError error) {
  switch (error) {
    case TopicError::kOk:
      return 0x00;
    case TopicError::kInvalidUtf8:
    case TopicError::kNullCharacter:
    case TopicError::kTooLong:
      return 0x81;  // Malformed Packet
    default:
      return 0x8F;  // Topic Filter invalid
  }
}

}  // namespace imet::mqtt
