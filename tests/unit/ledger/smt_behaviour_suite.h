// The state tree's behaviour suite, shared by every NodeStore: a typed GoogleTest suite
// (SmtBehaviour) checked against the reference of smt_test_support.h. Include it in exactly one
// file per test binary: smt_behaviour_test.cpp instantiates it for MemoryNodeStore, and
// tests/unit/store/smt_node_store_test.cpp for the KvStore-backed store::SmtNodeStore (over
// MemoryStore and RocksStore).
// A backend type provides: `ledger::smt::NodeStore& store()`, `size_t node_count()` (all nodes
// stored), `void reopen()` (close and reopen the underlying storage; no-op in memory), and
// `static constexpr int kRandomRounds` (how many random histories to check).
// Thread-safety: test code, single-threaded. Invariants: none beyond the tests' own.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "smt_test_support.h"

namespace imet::ledger::smt::testing {

// ---- the typed suite ----

template <typename Backend>
class SmtBehaviour : public ::testing::Test {
 protected:
  NodeStore& store() { return backend_.store(); }
  SparseMerkleTree tree() { return SparseMerkleTree(store()); }

  // apply + write; returns the result (with its batch, for inspection).
  UpdateResult commit(std::optional<Version> base, Version version,
                      const std::vector<Update>& updates) {
    auto r = tree().apply(base, version, updates);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok()) return {};
    const util::Status s = store().write(r->batch);
    EXPECT_TRUE(s.ok()) << s.to_string();
    return std::move(r).value();
  }

  // Checks the tree at `version` against `model`: root, every model key, and proofs for a sample
  // of present and absent keys.
  void expect_matches(Version version, const Model& model, const std::vector<Key>& probes) {
    const auto root = tree().root_hash(version);
    ASSERT_TRUE(root.ok()) << root.status().to_string();
    ASSERT_EQ(util::to_hex(*root), util::to_hex(reference_root(model))) << "version " << version;
    for (const Key& k : probes) {
      auto p = tree().prove(version, k);
      ASSERT_TRUE(p.ok()) << p.status().to_string();
      const auto it = model.find(k);
      const std::optional<ValueHash> expected =
          it == model.end() ? std::nullopt : std::optional<ValueHash>(it->second);
      ASSERT_EQ(p->value_hash, expected) << util::to_hex(k);
      const util::Status v = verify(*root, k, expected, p->proof);
      ASSERT_TRUE(v.ok()) << v.to_string();
      auto g = tree().get(version, k);
      ASSERT_TRUE(g.ok());
      ASSERT_EQ(*g, expected);
    }
  }

  Backend backend_;
};

TYPED_TEST_SUITE_P(SmtBehaviour);

TYPED_TEST_P(SmtBehaviour, EmptyTreeHasZeroRootAndProvesAbsence) {
  const UpdateResult r = this->commit(std::nullopt, 0, {});
  EXPECT_EQ(r.root_hash, Hash256{});
  std::mt19937_64 rng(1);
  const Key k = random_hash(rng);
  auto p = this->tree().prove(0, k);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->value_hash.has_value());
  EXPECT_TRUE(p->proof.siblings.empty());
  EXPECT_FALSE(p->proof.leaf.has_value());
  EXPECT_TRUE(verify(Hash256{}, k, std::nullopt, p->proof).ok());
  EXPECT_FALSE(verify(Hash256{}, k, random_hash(rng), p->proof).ok());
}

TYPED_TEST_P(SmtBehaviour, OneLeafRootIsItsLeafHash) {
  std::mt19937_64 rng(2);
  const Key k = random_hash(rng);
  const ValueHash v = random_hash(rng);
  const UpdateResult r = this->commit(std::nullopt, 1, {{k, v}});
  EXPECT_EQ(r.root_hash, ref_hash(0x02, k, v));
  auto p = this->tree().prove(1, k);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->value_hash, v);
  EXPECT_TRUE(p->proof.siblings.empty());
  EXPECT_TRUE(verify(r.root_hash, k, v, p->proof).ok());
  // Any other key: the one leaf occupies its slot.
  const Key other = random_hash(rng);
  auto q = this->tree().prove(1, other);
  ASSERT_TRUE(q.ok());
  EXPECT_FALSE(q->value_hash.has_value());
  ASSERT_TRUE(q->proof.leaf.has_value());
  EXPECT_EQ(q->proof.leaf->key, k);
  EXPECT_TRUE(verify(r.root_hash, other, std::nullopt, q->proof).ok());
}

