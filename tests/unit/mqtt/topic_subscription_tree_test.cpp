// SubscriptionTree: insert/replace/erase, matching with the '$' rule, per-filter reporting,
// shared groups (round-robin fairness, skipping unavailable members), node pruning and deep
// filters. (Randomized comparison against topic_matches is in topic_random_test.cpp.)
#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mqtt/topic/subscription_tree.h"

namespace imet::mqtt {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

struct Options {
  uint8_t qos = 0;
  bool operator==(const Options&) const = default;
};
using Tree = SubscriptionTree<uint64_t, Options>;
using Hit = std::tuple<uint64_t, int, std::string>;  // key, qos, filter

std::vector<Hit> plain_hits(const Tree& tree, std::string_view topic) {
  std::vector<Hit> hits;
  tree.match(
      topic,
      [&](const uint64_t& key, const Options& o, const Tree::FilterRef& filter) {
        hits.emplace_back(key, o.qos, filter.str());
      },
      [](const Tree::SharedGroup&) {});
  return hits;
}

std::vector<std::pair<std::string, std::string>> group_hits(Tree& tree, std::string_view topic) {
  std::vector<std::pair<std::string, std::string>> hits;
  tree.match(
      topic, [](const uint64_t&, const Options&, const Tree::FilterRef&) {},
      [&](Tree::SharedGroup& g) { hits.emplace_back(std::string(g.name()), g.filter().str()); });
  return hits;
}

TEST(SubscriptionTree, InsertReplaceFindErase) {
  Tree tree;
  EXPECT_TRUE(tree.empty());
  EXPECT_EQ(tree.insert("a/b", 1, {1}), Tree::Change::kAdded);
  EXPECT_EQ(tree.insert("a/b", 2, {0}), Tree::Change::kAdded);
  EXPECT_EQ(tree.insert("a/b", 1, {2}), Tree::Change::kReplaced);
  EXPECT_EQ(tree.size(), 2u);
  ASSERT_NE(tree.find("a/b", 1), nullptr);
  EXPECT_EQ(tree.find("a/b", 1)->qos, 2);
  EXPECT_EQ(tree.find("a/b", 3), nullptr);
  EXPECT_EQ(tree.find("a", 1), nullptr);
  EXPECT_EQ(tree.find("a/b/c", 1), nullptr);

  EXPECT_FALSE(tree.erase("a/b", 3));
  EXPECT_FALSE(tree.erase("a/c", 1));
  EXPECT_FALSE(tree.erase("a/#", 1));
  EXPECT_TRUE(tree.erase("a/b", 1));
  EXPECT_FALSE(tree.erase("a/b", 1));
  EXPECT_EQ(tree.size(), 1u);
  EXPECT_THAT(plain_hits(tree, "a/b"), ElementsAre(Hit{2, 0, "a/b"}));
}

TEST(SubscriptionTree, RejectsInvalidFilters) {
  Tree tree;
  for (const char* bad :
       {"", "a/#/b", "a+", "sport/tennis#", "$share/g", "$share//a", "$share/a+b/x", "\xC0\x80"}) {
    EXPECT_EQ(tree.insert(bad, 1, {}), Tree::Change::kInvalidFilter) << bad;
    EXPECT_FALSE(tree.erase(bad, 1)) << bad;
    EXPECT_EQ(tree.find(bad, 1), nullptr) << bad;
  }
  EXPECT_EQ(tree.size(), 0u);
  EXPECT_EQ(tree.node_count(), 0u);
}

TEST(SubscriptionTree, MatchesSpecExamplesAndReportsEachFilter) {
  Tree tree;
  ASSERT_EQ(tree.insert("sport/tennis/player1/#", 1, {1}), Tree::Change::kAdded);
  ASSERT_EQ(tree.insert("sport/#", 2, {2}), Tree::Change::kAdded);
  ASSERT_EQ(tree.insert("sport/tennis/+", 3, {0}), Tree::Change::kAdded);
  ASSERT_EQ(tree.insert("+/+", 4, {0}), Tree::Change::kAdded);
  ASSERT_EQ(tree.insert("#", 5, {0}), Tree::Change::kAdded);
  ASSERT_EQ(tree.insert("$SYS/#", 6, {0}), Tree::Change::kAdded);
  ASSERT_EQ(tree.insert("+/monitor/Clients", 7, {0}), Tree::Change::kAdded);
  // One subscriber with two overlapping filters is reported once per filter.
  ASSERT_EQ(tree.insert("sport/+", 8, {0}), Tree::Change::kAdded);
  ASSERT_EQ(tree.insert("sport/tennis", 8, {1}), Tree::Change::kAdded);

  EXPECT_THAT(plain_hits(tree, "sport"), UnorderedElementsAre(Hit{2, 2, "sport/#"},  //
                                                              Hit{5, 0, "#"}));
  EXPECT_THAT(plain_hits(tree, "sport/tennis"),
              UnorderedElementsAre(Hit{2, 2, "sport/#"}, Hit{4, 0, "+/+"}, Hit{5, 0, "#"},
                                   Hit{8, 0, "sport/+"}, Hit{8, 1, "sport/tennis"}));
  EXPECT_THAT(plain_hits(tree, "sport/tennis/player1"),
              UnorderedElementsAre(Hit{1, 1, "sport/tennis/player1/#"}, Hit{2, 2, "sport/#"},
                                   Hit{3, 0, "sport/tennis/+"}, Hit{5, 0, "#"}));
  EXPECT_THAT(plain_hits(tree, "sport/tennis/player1/score/wimbledon"),
              UnorderedElementsAre(Hit{1, 1, "sport/tennis/player1/#"}, Hit{2, 2, "sport/#"},
                                   Hit{5, 0, "#"}));
  EXPECT_THAT(plain_hits(tree, "/finance"), UnorderedElementsAre(Hit{4, 0, "+/+"}, Hit{5, 0, "#"}));
  EXPECT_THAT(plain_hits(tree, "$SYS/monitor/Clients"), UnorderedElementsAre(Hit{6, 0, "$SYS/#"}));
  EXPECT_THAT(plain_hits(tree, "$SYS"), UnorderedElementsAre(Hit{6, 0, "$SYS/#"}));
  EXPECT_THAT(plain_hits(tree, "$other/x"), IsEmpty());
  EXPECT_THAT(plain_hits(tree, "x/monitor/Clients"),
              UnorderedElementsAre(Hit{5, 0, "#"}, Hit{7, 0, "+/monitor/Clients"}));
}

TEST(SubscriptionTree, NodeCountsAndPruning) {
  Tree tree;
  ASSERT_EQ(tree.insert("a/b/c", 1, {}), Tree::Change::kAdded);
  EXPECT_EQ(tree.node_count(), 3u);  // a, b, c
  ASSERT_EQ(tree.insert("a/+/c", 1, {}), Tree::Change::kAdded);
  EXPECT_EQ(tree.node_count(), 5u);  // + and its c
  ASSERT_EQ(tree.insert("a/#", 1, {}), Tree::Change::kAdded);
  ASSERT_EQ(tree.insert("#", 1, {}), Tree::Change::kAdded);
  EXPECT_EQ(tree.node_count(), 5u);  // '#' entries live on the parent node
  ASSERT_EQ(tree.insert("$share/g/a/b/c", 2, {}), Tree::Change::kAdded);
  EXPECT_EQ(tree.node_count(), 5u);
  EXPECT_EQ(tree.size(), 5u);

  EXPECT_TRUE(tree.erase("a/b/c", 1));
  EXPECT_EQ(tree.node_count(), 5u);  // still held by the shared subscription
  EXPECT_TRUE(tree.erase("$share/g/a/b/c", 2));
  EXPECT_EQ(tree.node_count(), 3u);  // b and c pruned; a, +, c stay
  EXPECT_TRUE(tree.erase("a/+/c", 1));
  EXPECT_EQ(tree.node_count(), 1u);  // a stays for "a/#"
  EXPECT_TRUE(tree.erase("a/#", 1));
  EXPECT_EQ(tree.node_count(), 0u);
  EXPECT_EQ(tree.size(), 1u);
  EXPECT_TRUE(tree.erase("#", 1));
  EXPECT_TRUE(tree.empty());
}

TEST(SubscriptionTree, ManySubscribeUnsubscribeCyclesLeaveNothingBehind) {
  Tree tree;
  for (int round = 0; round < 20; ++round) {
    std::vector<std::pair<std::string, uint64_t>> subs;
    for (uint64_t i = 0; i < 500; ++i) {
      const std::string id = std::to_string(round * 1000 + static_cast<int>(i));
      subs.emplace_back("dev/" + id + "/telemetry", i);
      subs.emplace_back("dev/" + id + "/#", i);
      subs.emplace_back("dev/+/" + id, i);
      subs.emplace_back("$share/grp" + std::to_string(i % 7) + "/dev/" + id + "/cmd", i);
      subs.emplace_back("dev/+/telemetry", i);
    }
    for (const auto& [f, k] : subs)
      ASSERT_NE(tree.insert(f, k, {1}), Tree::Change::kInvalidFilter);
    EXPECT_EQ(tree.size(), 500u * 5);
    EXPECT_GT(tree.node_count(), 1000u);
    for (const auto& [f, k] : subs)
      ASSERT_TRUE(tree.erase(f, k)) << f;
    EXPECT_EQ(tree.size(), 0u);
    EXPECT_EQ(tree.node_count(), 0u);
    EXPECT_EQ(tree.shared_group_count(), 0u);
  }
}

TEST(SubscriptionTree, EraseAllForSubscriber) {
  Tree tree;
  const std::vector<std::string> mine = {"a/b", "a/+", "#", "$share/g/a/#", "not/subscribed"};
  for (size_t i = 0; i + 1 < mine.size(); ++i)
    ASSERT_EQ(tree.insert(mine[i], 7, {}), Tree::Change::kAdded);
  ASSERT_EQ(tree.insert("a/b", 8, {}), Tree::Change::kAdded);
  ASSERT_EQ(tree.insert("$share/g/a/#", 8, {}), Tree::Change::kAdded);
  EXPECT_EQ(tree.erase_all(7, mine), 4u);
  EXPECT_EQ(tree.size(), 2u);
  EXPECT_THAT(plain_hits(tree, "a/b"), ElementsAre(Hit{8, 0, "a/b"}));
  EXPECT_EQ(tree.shared_group_count(), 1u);
}

TEST(SubscriptionTree, SharedGroupsAreReportedOncePerGroupAndFilter) {
  Tree tree;
  for (uint64_t k : {1, 2, 3})
    ASSERT_EQ(tree.insert("$share/g/a/+", k, {}), Tree::Change::kAdded);
  ASSERT_EQ(tree.insert("$share/h/a/+", 4, {}), Tree::Change::kAdded);
  ASSERT_EQ(tree.insert("$share/g/a/#", 5, {}), Tree::Change::kAdded);  // same name, other filter
  ASSERT_EQ(tree.insert("a/+", 1, {}), Tree::Change::kAdded);  // plain subscription as well
  EXPECT_EQ(tree.insert("$share/g/a/+", 2, {2}), Tree::Change::kReplaced);
  EXPECT_EQ(tree.size(), 6u);
  EXPECT_EQ(tree.shared_group_count(), 3u);
  ASSERT_NE(tree.find("$share/g/a/+", 2), nullptr);
  EXPECT_EQ(tree.find("$share/g/a/+", 2)->qos, 2);
  EXPECT_EQ(tree.find("$share/h/a/+", 2), nullptr);

  EXPECT_THAT(group_hits(tree, "a/x"),
              UnorderedElementsAre(Pair("g", "a/+"), Pair("h", "a/+"), Pair("g", "a/#")));
  EXPECT_THAT(plain_hits(tree, "a/x"), ElementsAre(Hit{1, 0, "a/+"}));
  EXPECT_THAT(group_hits(tree, "a"), ElementsAre(Pair("g", "a/#")));
  EXPECT_THAT(group_hits(tree, "b/x"), IsEmpty());

  // The last member leaving deletes the group.
  EXPECT_TRUE(tree.erase("$share/h/a/+", 4));
  EXPECT_FALSE(tree.erase("$share/h/a/+", 4));
  EXPECT_EQ(tree.shared_group_count(), 2u);
  EXPECT_THAT(group_hits(tree, "a/x"), UnorderedElementsAre(Pair("g", "a/+"), Pair("g", "a/#")));
}

// Picks `n` members from the single group matching `topic`, counting picks per key.
std::map<uint64_t, int> pick(Tree& tree, std::string_view topic, int n,
                             const std::vector<uint64_t>& unavailable = {}) {
  std::map<uint64_t, int> counts;
  for (int i = 0; i < n; ++i) {
    int groups = 0;
    tree.match(
        topic, [](const uint64_t&, const Options&, const Tree::FilterRef&) {},
        [&](Tree::SharedGroup& g) {
          ++groups;
          const Tree::Member* m = g.next_member([&](const Tree::Member& c) {
            return std::find(unavailable.begin(), unavailable.end(), c.key) == unavailable.end();
          });
          if (m != nullptr) ++counts[m->key];
        });
    EXPECT_EQ(groups, 1);
  }
  return counts;
}

TEST(SubscriptionTree, SharedGroupRoundRobinIsFair) {
  Tree tree;
  for (uint64_t k = 1; k <= 5; ++k)
    ASSERT_EQ(tree.insert("$share/workers/jobs/+", k, {}), Tree::Change::kAdded);
  // Strict rotation: every window of 5 consecutive picks hits each member once.
  std::vector<uint64_t> order;
  for (int i = 0; i < 15; ++i) {
    tree.match(
        "jobs/1", [](const uint64_t&, const Options&, const Tree::FilterRef&) {},
        [&](Tree::SharedGroup& g) { order.push_back(g.next_member()->key); });
  }
  for (size_t w = 0; w + 5 <= order.size(); ++w) {
    std::set<uint64_t> window(order.begin() + static_cast<long>(w),
                              order.begin() + static_cast<long>(w) + 5);
    EXPECT_EQ(window.size(), 5u) << "window at " << w;
  }
  const auto counts = pick(tree, "jobs/2", 500);
  for (uint64_t k = 1; k <= 5; ++k)
    EXPECT_EQ(counts.at(k), 100) << k;
}

TEST(SubscriptionTree, SharedGroupSkipsUnavailableMembers) {
  Tree tree;
  for (uint64_t k = 1; k <= 4; ++k)
    ASSERT_EQ(tree.insert("$share/g/t", k, {}), Tree::Change::kAdded);
  auto counts = pick(tree, "t", 300, {2, 4});
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[1], 150);
  EXPECT_EQ(counts[3], 150);
  counts = pick(tree, "t", 10, {1, 2, 3});
  EXPECT_THAT(counts, ElementsAre(Pair(4, 10)));
  counts = pick(tree, "t", 10, {1, 2, 3, 4});  // nobody available: no pick
  EXPECT_THAT(counts, IsEmpty());
}

