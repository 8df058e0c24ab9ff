// Topic name / filter / shared-subscription validation, against MQTT 3.1.1 and 5.0 §4.7, §4.8.2
// and §1.5.4 (UTF-8 strings). Expected results come from the spec text, not from the code.
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "mqtt/topic/validation.h"

namespace imet::mqtt {
namespace {

using namespace std::string_literals;

struct Case {
  std::string input;
  TopicError expected;
};

std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7F) {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

TEST(TopicValidation, TopicNames) {
  const std::vector<Case> cases = {
      // valid (§4.7.1: every level may be empty; '$' topics are names like any other)
      {"a", TopicError::kOk},
      {"/", TopicError::kOk},
      {"sport/tennis/player1", TopicError::kOk},
      {"a//b", TopicError::kOk},
      {"/finance", TopicError::kOk},
      {"finance/", TopicError::kOk},
      {"$SYS/broker/uptime", TopicError::kOk},
      {"Accounts payable", TopicError::kOk},
      {"caf\xC3\xA9", TopicError::kOk},                // U+00E9
      {"\xE2\x82\xAC/\xED\x9F\xBF", TopicError::kOk},  // U+20AC, U+D7FF (last before surrogates)
      {"\xEE\x80\x80", TopicError::kOk},               // U+E000 (first after surrogates)
      {"\xF0\x9F\x98\x80", TopicError::kOk},           // U+1F600
      {"\xF4\x8F\xBF\xBF", TopicError::kOk},           // U+10FFFF
      {"\xEF\xBF\xBF", TopicError::kOk},  // U+FFFF: a non-character is allowed (SHOULD NOT only)
      {"\x01\x7F", TopicError::kOk},      // control characters: SHOULD NOT, not MUST NOT
      // invalid
      {"", TopicError::kEmpty},
      {"+", TopicError::kWildcardInName},
      {"#", TopicError::kWildcardInName},
      {"sport/+/player1", TopicError::kWildcardInName},
      {"sport/#", TopicError::kWildcardInName},
      {"a+b", TopicError::kWildcardInName},
      {"a#", TopicError::kWildcardInName},
      {"a\0b"s, TopicError::kNullCharacter},
      {"\0"s, TopicError::kNullCharacter},
      {"\xC0\xAF", TopicError::kInvalidUtf8},              // overlong '/'
      {"\xC1\xBF", TopicError::kInvalidUtf8},              // overlong
      {"\xC0\x80", TopicError::kInvalidUtf8},              // overlong U+0000
      {"\xE0\x80\xAF", TopicError::kInvalidUtf8},          // overlong 3-byte
      {"\xF0\x80\x80\xAF", TopicError::kInvalidUtf8},      // overlong 4-byte
      {"\xED\xA0\x80", TopicError::kInvalidUtf8},          // U+D800 high surrogate
      {"\xED\xBF\xBF", TopicError::kInvalidUtf8},          // U+DFFF low surrogate
      {"\xF4\x90\x80\x80", TopicError::kInvalidUtf8},      // U+110000
      {"\xF5\x80\x80\x80", TopicError::kInvalidUtf8},      // lead byte above F4
      {"\xF8\x88\x80\x80\x80", TopicError::kInvalidUtf8},  // 5-byte form
      {"\xFF", TopicError::kInvalidUtf8},
      {"a\x80", TopicError::kInvalidUtf8},         // lone continuation byte
      {"\xC3", TopicError::kInvalidUtf8},          // truncated 2-byte
      {"\xE2\x82", TopicError::kInvalidUtf8},      // truncated 3-byte
      {"\xF0\x9F\x98", TopicError::kInvalidUtf8},  // truncated 4-byte
      {"\xC3(", TopicError::kInvalidUtf8},         // bad continuation
      {"\xE2(\xA1", TopicError::kInvalidUtf8},
  };
  for (const Case& c : cases) {
    const TopicCheck r = validate_topic_name(c.input);
    EXPECT_EQ(r.error, c.expected)
        << '"' << printable(c.input) << "\" got " << topic_error_name(r.error);
    EXPECT_EQ(r.ok(), c.expected == TopicError::kOk);
    EXPECT_EQ(r.message.empty(), r.ok()) << printable(c.input);
  }
}

TEST(TopicValidation, TopicFilters) {
  const std::vector<Case> cases = {
      {"#", TopicError::kOk},
      {"+", TopicError::kOk},
      {"sport/tennis/player1/#", TopicError::kOk},
      {"sport/#", TopicError::kOk},
      {"sport/tennis/+", TopicError::kOk},
      {"+/tennis/#", TopicError::kOk},
      {"sport/+/player1", TopicError::kOk},
      {"+/+", TopicError::kOk},
      {"/+", TopicError::kOk},
      {"+/", TopicError::kOk},
      {"a//b", TopicError::kOk},
      {"/", TopicError::kOk},
      {"$SYS/#", TopicError::kOk},
      {"$share", TopicError::kOk},  // not a shared subscription: no '/' after it
      {"a/+/+/#", TopicError::kOk},
      {"caf\xC3\xA9/+", TopicError::kOk},
      {"", TopicError::kEmpty},
      {"sport/tennis#", TopicError::kMisplacedWildcard},
      {"sport/tennis/#/ranking", TopicError::kMisplacedWildcard},
      {"#/", TopicError::kMisplacedWildcard},
      {"##", TopicError::kMisplacedWildcard},
      {"a/#b", TopicError::kMisplacedWildcard},
      {"sport+", TopicError::kMisplacedWildcard},
      {"++", TopicError::kMisplacedWildcard},
      {"a/+b", TopicError::kMisplacedWildcard},
      {"a/b+/c", TopicError::kMisplacedWildcard},
      {"+#", TopicError::kMisplacedWildcard},
      {"a\0/#"s, TopicError::kNullCharacter},
      {"a/\xED\xA0\x80/#", TopicError::kInvalidUtf8},
      {"\xC0\x80", TopicError::kInvalidUtf8},
  };
  for (const Case& c : cases) {
    const TopicCheck r = validate_topic_filter(c.input);
    EXPECT_EQ(r.error, c.expected)
        << '"' << printable(c.input) << "\" got " << topic_error_name(r.error);
    EXPECT_EQ(r.message.empty(), r.ok()) << printable(c.input);
  }
}

TEST(TopicValidation, ProtocolLengthLimit) {
  const std::string max(kMaxTopicBytes, 'a');
  EXPECT_TRUE(validate_topic_name(max).ok());
  EXPECT_TRUE(validate_topic_filter(max).ok());
  EXPECT_EQ(validate_topic_name(max + "a").error, TopicError::kTooLong);
  EXPECT_EQ(validate_topic_filter(max + "a").error, TopicError::kTooLong);
  EXPECT_EQ(parse_subscription_filter("$share/g/" + max).check.error, TopicError::kTooLong);
}

TEST(TopicValidation, EmptyNameAllowedOnlyWhenAsked) {
  EXPECT_EQ(validate_topic_name("").error, TopicError::kEmpty);
  EXPECT_TRUE(validate_topic_name("", {}, EmptyName::kAllow).ok());
  EXPECT_EQ(validate_topic_name("+", {}, EmptyName::kAllow).error, TopicError::kWildcardInName);
}

TEST(TopicValidation, BrokerLimits) {
  TopicLimits limits;
  limits.max_length = 5;
  EXPECT_TRUE(validate_topic_name("abcde", limits).ok());
  EXPECT_EQ(validate_topic_name("abcdef", limits).error, TopicError::kExceedsMaxLength);
  EXPECT_EQ(validate_topic_filter("a/b/#", limits).error, TopicError::kOk);
  EXPECT_EQ(validate_topic_filter("a/bb/#", limits).error, TopicError::kExceedsMaxLength);
  // Protocol errors are reported before broker limits (they decide a different reason code).
  EXPECT_EQ(validate_topic_name("abcde+", limits).error, TopicError::kWildcardInName);

  limits = {};
  limits.max_levels = 3;
  EXPECT_TRUE(validate_topic_name("a/b/c", limits).ok());
  EXPECT_TRUE(validate_topic_name("//", limits).ok());  // three empty levels
  EXPECT_EQ(validate_topic_name("a/b/c/", limits).error, TopicError::kExceedsMaxLevels);
  EXPECT_EQ(validate_topic_name("///", limits).error, TopicError::kExceedsMaxLevels);
  EXPECT_TRUE(validate_topic_filter("a/+/#", limits).ok());
  EXPECT_EQ(validate_topic_filter("a/+/+/#", limits).error, TopicError::kExceedsMaxLevels);
  // Shared subscriptions: levels are counted on the inner filter, length on the whole string.
  EXPECT_TRUE(parse_subscription_filter("$share/g/a/b/c", limits).check.ok());
  EXPECT_EQ(parse_subscription_filter("$share/g/a/b/c/d", limits).check.error,
            TopicError::kExceedsMaxLevels);
  limits = {};
  limits.max_length = 12;
  EXPECT_TRUE(parse_subscription_filter("$share/g/a/b", limits).check.ok());  // 12 bytes
  EXPECT_EQ(parse_subscription_filter("$share/g/a/bc", limits).check.error,
            TopicError::kExceedsMaxLength);
}

TEST(TopicValidation, SharedSubscriptions) {
  struct Shared {
    std::string raw;
    std::string group;
    std::string filter;
  };
  const std::vector<Shared> good = {
      {"$share/g/a/b", "g", "a/b"},
      {"$share/consumer1/sport/tennis/+", "consumer1", "sport/tennis/+"},
      {"$share/g/#", "g", "#"},
      {"$share/g/+", "g", "+"},
      {"$share/g//", "g", "/"},
      {"$share/g/$SYS/#", "g", "$SYS/#"},
      {"$share/gr\xC3\xBCn/x", "gr\xC3\xBCn", "x"},
      {"$share/$share/x", "$share", "x"},
  };
  for (const Shared& s : good) {
    const ParsedSubscription p = parse_subscription_filter(s.raw);
    ASSERT_TRUE(p.check.ok()) << s.raw << ": " << p.check.message;
    EXPECT_TRUE(p.shared) << s.raw;
    EXPECT_EQ(p.group, s.group);
    EXPECT_EQ(p.filter, s.filter);
    const auto split = split_shared_subscription(s.raw);
    ASSERT_TRUE(split.has_value()) << s.raw;
    EXPECT_EQ(split->group, s.group);
    EXPECT_EQ(split->filter, s.filter);
  }
  const std::vector<Case> bad = {
      {"$share/", TopicError::kBadShareName},
      {"$share//a", TopicError::kBadShareName},
      {"$share//", TopicError::kBadShareName},
      {"$share/a+b/x", TopicError::kBadShareName},
      {"$share/+/x", TopicError::kBadShareName},
      {"$share/#/x", TopicError::kBadShareName},
      {"$share/g#", TopicError::kBadShareName},
      {"$share/g", TopicError::kBadShareFilter},
      {"$share/g/", TopicError::kBadShareFilter},
      {"$share/g/a#", TopicError::kMisplacedWildcard},
      {"$share/g/#/a", TopicError::kMisplacedWildcard},
      {"$share/g/\xC0\x80", TopicError::kInvalidUtf8},
      {"$share/\xC0\x80/a", TopicError::kInvalidUtf8},
      {"$share/a\0b/x"s, TopicError::kNullCharacter},
  };
  for (const Case& c : bad) {
    const ParsedSubscription p = parse_subscription_filter(c.input);
    EXPECT_EQ(p.check.error, c.expected)
        << printable(c.input) << " got " << topic_error_name(p.check.error);
    EXPECT_FALSE(p.shared);
    EXPECT_FALSE(p.check.message.empty());
  }
  // Not shared subscriptions at all: plain filters (the prefix is case-sensitive and needs '/').
  for (const std::string raw : {"$share", "$sharex/g/a", "$SHARE/g/a", "a/$share/g/b"}) {
    const ParsedSubscription p = parse_subscription_filter(raw);
    EXPECT_TRUE(p.check.ok()) << raw;
    EXPECT_FALSE(p.shared) << raw;
    EXPECT_EQ(p.filter, raw);
    EXPECT_FALSE(split_shared_subscription(raw).has_value()) << raw;
  }
  // A plain invalid filter keeps its own error.
  EXPECT_EQ(parse_subscription_filter("a/#/b").check.error, TopicError::kMisplacedWildcard);
  EXPECT_EQ(parse_subscription_filter("").check.error, TopicError::kEmpty);
}

TEST(TopicValidation, ReasonCodes) {
  EXPECT_EQ(reason_code_for_name(TopicError::kOk), 0x00);
  EXPECT_EQ(reason_code_for_name(TopicError::kWildcardInName), 0x90);
  EXPECT_EQ(reason_code_for_name(TopicError::kExceedsMaxLength), 0x90);
  EXPECT_EQ(reason_code_for_name(TopicError::kExceedsMaxLevels), 0x90);
  EXPECT_EQ(reason_code_for_name(TopicError::kEmpty), 0x82);
  EXPECT_EQ(reason_code_for_name(TopicError::kInvalidUtf8), 0x81);
  EXPECT_EQ(reason_code_for_name(TopicError::kNullCharacter), 0x81);
  EXPECT_EQ(reason_code_for_filter(TopicError::kOk), 0x00);
  EXPECT_EQ(reason_code_for_filter(TopicError::kMisplacedWildcard), 0x8F);
  EXPECT_EQ(reason_code_for_filter(TopicError::kBadShareName), 0x8F);
  EXPECT_EQ(reason_code_for_filter(TopicError::kBadShareFilter), 0x8F);
  EXPECT_EQ(reason_code_for_filter(TopicError::kEmpty), 0x8F);
  EXPECT_EQ(reason_code_for_filter(TopicError::kExceedsMaxLevels), 0x8F);
  EXPECT_EQ(reason_code_for_filter(TopicError::kInvalidUtf8), 0x81);
}

TEST(TopicValidation, EveryErrorHasADistinctNameAndMessage) {
  std::set<std::string_view> names;
  std::set<std::string_view> messages;
  const std::vector<std::pair<std::string, TopicError>> samples = {
      {"", TopicError::kEmpty},
      {std::string(kMaxTopicBytes + 1, 'a'), TopicError::kTooLong},
      {"\xFF", TopicError::kInvalidUtf8},
      {"\0"s, TopicError::kNullCharacter},
      {"a+", TopicError::kMisplacedWildcard},
      {"$share//a", TopicError::kBadShareName},
      {"$share/g", TopicError::kBadShareFilter},
  };
  for (const auto& [input, error] : samples) {
    const TopicCheck c = parse_subscription_filter(input).check;
    ASSERT_EQ(c.error, error) << printable(input);
    EXPECT_TRUE(messages.insert(c.message).second) << c.message;
    EXPECT_TRUE(names.insert(topic_error_name(c.error)).second);
  }
  TopicLimits limits{.max_length = 1, .max_levels = 1};
  for (const TopicCheck& c : {validate_topic_name("+"), validate_topic_name("ab", limits),
                              validate_topic_name("/", limits)}) {
    EXPECT_FALSE(c.ok());
    EXPECT_TRUE(messages.insert(c.message).second) << c.message;
    EXPECT_TRUE(names.insert(topic_error_name(c.error)).second);
  }
  EXPECT_EQ(topic_error_name(TopicError::kOk), "ok");
}

}  // namespace
}  // namespace imet::mqtt
