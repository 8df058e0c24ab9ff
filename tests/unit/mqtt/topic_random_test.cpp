// Randomized differential tests. SubscriptionTree::match and RetainedIndex::find are compared with
// a brute-force oracle that applies topic_matches to every stored filter/topic, and topic_matches
// itself with an independent recursive matcher written from the spec text, over thousands of
// random filters and topics from a small alphabet that includes '$', '+', '#' and empty levels.
// Seeds are fixed so failures replay.
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "mqtt/topic/matching.h"
#include "mqtt/topic/retained_index.h"
#include "mqtt/topic/subscription_tree.h"
#include "mqtt/topic/validation.h"

namespace imet::mqtt {
namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == '/') {
      out.emplace_back();
    } else {
      out.back().push_back(c);
    }
  }
  return out;
}

// Spec-text matcher: level lists, recursion, and the '$' rule as a separate check.
bool reference_match(const std::vector<std::string>& f, size_t i, const std::vector<std::string>& n,
                     size_t j) {
  if (i == f.size()) return j == n.size();
  if (f[i] == "#") return true;  // zero or more levels
  if (j == n.size()) return false;
  if (f[i] != "+" && f[i] != n[j]) return false;
  return reference_match(f, i + 1, n, j + 1);
}
bool reference_matches(const std::string& filter, const std::string& name) {
  const auto f = split(filter);
  const auto n = split(name);
  if (name[0] == '$' && (f[0] == "+" || f[0] == "#")) return false;
  return reference_match(f, 0, n, 0);
}

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}
  size_t below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  std::string name() {
    static const std::vector<std::string> kLevels = {"a", "b", "", "$a", "$", "ab", "c"};
    std::string s;
    const size_t levels = 1 + below(4);
    for (size_t i = 0; i < levels; ++i) {
      if (i > 0) s += '/';
      s += kLevels[below(kLevels.size())];
    }
    return s.empty() ? "a" : s;  // "" is not a valid topic name (but "/" is)
  }
  std::string filter() {
    static const std::vector<std::string> kLevels = {"a", "b", "", "$a", "+", "+", "ab"};
    std::string s;
    const size_t levels = 1 + below(4);
    for (size_t i = 0; i < levels; ++i) {
      if (i > 0) s += '/';
      s += (i + 1 == levels && below(4) == 0) ? "#" : kLevels[below(kLevels.size())];
    }
    return s.empty() ? "#" : s;
  }

 private:
  std::mt19937 rng_;
};

TEST(TopicRandom, TopicMatchesAgreesWithReference) {
  Gen gen(12345);
  for (int i = 0; i < 20000; ++i) {
    const std::string f = gen.filter();
    const std::string n = gen.name();
    ASSERT_TRUE(validate_topic_filter(f).ok()) << f;
    ASSERT_TRUE(validate_topic_name(n).ok()) << n;
    ASSERT_EQ(topic_matches(f, n), reference_matches(f, n)) << f << " vs " << n;
  }
}

using RandomTree = SubscriptionTree<uint32_t, uint32_t>;
// (key, value, filter) for plain subscriptions; (group, filter) -> members for shared ones.
using PlainHits = std::multiset<std::tuple<uint32_t, uint32_t, std::string>>;
using GroupHits = std::map<std::pair<std::string, std::string>, std::set<uint32_t>>;

struct Model {
  std::map<std::pair<std::string, uint32_t>, uint32_t> plain;  // (filter, key) -> value
  std::map<std::tuple<std::string, std::string, uint32_t>, uint32_t> shared;  // (group, f, key)

  void expect(const std::string& topic, PlainHits& p, GroupHits& g) const {
    for (const auto& [fk, v] : plain) {
      if (topic_matches(fk.first, topic)) p.emplace(fk.second, v, fk.first);
    }
    for (const auto& [gfk, v] : shared) {
      if (topic_matches(std::get<1>(gfk), topic)) {
        g[{std::get<0>(gfk), std::get<1>(gfk)}].insert(std::get<2>(gfk));
      }
    }
  }
};