TEST(SubscriptionTree, SharedGroupStaysFairAfterMembersLeave) {
  Tree tree;
  for (uint64_t k = 1; k <= 6; ++k)
    ASSERT_EQ(tree.insert("$share/g/t", k, {}), Tree::Change::kAdded);
  (void)pick(tree, "t", 4);  // move the cursor somewhere in the middle
  ASSERT_TRUE(tree.erase("$share/g/t", 2));
  ASSERT_TRUE(tree.erase("$share/g/t", 6));
  const auto counts = pick(tree, "t", 400);
  EXPECT_THAT(counts, ElementsAre(Pair(1, 100), Pair(3, 100), Pair(4, 100), Pair(5, 100)));
}

TEST(SubscriptionTree, ConstMatchGivesConstGroups) {
  Tree tree;
  ASSERT_EQ(tree.insert("$share/g/x", 1, {}), Tree::Change::kAdded);
  const Tree& view = tree;
  int seen = 0;
  view.match(
      "x", [](const uint64_t&, const Options&, const Tree::FilterRef&) {},
      [&](const Tree::SharedGroup& g) {
        seen += static_cast<int>(g.size());
        EXPECT_NE(g.find(1), nullptr);
      });
  EXPECT_EQ(seen, 1);
}

TEST(SubscriptionTree, StringKeysAndLargeFanOut) {
  using StringTree = SubscriptionTree<std::string, int>;
  StringTree tree;
  for (int i = 0; i < 1000; ++i)  // crosses the index threshold of the subscriber table
    ASSERT_EQ(tree.insert("fan/out", "client-" + std::to_string(i), i), StringTree::Change::kAdded);
  for (int i = 0; i < 1000; i += 2)
    ASSERT_TRUE(tree.erase("fan/out", "client-" + std::to_string(i)));
  std::map<std::string, int> seen;
  tree.match(
      "fan/out", [&](const std::string& k, const int& v, auto&&) { seen[k] = v; }, [](auto&) {});
  ASSERT_EQ(seen.size(), 500u);
  for (int i = 1; i < 1000; i += 2)
    EXPECT_EQ(seen.at("client-" + std::to_string(i)), i);
}