TYPED_TEST_P(SmtBehaviour, KnownRootOfThreeLeaves) {
  // k0 = 00..., k1 = 01..., k2 = 1...: root = H3(H3(L(k0), L(k1)), L(k2)).
  Key k0{}, k1{}, k2{};
  k0[31] = 7;
  k1[0] = 0x40;
  k2[0] = 0x80;
  ValueHash v0{}, v1{}, v2{};
  v0.fill(0xa0);
  v1.fill(0xa1);
  v2.fill(0xa2);
  const Hash256 expected = ref_hash(
      0x03, ref_hash(0x03, ref_hash(0x02, k0, v0), ref_hash(0x02, k1, v1)), ref_hash(0x02, k2, v2));
  const UpdateResult r = this->commit(std::nullopt, 1, {{k0, v0}, {k1, v1}, {k2, v2}});
  EXPECT_EQ(util::to_hex(r.root_hash), util::to_hex(expected));
  // The proof of k1: siblings [L(k2), L(k0)], leaf k1.
  auto p = this->tree().prove(1, k1);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->proof.siblings.size(), 2u);
  EXPECT_EQ(p->proof.siblings[0], ref_hash(0x02, k2, v2));
  EXPECT_EQ(p->proof.siblings[1], ref_hash(0x02, k0, v0));
  // Deleting k2: k0 and k1 still share bit 0, so the root keeps an empty right side.
  const UpdateResult r2 = this->commit(1, 2, {{k2, std::nullopt}});
  EXPECT_EQ(
      r2.root_hash,
      ref_hash(0x03, ref_hash(0x03, ref_hash(0x02, k0, v0), ref_hash(0x02, k1, v1)), Hash256{}));
  // Deleting k0 too leaves the single leaf k1 as the root.
  const UpdateResult r3 = this->commit(2, 3, {{k0, std::nullopt}});
  EXPECT_EQ(r3.root_hash, ref_hash(0x02, k1, v1));
}

TYPED_TEST_P(SmtBehaviour, KeysDifferingOnlyInTheLastBit) {
  std::mt19937_64 rng(3);
  const Key a = random_hash(rng);
  Key b = a;
  b[31] = static_cast<uint8_t>(b[31] ^ 1);
  const ValueHash va = random_hash(rng), vb = random_hash(rng);
  // By hand: the two leaves meet at depth 255, then 255 internal nodes with one empty side.
  const bool a_right = ref_bit(a, 255);
  Hash256 h = a_right ? ref_hash(0x03, ref_hash(0x02, b, vb), ref_hash(0x02, a, va))
                      : ref_hash(0x03, ref_hash(0x02, a, va), ref_hash(0x02, b, vb));
  for (size_t d = 255; d-- > 0;)
    h = ref_bit(a, d) ? ref_hash(0x03, Hash256{}, h) : ref_hash(0x03, h, Hash256{});
  const UpdateResult r = this->commit(
      std::nullopt, 1, {{std::min(a, b), a < b ? va : vb}, {std::max(a, b), a < b ? vb : va}});
  EXPECT_EQ(util::to_hex(r.root_hash), util::to_hex(h));
  EXPECT_EQ(r.batch.nodes.size(), 256u + 2u);  // 256 internal nodes and two leaves
  auto p = this->tree().prove(1, a);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->proof.siblings.size(), 256u);
  for (size_t i = 0; i < 255; ++i)
    EXPECT_EQ(p->proof.siblings[i], Hash256{});
  EXPECT_EQ(p->proof.siblings[255], ref_hash(0x02, b, vb));
  EXPECT_TRUE(verify(r.root_hash, a, va, p->proof).ok());
  // Deleting b collapses the chain back to the single leaf a.
  const UpdateResult r2 = this->commit(1, 2, {{b, std::nullopt}});
  EXPECT_EQ(r2.root_hash, ref_hash(0x02, a, va));
  EXPECT_EQ(r2.batch.nodes.size(), 1u);         // the leaf a, moved to the root
  EXPECT_EQ(r2.batch.stale.size(), 256u + 2u);  // the chain, both old leaves
}

