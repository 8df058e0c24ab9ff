// topic_matches() against the examples of MQTT 5.0 §4.7 (identical in 3.1.1 §4.7) and the
// empty-level and '$' corner cases they imply.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mqtt/topic/matching.h"
#include "mqtt/topic/validation.h"

namespace imet::mqtt {
namespace {

struct MatchCase {
  std::string filter;
  std::string name;
  bool matches;
};

TEST(TopicMatching, SpecExamples) {
  const std::vector<MatchCase> cases = {
      // §4.7.1.2 multi-level wildcard
      {"sport/tennis/player1/#", "sport/tennis/player1", true},
      {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
      {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
      {"sport/#", "sport", true},  // '#' includes the parent level
      {"sport/#", "sport/", true},
      {"sport/#", "sports", false},
      {"#", "sport", true},
      {"#", "sport/tennis/player1", true},
      {"#", "/", true},
      {"#", "/finance", true},
      // §4.7.1.3 single-level wildcard
      {"sport/tennis/+", "sport/tennis/player1", true},
      {"sport/tennis/+", "sport/tennis/player2", true},
      {"sport/tennis/+", "sport/tennis/player1/ranking", false},
      {"sport/+", "sport", false},
      {"sport/+", "sport/", true},
      {"+/tennis/#", "sport/tennis", true},
      {"+/tennis/#", "sport/tennis/player1/ranking", true},
      {"+/tennis/#", "sport/golf", false},
      {"sport/+/player1", "sport/tennis/player1", true},
      {"sport/+/player1", "sport/tennis/player2", false},
      {"sport/+/player1", "sport//player1", true},
      {"+/+", "/finance", true},
      {"/+", "/finance", true},
      {"+", "/finance", false},
      {"+", "finance", true},
      // §4.7.2 topics beginning with '$'
      {"#", "$SYS/monitor/Clients", false},
      {"#", "$SYS", false},
      {"+/monitor/Clients", "$SYS/monitor/Clients", false},
      {"+", "$SYS", false},
      {"+/#", "$SYS/x", false},
      {"$SYS/#", "$SYS/monitor/Clients", true},
      {"$SYS/#", "$SYS", true},
      {"$SYS/monitor/+", "$SYS/monitor/Clients", true},
      {"$SYS/monitor/+", "$SYS/monitor/", true},
      {"a/+", "a/$b", true},  // the rule applies to the first level only
      {"a/#", "a/$b/c", true},
      // §4.7.3 topic semantics: case-sensitive, spaces allowed, leading '/' is a level
      {"ACCOUNTS", "Accounts", false},
      {"Accounts", "Accounts", true},
      {"Accounts payable", "Accounts payable", true},
      {"/finance", "finance", false},
      {"finance", "/finance", false},
      {"/finance", "/finance", true},
      // empty levels and trailing separators
      {"a//b", "a//b", true},
      {"a/+/b", "a//b", true},
      {"a/+/b", "a/b", false},
      {"a/+", "a/", true},
      {"a/+", "a", false},
      {"a/", "a", false},
      {"a", "a/", false},
      {"+/+", "/", true},
      {"+", "/", false},
      {"/#", "/", true},
      {"/#", "a", false},
      {"a/b/c", "a/b", false},
      {"a/b", "a/b/c", false},
      {"a/+/+", "a/b", false},
      {"a/+/#", "a/b", true},
      {"a/+/+/#", "a/b", false},
  };
  for (const MatchCase& c : cases) {
    ASSERT_TRUE(validate_topic_filter(c.filter).ok()) << c.filter;
    ASSERT_TRUE(validate_topic_name(c.name).ok()) << c.name;
    EXPECT_EQ(topic_matches(c.filter, c.name), c.matches)
        << "filter \"" << c.filter << "\" name \"" << c.name << '"';
  }
}

TEST(TopicMatching, ExactFilterMatchesOnlyItself) {
  const std::vector<std::string> names = {"a", "a/b", "/", "//", "a/", "/a", "$SYS/x", "b"};
  for (const auto& f : names) {
    for (const auto& n : names)
      EXPECT_EQ(topic_matches(f, n), f == n) << f << " vs " << n;
  }
}

}  // namespace
}  // namespace imet::mqtt