TEST(SubscriptionTree, DeepFiltersNeitherOverflowTheStackNorLeak) {
  Tree tree;
  // "a/a/.../a/+" for every depth up to 300: a '+' branch at every level of the exact path, so the
  // pending-branch stack grows past its inline capacity.
  std::string prefix;
  for (int depth = 1; depth <= 300; ++depth) {
    ASSERT_EQ(tree.insert(prefix + "+", static_cast<uint64_t>(depth), {}), Tree::Change::kAdded);
    prefix += "a/";
  }
  const std::string topic = prefix.substr(0, prefix.size() - 1);  // 300 levels of "a"
  ASSERT_EQ(tree.insert(topic, 1000, {}), Tree::Change::kAdded);
  EXPECT_THAT(plain_hits(tree, topic),
              UnorderedElementsAre(Hit{300, 0, prefix.substr(0, prefix.size() - 2) + "+"},
                                   Hit{1000, 0, topic}));
  // A 30,000-level filter: teardown is iterative.
  std::string deep;
  for (int i = 0; i < 30000; ++i)
    deep += i == 0 ? "x" : "/x";
  ASSERT_EQ(tree.insert(deep, 1, {}), Tree::Change::kAdded);
  EXPECT_THAT(plain_hits(tree, deep), ElementsAre(Hit{1, 0, deep}));
  tree.clear();
  EXPECT_EQ(tree.node_count(), 0u);
  ASSERT_EQ(tree.insert(deep, 1, {}), Tree::Change::kAdded);  // destroyed by ~SubscriptionTree
  EXPECT_TRUE(tree.erase(deep, 1));
  EXPECT_EQ(tree.node_count(), 0u);
  ASSERT_EQ(tree.insert(deep, 1, {}), Tree::Change::kAdded);
}

}  // namespace
}  // namespace imet::mqtt
