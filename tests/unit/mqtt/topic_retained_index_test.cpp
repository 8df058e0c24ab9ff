// RetainedIndex: set/get/erase, find() with the spec's wildcard and '$' rules, topic-name
// reconstruction with empty levels, pruning and deep topics.
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mqtt/topic/retained_index.h"

namespace imet::mqtt {
namespace {

using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;
using Index = RetainedIndex<int>;

std::vector<std::pair<std::string, int>> found(const Index& index, std::string_view filter) {
  std::vector<std::pair<std::string, int>> out;
  index.find(filter, [&](std::string_view topic, const int& v) { out.emplace_back(topic, v); });
  return out;
}

TEST(RetainedIndex, SetGetEraseSize) {
  Index index;
  EXPECT_EQ(index.set("a/b", 1), Index::Change::kAdded);
  EXPECT_EQ(index.set("a/b", 2), Index::Change::kReplaced);
  EXPECT_EQ(index.set("a", 3), Index::Change::kAdded);
  EXPECT_EQ(index.size(), 2u);
  ASSERT_NE(index.get("a/b"), nullptr);
  EXPECT_EQ(*index.get("a/b"), 2);
  *index.get("a") = 4;
  EXPECT_EQ(*index.get("a"), 4);
  EXPECT_EQ(index.get("a/b/c"), nullptr);
  EXPECT_EQ(index.get("b"), nullptr);
  EXPECT_FALSE(index.erase("b"));
  EXPECT_FALSE(index.erase("a/b/c"));
  EXPECT_TRUE(index.erase("a"));
  EXPECT_FALSE(index.erase("a"));
  EXPECT_EQ(index.get("a"), nullptr);
  EXPECT_EQ(*index.get("a/b"), 2);
  EXPECT_EQ(index.size(), 1u);
}

TEST(RetainedIndex, RejectsInvalidTopicNames) {
  Index index;
  for (const char* bad : {"", "a/+", "#", "a#", "\xED\xA0\x80"})
    EXPECT_EQ(index.set(bad, 1), Index::Change::kInvalidTopic) << bad;
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(index.node_count(), 0u);
}

TEST(RetainedIndex, FindFollowsSpecRules) {
  Index index;
  const std::vector<std::pair<std::string, int>> topics = {
      {"sport", 1},
      {"sport/tennis", 2},
      {"sport/tennis/player1", 3},
      {"sport/tennis/player1/ranking", 4},
      {"sport/tennis/player2", 5},
      {"sport/", 6},
      {"/finance", 7},
      {"$SYS/monitor/Clients", 8},
      {"$SYS", 9},
      {"a//b", 10},
      {"a/$b", 11},
  };
  for (const auto& [t, v] : topics)
    ASSERT_EQ(index.set(t, v), Index::Change::kAdded) << t;

  EXPECT_THAT(found(index, "sport/tennis/player1/#"),
              UnorderedElementsAre(Pair("sport/tennis/player1", 3),
                                   Pair("sport/tennis/player1/ranking", 4)));
  EXPECT_THAT(
      found(index, "sport/#"),
      UnorderedElementsAre(Pair("sport", 1), Pair("sport/tennis", 2),
                           Pair("sport/tennis/player1", 3), Pair("sport/tennis/player1/ranking", 4),
                           Pair("sport/tennis/player2", 5), Pair("sport/", 6)));
  EXPECT_THAT(
      found(index, "sport/tennis/+"),
      UnorderedElementsAre(Pair("sport/tennis/player1", 3), Pair("sport/tennis/player2", 5)));
  EXPECT_THAT(found(index, "sport/+"),
              UnorderedElementsAre(Pair("sport/tennis", 2), Pair("sport/", 6)));
  EXPECT_THAT(found(index, "+/+"), UnorderedElementsAre(Pair("sport/tennis", 2), Pair("sport/", 6),
                                                        Pair("/finance", 7), Pair("a/$b", 11)));
  EXPECT_THAT(found(index, "/+"), UnorderedElementsAre(Pair("/finance", 7)));
  EXPECT_THAT(found(index, "+"), UnorderedElementsAre(Pair("sport", 1)));
  EXPECT_THAT(found(index, "a/+/b"), UnorderedElementsAre(Pair("a//b", 10)));
  EXPECT_THAT(found(index, "+/monitor/Clients"), IsEmpty());
  EXPECT_THAT(found(index, "$SYS/#"),
              UnorderedElementsAre(Pair("$SYS", 9), Pair("$SYS/monitor/Clients", 8)));
  EXPECT_THAT(found(index, "$SYS/monitor/+"),
              UnorderedElementsAre(Pair("$SYS/monitor/Clients", 8)));
  EXPECT_THAT(found(index, "sport/tennis"), UnorderedElementsAre(Pair("sport/tennis", 2)));
  EXPECT_THAT(found(index, "sport/golf"), IsEmpty());
  EXPECT_THAT(found(index, "sport/tennis/player1/ranking/x"), IsEmpty());

  // "#" matches everything except the '$' topics.
  std::vector<std::pair<std::string, int>> expected;
  for (const auto& tv : topics) {
    if (tv.first[0] != '$') expected.push_back(tv);
  }
  EXPECT_THAT(found(index, "#"), ::testing::UnorderedElementsAreArray(expected));
}

TEST(RetainedIndex, EmptyLevelsRoundTrip) {
  Index index;
  const std::vector<std::string> topics = {"/", "//", "a/", "/a", "a//", "a", "a/b"};
  for (size_t i = 0; i < topics.size(); ++i)
    ASSERT_EQ(index.set(topics[i], static_cast<int>(i)), Index::Change::kAdded);
  std::vector<std::string> names;
  index.find("#", [&](std::string_view t, const int& v) {
    EXPECT_EQ(topics[static_cast<size_t>(v)], t);
    names.emplace_back(t);
  });
  EXPECT_THAT(names, ::testing::UnorderedElementsAreArray(topics));
  EXPECT_THAT(found(index, "+/+"),
              UnorderedElementsAre(Pair("/", 0), Pair("a/", 2), Pair("/a", 3), Pair("a/b", 6)));
  EXPECT_THAT(found(index, "+//"), UnorderedElementsAre(Pair("//", 1), Pair("a//", 4)));
}

TEST(RetainedIndex, PruningLeavesNoNodes) {
  Index index;
  ASSERT_EQ(index.set("a/b/c", 1), Index::Change::kAdded);
  EXPECT_EQ(index.node_count(), 3u);
  ASSERT_EQ(index.set("a/b", 2), Index::Change::kAdded);
  ASSERT_EQ(index.set("a/x", 3), Index::Change::kAdded);
  EXPECT_EQ(index.node_count(), 4u);
  EXPECT_TRUE(index.erase("a/b"));
  EXPECT_EQ(index.node_count(), 4u);  // b still leads to c
  EXPECT_TRUE(index.erase("a/b/c"));
  EXPECT_EQ(index.node_count(), 2u);  // a, x
  EXPECT_TRUE(index.erase("a/x"));
  EXPECT_EQ(index.node_count(), 0u);

  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 2000; ++i)
      ASSERT_EQ(index.set("dev/" + std::to_string(i) + "/state/" + std::to_string(round), i),
                Index::Change::kAdded);
    EXPECT_EQ(index.size(), 2000u);
    for (int i = 0; i < 2000; ++i)
      ASSERT_TRUE(index.erase("dev/" + std::to_string(i) + "/state/" + std::to_string(round)));
    EXPECT_EQ(index.size(), 0u);
    EXPECT_EQ(index.node_count(), 0u);
  }
}

TEST(RetainedIndex, DeepTopics) {
  Index index;
  std::string deep;
  for (int i = 0; i < 30000; ++i)
    deep += i == 0 ? "x" : "/x";
  ASSERT_EQ(index.set(deep, 1), Index::Change::kAdded);
  EXPECT_THAT(found(index, "#"), UnorderedElementsAre(Pair(deep, 1)));
  EXPECT_THAT(found(index, "x/#"), UnorderedElementsAre(Pair(deep, 1)));
  EXPECT_THAT(found(index, deep), UnorderedElementsAre(Pair(deep, 1)));
  EXPECT_TRUE(index.erase(deep));
  EXPECT_EQ(index.node_count(), 0u);
  ASSERT_EQ(index.set(deep, 2), Index::Change::kAdded);  // destroyed by ~RetainedIndex
}

}  // namespace
}  // namespace imet::mqtt