void check_tree(RandomTree& tree, const Model& model, Gen& gen, int topics) {
  for (int i = 0; i < topics; ++i) {
    const std::string topic = gen.name();
    PlainHits want_p, got_p;
    GroupHits want_g, got_g;
    model.expect(topic, want_p, want_g);
    tree.match(
        topic,
        [&](const uint32_t& k, const uint32_t& v, const RandomTree::FilterRef& f) {
          got_p.emplace(k, v, f.str());
        },
        [&](RandomTree::SharedGroup& g) {
          auto& members = got_g[{std::string(g.name()), g.filter().str()}];
          EXPECT_TRUE(members.empty()) << "group reported twice for " << topic;
          for (const auto& m : g)
            members.insert(m.key);
        });
    ASSERT_EQ(got_p, want_p) << "topic " << topic;
    ASSERT_EQ(got_g, want_g) << "topic " << topic;
  }
  size_t expected_size = model.plain.size() + model.shared.size();
  ASSERT_EQ(tree.size(), expected_size);
}

TEST(TopicRandom, SubscriptionTreeMatchesOracle) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    Gen gen(seed);
    RandomTree tree;
    Model model;
    std::vector<std::string> raw_filters;  // to erase later
    for (int i = 0; i < 3000; ++i) {
      const std::string f = gen.filter();
      const auto key = static_cast<uint32_t>(gen.below(40));
      const auto value = static_cast<uint32_t>(gen.below(1000));
      if (gen.below(4) == 0) {
        const std::string group = gen.below(2) == 0 ? "g1" : "g2";
        const std::string raw = "$share/" + group + "/" + f;
        const bool fresh = model.shared.insert_or_assign({group, f, key}, value).second;
        ASSERT_EQ(tree.insert(raw, key, value),
                  fresh ? RandomTree::Change::kAdded : RandomTree::Change::kReplaced);
        raw_filters.push_back(raw);
      } else {
        const bool fresh = model.plain.insert_or_assign({f, key}, value).second;
        ASSERT_EQ(tree.insert(f, key, value),
                  fresh ? RandomTree::Change::kAdded : RandomTree::Change::kReplaced);
        raw_filters.push_back(f);
      }
    }
    check_tree(tree, model, gen, 1000);

    // Erase about half (random keys, so some erases miss), re-check, then erase everything.
    for (const std::string& raw : raw_filters) {
      if (gen.below(2) == 0) continue;
      const auto key = static_cast<uint32_t>(gen.below(40));
      const auto shared = split_shared_subscription(raw);
      const bool present =
          shared
              ? model.shared.erase({std::string(shared->group), std::string(shared->filter), key})
              : model.plain.erase({raw, key});
      ASSERT_EQ(tree.erase(raw, key), present) << raw << " key " << key;
    }
    check_tree(tree, model, gen, 1000);

    for (uint32_t key = 0; key < 40; ++key)
      tree.erase_all(key, raw_filters);
    EXPECT_EQ(tree.size(), 0u);
    EXPECT_EQ(tree.node_count(), 0u);
    EXPECT_EQ(tree.shared_group_count(), 0u);
  }
}

void check_index(const RetainedIndex<uint32_t>& index, const std::map<std::string, uint32_t>& model,
                 Gen& gen, int filters) {
  for (int i = 0; i < filters; ++i) {
    const std::string filter = gen.filter();
    std::map<std::string, uint32_t> want, got;
    for (const auto& [t, v] : model) {
      if (topic_matches(filter, t)) want.emplace(t, v);
    }
    index.find(filter, [&](std::string_view t, const uint32_t& v) {
      EXPECT_TRUE(got.emplace(std::string(t), v).second) << "reported twice: " << t;
    });
    ASSERT_EQ(got, want) << "filter " << filter;
  }
  ASSERT_EQ(index.size(), model.size());
}

TEST(TopicRandom, RetainedIndexMatchesOracle) {
  for (uint32_t seed : {7u, 8u, 9u}) {
    Gen gen(seed);
    RetainedIndex<uint32_t> index;
    std::map<std::string, uint32_t> model;
    for (int i = 0; i < 3000; ++i) {
      const std::string t = gen.name();
      const auto v = static_cast<uint32_t>(gen.below(1000));
      const bool fresh = model.insert_or_assign(t, v).second;
      ASSERT_EQ(index.set(t, v), fresh ? RetainedIndex<uint32_t>::Change::kAdded
                                       : RetainedIndex<uint32_t>::Change::kReplaced);
    }
    check_index(index, model, gen, 1000);
    for (int i = 0; i < 3000; ++i) {
      const std::string t = gen.name();
      ASSERT_EQ(index.erase(t), model.erase(t) == 1) << t;
    }
    check_index(index, model, gen, 1000);
    for (const auto& [t, v] : model)
      ASSERT_TRUE(index.erase(t)) << t;
    EXPECT_EQ(index.size(), 0u);
    EXPECT_EQ(index.node_count(), 0u);
  }
}

}  // namespace
}  // namespace imet::mqtt