TYPED_TEST_P(SmtBehaviour, MatchesReferenceOnRandomHistories) {
  std::mt19937_64 rng(4);
  for (int round = 0; round < TypeParam::kRandomRounds; ++round) {
    const std::vector<Key> pool = key_pool(rng, 1 + rng() % 40);
    Model model;
    const Version first = 1000 * static_cast<Version>(round);  // a fresh tree per round
    std::optional<Version> base;
    const size_t batches = 1 + rng() % 4;
    for (size_t b = 0; b < batches; ++b) {
      const Version v = first + b;
      const std::vector<Update> ups = random_batch(rng, pool, model, 24);
      const UpdateResult r = this->commit(base, v, ups);
      ASSERT_EQ(util::to_hex(r.root_hash), util::to_hex(reference_root(model)))
          << "round " << round << " batch " << b;
      base = v;
    }
    std::vector<Key> probes(pool.begin(), pool.begin() + std::min<size_t>(pool.size(), 6));
    probes.push_back(random_hash(rng));
    ASSERT_NO_FATAL_FAILURE(this->expect_matches(*base, model, probes)) << "round " << round;
  }
}

TYPED_TEST_P(SmtBehaviour, RootDependsOnlyOnTheSetOfPairs) {
  std::mt19937_64 rng(5);
  for (int round = 0; round < 20; ++round) {
    const std::vector<Key> pool = key_pool(rng, 30);
    Model target;
    for (const Key& k : pool) {
      if (rng() % 2 == 0) target[k] = random_hash(rng);
    }
    const Hash256 expected = reference_root(target);
    for (int path = 0; path < 4; ++path) {
      // A random route to `target`: detours through wrong values and extra keys, random batches.
      std::vector<std::pair<Key, std::optional<ValueHash>>> ops;
      for (const Key& k : pool) {
        if (rng() % 2 == 0) ops.emplace_back(k, random_hash(rng));  // a wrong value or extra key
        if (rng() % 3 == 0) ops.emplace_back(k, std::nullopt);
      }
      std::shuffle(ops.begin(), ops.end(), rng);
      std::vector<std::pair<Key, std::optional<ValueHash>>> fix;
      for (const Key& k : pool) {
        const auto it = target.find(k);
        fix.emplace_back(k,
                         it == target.end() ? std::nullopt : std::optional<ValueHash>(it->second));
      }
      std::shuffle(fix.begin(), fix.end(), rng);
      ops.insert(ops.end(), fix.begin(), fix.end());
      const Version first =
          100000 * static_cast<Version>(round) + 1000 * static_cast<Version>(path);
      std::optional<Version> base;
      Version v = first;
      for (size_t i = 0; i < ops.size();) {
        const size_t n = 1 + rng() % 8;
        std::vector<Update> batch;
        for (size_t j = 0; j < n && i < ops.size(); ++j, ++i)
          batch.push_back({ops[i].first, ops[i].second});
        sort_updates_last_wins(batch);
        this->commit(base, v, batch);
        base = v++;
      }
      auto root = this->tree().root_hash(*base);
      ASSERT_TRUE(root.ok());
      ASSERT_EQ(util::to_hex(*root), util::to_hex(expected)) << "round " << round;
    }
  }
}

TYPED_TEST_P(SmtBehaviour, InsertThenDeleteRestoresTheRoot) {
  std::mt19937_64 rng(6);
  const Key a = random_hash(rng);
  const Key b = near_key(a, 240, rng);
  const ValueHash va = random_hash(rng), vb = random_hash(rng);
  const UpdateResult only_a = this->commit(std::nullopt, 1, {{a, va}});
  this->commit(1, 2, {{b, vb}});
  const UpdateResult back = this->commit(2, 3, {{b, std::nullopt}});
  EXPECT_EQ(back.root_hash, only_a.root_hash);
  EXPECT_EQ(back.root_hash, ref_hash(0x02, a, va));
}

