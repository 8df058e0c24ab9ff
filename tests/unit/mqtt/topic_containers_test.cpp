// The trie's internal containers (mqtt/topic/detail): PositionIndex, ChildTable and KeyedVector
// against std::map models under random insert/erase sequences that cross the linear/indexed
// thresholds in both directions, plus adversarial hashes that all collide.
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mqtt/topic/detail/position_index.h"
#include "mqtt/topic/detail/trie_parts.h"

namespace imet::mqtt::detail {
namespace {

struct TestNode {
  TestNode(uint32_t len, int v) : name_len(len), value(v) {}
  std::string_view name() const { return {reinterpret_cast<const char*>(this + 1), name_len}; }
  uint32_t name_len;
  int value;
};

TEST(TopicContainers, ChildTableAgreesWithMap) {
  std::mt19937 rng(99);
  ChildTable<TestNode> table;
  std::map<std::string, int> model;
  for (int step = 0; step < 40000; ++step) {
    // Phases grow to ~120 children, shrink to a few, grow again: index built and dropped.
    const bool grow = (step / 5000) % 2 == 0;
    const std::string name = "n" + std::to_string(rng() % 150);
    const bool insert = grow ? rng() % 4 != 0 : rng() % 4 == 0;
    if (insert) {
      if (model.count(name) != 0) continue;
      const int v = static_cast<int>(rng() % 1000);
      model[name] = v;
      TestNode* n = table.insert(make_node<TestNode>(name, v));
      ASSERT_EQ(n->name(), name);
    } else {
      TestNode* n = table.find(name);
      ASSERT_EQ(n != nullptr, model.count(name) == 1) << name;
      if (n != nullptr) {
        table.erase(n);
        model.erase(name);
      }
    }
    ASSERT_EQ(table.size(), model.size());
    ASSERT_EQ(table.empty(), model.empty());
    if (step % 97 == 0) {
      for (int i = 0; i < 150; ++i) {
        const std::string probe = "n" + std::to_string(i);
        const TestNode* n = table.find(probe);
        const auto it = model.find(probe);
        ASSERT_EQ(n != nullptr, it != model.end()) << probe;
        if (n != nullptr) {
          EXPECT_EQ(n->value, it->second);
        }
      }
      std::map<std::string, int> seen;
      table.for_each([&](const TestNode* n) { seen.emplace(std::string(n->name()), n->value); });
      ASSERT_EQ(seen, model);
    }
  }
  std::vector<NodePtr<TestNode>> out;
  table.release_into(out);
  EXPECT_EQ(out.size(), model.size());
  EXPECT_TRUE(table.empty());
}

// Every key hashes to the same value: lookups degrade to probing but stay correct.
struct CollidingHash {
  size_t operator()(uint64_t) const { return 42; }
};

template <typename Hash>
void keyed_vector_agrees_with_map(uint32_t seed) {
  std::mt19937 rng(seed);
  KeyedVector<uint64_t, int, Hash, std::equal_to<>> kv;
  std::map<uint64_t, int> model;
  for (int step = 0; step < 30000; ++step) {
    const bool grow = (step / 3000) % 2 == 0;
    const uint64_t key = (rng() % 100) << 20;  // multiples of 2^20: bad for an identity hash
    if (grow ? rng() % 4 != 0 : rng() % 4 == 0) {
      const int v = static_cast<int>(rng() % 1000);
      const bool fresh = model.insert_or_assign(key, v).second;
      ASSERT_EQ(kv.insert_or_assign(key, v), fresh);
    } else {
      const bool present = model.erase(key) == 1;
      ASSERT_EQ(kv.erase(key) != decltype(kv)::kNone, present);
    }
    ASSERT_EQ(kv.size(), model.size());
    if (step % 89 == 0) {
      for (uint64_t k = 0; k < 100; ++k) {
        const int* v = kv.find(k << 20);
        const auto it = model.find(k << 20);
        ASSERT_EQ(v != nullptr, it != model.end());
        if (v != nullptr) {
          EXPECT_EQ(*v, it->second);
        }
      }
      std::map<uint64_t, int> seen;
      for (const auto& m : kv)
        seen.emplace(m.key, m.value);
      ASSERT_EQ(seen, model);
    }
  }
}

TEST(TopicContainers, KeyedVectorAgreesWithMap) {
  keyed_vector_agrees_with_map<std::hash<uint64_t>>(5);
}

TEST(TopicContainers, KeyedVectorWithCollidingHashes) {
  keyed_vector_agrees_with_map<CollidingHash>(6);
}

TEST(TopicContainers, PositionIndexBackwardShiftDeletion) {
  // Hashes chosen to collide on the home slot and to wrap around the end of the table.
  std::mt19937 rng(3);
  PositionIndex index;
  std::map<size_t, uint32_t> model;  // position -> hash
  for (int step = 0; step < 20000; ++step) {
    if (model.size() < 40 && rng() % 3 != 0) {
      size_t pos = rng() % 1000;
      if (model.count(pos) != 0) continue;
      // Home slots at the very end or the very start of the table, whatever its size.
      const uint32_t h =
          rng() % 2 == 0 ? 0xFFFFFFFFu - rng() % 3 : static_cast<uint32_t>(rng() % 3);
      model[pos] = h;
      index.insert(h, pos);
    } else if (!model.empty()) {
      auto it = model.begin();
      std::advance(it, static_cast<long>(rng() % model.size()));
      index.erase(it->second, it->first);
      model.erase(it);
    }
    ASSERT_EQ(index.size(), model.size());
    for (const auto& [pos, h] : model) {
      const size_t p = pos;
      ASSERT_EQ(index.find(h, [&](size_t candidate) { return candidate == p; }), pos);
    }
  }
}

}  // namespace
}  // namespace imet::mqtt::detail