TYPED_TEST_P(SmtBehaviour, DeletesDownToEmpty) {
  std::mt19937_64 rng(7);
  const std::vector<Key> pool = key_pool(rng, 200);
  std::vector<Update> ins;
  Model model;
  for (const Key& k : pool) {
    const ValueHash v = random_hash(rng);
    ins.push_back({k, v});
    model[k] = v;
  }
  sort_updates_last_wins(ins);
  this->commit(std::nullopt, 1, ins);
  ASSERT_NO_FATAL_FAILURE(this->expect_matches(1, model, {pool[0], pool[1]}));
  std::vector<Key> order = pool;
  std::shuffle(order.begin(), order.end(), rng);
  Version v = 1;
  for (size_t i = 0; i < order.size();) {
    std::vector<Update> dels;
    for (size_t j = 0; j < 17 && i < order.size(); ++j, ++i) {
      dels.push_back({order[i], std::nullopt});
      model.erase(order[i]);
    }
    sort_updates_last_wins(dels);
    const UpdateResult r = this->commit(v, v + 1, dels);
    ++v;
    ASSERT_EQ(r.root_hash, reference_root(model));
  }
  auto root = this->tree().root_hash(v);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*root, Hash256{});
  ASSERT_NO_FATAL_FAILURE(this->expect_matches(v, model, {pool[0], pool[5]}));
  // Only the Null root of the last version remains reachable.
  EXPECT_EQ(reachable(this->store(), v).size(), 1u);
}

TYPED_TEST_P(SmtBehaviour, OldVersionsStayReadableAndProvable) {
  std::mt19937_64 rng(8);
  const std::vector<Key> pool = key_pool(rng, 120);
  std::vector<Model> models;
  Model model;
  std::optional<Version> base;
  for (Version v = 0; v < 25; ++v) {
    this->commit(base, v, random_batch(rng, pool, model, 30));
    models.push_back(model);
    base = v;
  }
  this->backend_.reopen();
  for (Version v = 0; v < 25; ++v) {
    std::vector<Key> probes;
    for (size_t i = 0; i < 10; ++i)
      probes.push_back(pool[rng() % pool.size()]);
    probes.push_back(random_hash(rng));
    ASSERT_NO_FATAL_FAILURE(this->expect_matches(v, models[v], probes)) << "version " << v;
  }
}

TYPED_TEST_P(SmtBehaviour, EachVersionIsThePreviousMinusStalePlusNew) {
  std::mt19937_64 rng(9);
  const std::vector<Key> pool = key_pool(rng, 150);
  Model model;
  std::optional<Version> base;
  std::set<NodeKey> prev;
  for (Version v = 1; v <= 30; ++v) {
    const UpdateResult r = this->commit(base, v, random_batch(rng, pool, model, 20));
    std::set<NodeKey> expected = prev;
    std::set<NodeKey> stale_keys;
    for (const StaleNode& s : r.batch.stale) {
      EXPECT_EQ(s.stale_since, v);
      EXPECT_LT(s.key.version, v);
      EXPECT_TRUE(stale_keys.insert(s.key).second) << "staled twice: " << s.key.to_string();
      EXPECT_EQ(expected.erase(s.key), 1u) << "stale node not in the previous tree";
    }
    std::set<NodeKey> new_keys;
    for (const auto& [key, node] : r.batch.nodes) {
      EXPECT_EQ(key.version, v);
      EXPECT_TRUE(key.valid());
      EXPECT_TRUE(new_keys.insert(key).second) << "written twice: " << key.to_string();
      expected.insert(key);
    }
    const std::set<NodeKey> now = reachable(this->store(), v);
    ASSERT_EQ(now, expected) << "version " << v;
    prev = now;
    base = v;
  }
}

TYPED_TEST_P(SmtBehaviour, PruneKeepsNewerVersionsAndFreesTheRest) {
  std::mt19937_64 rng(10);
  const std::vector<Key> pool = key_pool(rng, 100);
  std::vector<Model> models;
  Model model;
  std::optional<Version> base;
  for (Version v = 0; v < 20; ++v) {
    this->commit(base, v, random_batch(rng, pool, model, 25));
    models.push_back(model);
    base = v;
  }
  auto listed = this->store().stale_nodes(10, 5);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 5u);
  EXPECT_TRUE(std::is_sorted(listed->begin(), listed->end()));
  for (const StaleNode& s : *listed)
    EXPECT_LE(s.stale_since, 10u);

  auto removed = prune(this->store(), 10, 7);
  ASSERT_TRUE(removed.ok()) << removed.status().to_string();
  EXPECT_GT(*removed, 0u);
  for (Version v = 0; v < 10; ++v) {
    auto root = this->tree().root_hash(v);
    EXPECT_EQ(root.status().code(), util::StatusCode::kNotFound) << "version " << v;
  }
  this->backend_.reopen();
  for (Version v = 10; v < 20; ++v) {
    std::vector<Key> probes(pool.begin(), pool.begin() + 8);
    ASSERT_NO_FATAL_FAILURE(this->expect_matches(v, models[v], probes)) << "version " << v;
  }
  // Pruning up to the latest version leaves exactly the latest tree: nothing leaks.
  ASSERT_TRUE(prune(this->store(), 19).ok());
  EXPECT_EQ(this->backend_.node_count(), reachable(this->store(), 19).size());
  auto left = this->store().stale_nodes(19, 1000);
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
  // And the tree keeps working on top of it.
  this->commit(19, 20, random_batch(rng, pool, model, 25));
  ASSERT_NO_FATAL_FAILURE(this->expect_matches(20, model, {pool[0], pool[1], pool[2]}));
}

TYPED_TEST_P(SmtBehaviour, EmptyBatchAndNoOpDeletesKeepTheRoot) {
  std::mt19937_64 rng(11);
  const std::vector<Key> pool = key_pool(rng, 50);
  Model model;
  std::vector<Update> ins;
  for (const Key& k : pool) {
    const ValueHash v = random_hash(rng);
    ins.push_back({k, v});
    model[k] = v;
  }
  sort_updates_last_wins(ins);
  const UpdateResult r1 = this->commit(std::nullopt, 1, ins);
  const UpdateResult r2 = this->commit(1, 2, {});
  EXPECT_EQ(r2.root_hash, r1.root_hash);
  EXPECT_EQ(r2.batch.nodes.size(), 1u);  // the root, copied to the new version
  EXPECT_EQ(r2.batch.stale.size(), 1u);
  // Deleting absent keys and re-setting current values change nothing either.
  std::vector<Update> noop;
  for (int i = 0; i < 5; ++i)
    noop.push_back({random_hash(rng), std::nullopt});
  noop.push_back({model.begin()->first, model.begin()->second});
  noop.push_back({model.rbegin()->first, model.rbegin()->second});
  sort_updates_last_wins(noop);
  const UpdateResult r3 = this->commit(2, 3, noop);
  EXPECT_EQ(r3.root_hash, r1.root_hash);
  EXPECT_EQ(r3.batch.nodes.size(), 1u);
  EXPECT_EQ(r3.batch.stale.size(), 1u);
  // Versions may skip numbers; the skipped ones do not exist.
  const UpdateResult r4 = this->commit(3, 10, {});
  EXPECT_EQ(r4.root_hash, r1.root_hash);
  EXPECT_EQ(this->tree().root_hash(5).status().code(), util::StatusCode::kNotFound);
  ASSERT_NO_FATAL_FAILURE(this->expect_matches(10, model, {pool[0], pool[1]}));
  // The empty tree as a base works the same way.
  EXPECT_EQ(this->commit(std::nullopt, 50, {}).root_hash, Hash256{});
  const UpdateResult e2 = this->commit(50, 51, {{random_hash(rng), std::nullopt}});
  EXPECT_EQ(e2.root_hash, Hash256{});
  EXPECT_EQ(e2.batch.nodes.size(), 1u);
  EXPECT_EQ(e2.batch.stale.size(), 1u);
}

TYPED_TEST_P(SmtBehaviour, ApplyRejectsBadRequests) {
  std::mt19937_64 rng(12);
  Key a = random_hash(rng), b = random_hash(rng);
  if (b < a) std::swap(a, b);
  const ValueHash v = random_hash(rng);
  this->commit(std::nullopt, 1, {{a, v}});
  auto unsorted = this->tree().apply(1, 2, std::vector<Update>{{b, v}, {a, v}});
  EXPECT_EQ(unsorted.status().code(), util::StatusCode::kInvalidArgument);
  EXPECT_NE(unsorted.status().message().find("comes before the key of update 0"), std::string::npos)
      << unsorted.status().message();
  auto dup = this->tree().apply(1, 2, std::vector<Update>{{a, v}, {a, std::nullopt}});
  EXPECT_EQ(dup.status().code(), util::StatusCode::kInvalidArgument);
  EXPECT_NE(dup.status().message().find("repeats the key of update 0"), std::string::npos);
  auto old = this->tree().apply(1, 1, std::vector<Update>{});
  EXPECT_EQ(old.status().code(), util::StatusCode::kInvalidArgument);
  auto no_base = this->tree().apply(7, 8, std::vector<Update>{});
  EXPECT_EQ(no_base.status().code(), util::StatusCode::kNotFound);
  this->commit(1, 2, {});
  auto again = this->tree().apply(1, 2, std::vector<Update>{});
  EXPECT_EQ(again.status().code(), util::StatusCode::kAlreadyExists);
  EXPECT_EQ(this->tree().prove(9, a).status().code(), util::StatusCode::kNotFound);
  EXPECT_EQ(this->tree().get(9, a).status().code(), util::StatusCode::kNotFound);
}

TYPED_TEST_P(SmtBehaviour, ProvesPresenceAndBothKindsOfAbsence) {
  std::mt19937_64 rng(13);
  const std::vector<Key> pool = key_pool(rng, 300);
  Model model;
  std::vector<Update> ins;
  for (size_t i = 0; i < pool.size(); i += 2) {
    const ValueHash v = random_hash(rng);
    ins.push_back({pool[i], v});
    model[pool[i]] = v;
  }
  sort_updates_last_wins(ins);
  const UpdateResult r = this->commit(std::nullopt, 1, ins);
  int present = 0, absent_empty = 0, absent_other_leaf = 0;
  for (size_t i = 0; i < pool.size(); ++i) {
    const Key& k = pool[i];
    auto p = this->tree().prove(1, k);
    ASSERT_TRUE(p.ok());
    const auto it = model.find(k);
    if (it != model.end()) {
      ++present;
      ASSERT_EQ(p->value_hash, it->second);
      EXPECT_TRUE(verify(r.root_hash, k, it->second, p->proof).ok());
      EXPECT_FALSE(verify(r.root_hash, k, std::nullopt, p->proof).ok());
    } else {
      ASSERT_FALSE(p->value_hash.has_value());
      if (p->proof.leaf) {
        ++absent_other_leaf;
        EXPECT_NE(p->proof.leaf->key, k);
      } else {
        ++absent_empty;
      }
      EXPECT_TRUE(verify(r.root_hash, k, std::nullopt, p->proof).ok());
      EXPECT_FALSE(verify(r.root_hash, k, random_hash(rng), p->proof).ok());
    }
  }
  EXPECT_GT(present, 0);
  EXPECT_GT(absent_empty, 0);
  EXPECT_GT(absent_other_leaf, 0);
}

REGISTER_TYPED_TEST_SUITE_P(SmtBehaviour, EmptyTreeHasZeroRootAndProvesAbsence,
                            OneLeafRootIsItsLeafHash, KnownRootOfThreeLeaves,
                            KeysDifferingOnlyInTheLastBit, MatchesReferenceOnRandomHistories,
                            RootDependsOnlyOnTheSetOfPairs, InsertThenDeleteRestoresTheRoot,
                            DeletesDownToEmpty, OldVersionsStayReadableAndProvable,
                            EachVersionIsThePreviousMinusStalePlusNew,
                            PruneKeepsNewerVersionsAndFreesTheRest,
                            EmptyBatchAndNoOpDeletesKeepTheRoot, ApplyRejectsBadRequests,
                            ProvesPresenceAndBothKindsOfAbsence);

}  // namespace imet::ledger::smt::testing
