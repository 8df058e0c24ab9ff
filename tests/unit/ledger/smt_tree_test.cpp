// SparseMerkleTree specifics not covered by the shared behaviour suite: batch normalization,
// the O(k log n) cost of an update, chained updates through OverlayNodeReader, larger trees
// against the reference, and detection of a damaged node store.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ledger/smt/memory_node_store.h"
#include "ledger/smt/tree.h"
#include "smt_test_support.h"

namespace imet::ledger::smt {
namespace {

using testing::key_pool;
using testing::Model;
using testing::random_hash;
using testing::reference_root;

Key key_n(uint8_t n) {
  Key k{};
  k[0] = n;
  return k;
}
ValueHash val_n(uint8_t n) {
  ValueHash v{};
  v.fill(n);
  return v;
}

class CountingReader final : public NodeReader {
 public:
  explicit CountingReader(const NodeReader& base) : base_(base) {}
  util::Result<std::optional<Node>> get(const NodeKey& key) const override {
    ++gets;
    return base_.get(key);
  }
  mutable size_t gets = 0;

 private:
  const NodeReader& base_;
};

UpdateResult apply_ok(const NodeReader& reader, std::optional<Version> base, Version v,
                      const std::vector<Update>& ups) {
  auto r = SparseMerkleTree(reader).apply(base, v, ups);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(r).value() : UpdateResult{};
}

// Depth of the deepest node of the tree at `version`.
size_t max_depth(const NodeReader& reader, Version version) {
  size_t d = 0;
  for (const NodeKey& k : testing::reachable(reader, version))
    d = std::max<size_t>(d, k.depth);
  return d;
}

TEST(SmtBatch, SortLastWinsKeepsTheLastUpdateOfEachKey) {
  std::vector<Update> ups{{key_n(3), val_n(1)},     {key_n(1), val_n(2)}, {key_n(3), std::nullopt},
                          {key_n(2), std::nullopt}, {key_n(3), val_n(4)}, {key_n(1), std::nullopt}};
  sort_updates_last_wins(ups);
  const std::vector<Update> expected{
      {key_n(1), std::nullopt}, {key_n(2), std::nullopt}, {key_n(3), val_n(4)}};
  EXPECT_EQ(ups, expected);
  EXPECT_TRUE(check_batch(ups).ok());
  std::vector<Update> empty;
  sort_updates_last_wins(empty);
  EXPECT_TRUE(empty.empty());
  EXPECT_TRUE(check_batch(empty).ok());
}

TEST(SmtBatch, LastWinsGivesTheSameRootAsApplyingOneByOne) {
  std::mt19937_64 rng(21);
  const std::vector<Key> pool = key_pool(rng, 20);
  std::vector<Update> ops;
  for (int i = 0; i < 60; ++i) {
    const Key& k = pool[rng() % pool.size()];
    ops.push_back({k, rng() % 3 == 0 ? std::nullopt : std::optional<ValueHash>(random_hash(rng))});
  }
  MemoryNodeStore one_by_one;
  std::optional<Version> base;
  for (Version v = 0; v < ops.size(); ++v) {
    const UpdateResult r = apply_ok(one_by_one, base, v, {ops[v]});
    ASSERT_TRUE(one_by_one.write(r.batch).ok());
    base = v;
  }
  std::vector<Update> batch = ops;
  sort_updates_last_wins(batch);
  MemoryNodeStore at_once;
  const UpdateResult r = apply_ok(at_once, std::nullopt, 0, batch);
  EXPECT_EQ(r.root_hash, *SparseMerkleTree(one_by_one).root_hash(*base));
}

TEST(SmtBatch, CheckBatchNamesTheOffendingUpdate) {
  const std::vector<Update> dup{{key_n(1), val_n(1)}, {key_n(2), val_n(1)}, {key_n(2), val_n(2)}};
  const util::Status s = check_batch(dup);
  EXPECT_EQ(s.code(), util::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("the key of update 2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("repeats the key of update 1"), std::string::npos);
  EXPECT_NE(s.message().find("sort_updates_last_wins"), std::string::npos);
}

TEST(SmtTree, UpdateCostIsLogarithmic) {
  std::mt19937_64 rng(22);
  MemoryNodeStore store;
  std::vector<Update> ins;
  for (int i = 0; i < 8192; ++i)
    ins.push_back({random_hash(rng), random_hash(rng)});
  sort_updates_last_wins(ins);
  ASSERT_TRUE(store.write(apply_ok(store, std::nullopt, 1, ins).batch).ok());
  const size_t depth = max_depth(store, 1);
  EXPECT_LT(depth, 40u);  // about log2(8192) = 13, plus a few
  for (int trial = 0; trial < 30; ++trial) {
    CountingReader counting(store);
    std::vector<Update> one;
    switch (trial % 3) {
      case 0:
        one.push_back({ins[rng() % ins.size()].key, random_hash(rng)});
        break;  // change
      case 1:
        one.push_back({random_hash(rng), random_hash(rng)});
        break;  // insert
      case 2:
        one.push_back({ins[rng() % ins.size()].key, std::nullopt});
        break;  // delete
    }
    const UpdateResult r = apply_ok(counting, 1, 2, one);
    // The path down (plus the version check and, on a delete, the sibling leaf that moves up).
    EXPECT_LE(counting.gets, depth + 4) << "trial " << trial;
    EXPECT_LE(r.batch.nodes.size(), depth + 2);
    EXPECT_LE(r.batch.stale.size(), depth + 3);
  }
  // k updates cost at most k paths.
  CountingReader counting(store);
  std::vector<Update> many;
  for (int i = 0; i < 100; ++i)
    many.push_back({random_hash(rng), random_hash(rng)});
  sort_updates_last_wins(many);
  const UpdateResult r = apply_ok(counting, 1, 2, many);
  EXPECT_LE(counting.gets, 100 * (depth + 1) + 2);
  EXPECT_LE(r.batch.nodes.size(), 100 * (depth + 2));
}

TEST(SmtTree, LargeTreeMatchesTheReference) {
  std::mt19937_64 rng(23);
  const std::vector<Key> pool = key_pool(rng, 6000);
  MemoryNodeStore store;
  Model model;
  std::optional<Version> base;
  for (Version v = 1; v <= 6; ++v) {
    const UpdateResult r = apply_ok(store, base, v, testing::random_batch(rng, pool, model, 3000));
    ASSERT_TRUE(store.write(r.batch).ok());
    ASSERT_EQ(util::to_hex(r.root_hash), util::to_hex(reference_root(model))) << "version " << v;
    base = v;
  }
}

TEST(SmtTree, OverlayChainsUncommittedVersions) {
  std::mt19937_64 rng(24);
  const std::vector<Key> pool = key_pool(rng, 200);
  MemoryNodeStore store;
  Model model;
  const UpdateResult r1 =
      apply_ok(store, std::nullopt, 1, testing::random_batch(rng, pool, model, 100));
  ASSERT_TRUE(store.write(r1.batch).ok());
  const size_t committed = store.node_count();

  OverlayNodeReader overlay(store);
  const UpdateResult r2 = apply_ok(overlay, 1, 2, testing::random_batch(rng, pool, model, 50));
  overlay.add(r2.batch);
  const UpdateResult r3 = apply_ok(overlay, 2, 3, testing::random_batch(rng, pool, model, 50));
  overlay.add(r3.batch);
  EXPECT_EQ(r3.root_hash, reference_root(model));
  EXPECT_EQ(store.node_count(), committed);  // nothing written yet
  auto via_overlay = SparseMerkleTree(overlay).root_hash(3);
  ASSERT_TRUE(via_overlay.ok());
  EXPECT_EQ(*via_overlay, r3.root_hash);
  EXPECT_EQ(SparseMerkleTree(store).root_hash(3).status().code(), util::StatusCode::kNotFound);

  ASSERT_TRUE(store.write(r2.batch).ok());
  ASSERT_TRUE(store.write(r3.batch).ok());
  auto committed_root = SparseMerkleTree(store).root_hash(3);
  ASSERT_TRUE(committed_root.ok());
  EXPECT_EQ(*committed_root, r3.root_hash);
}

TEST(SmtTree, DamagedStoreIsReportedAsCorruption) {
  std::mt19937_64 rng(25);
  MemoryNodeStore store;
  std::vector<Update> ins;
  for (int i = 0; i < 64; ++i)
    ins.push_back({random_hash(rng), random_hash(rng)});
  sort_updates_last_wins(ins);
  const UpdateResult r = apply_ok(store, std::nullopt, 1, ins);
  ASSERT_TRUE(store.write(r.batch).ok());

  // Replace a leaf by one with a different value: its parent's hash no longer matches.
  NodeKey leaf_key;
  Key leaf_of{};
  for (const auto& [key, node] : r.batch.nodes) {
    if (node.leaf() != nullptr && key.depth > 0) {
      leaf_key = key;
      leaf_of = node.leaf()->key;
      break;
    }
  }
  ASSERT_GT(leaf_key.depth, 0);
  NodeBatch tamper;
  tamper.nodes.emplace_back(leaf_key, Node(LeafNode{leaf_of, random_hash(rng)}));
  ASSERT_TRUE(store.write(tamper).ok());
  SparseMerkleTree tree(store);
  auto p = tree.prove(1, leaf_of);
  EXPECT_EQ(p.status().code(), util::StatusCode::kCorruption);
  EXPECT_NE(p.status().message().find("does not match the hash"), std::string::npos)
      << p.status().message();
  auto u = tree.apply(1, 2, std::vector<Update>{{leaf_of, std::nullopt}});
  EXPECT_EQ(u.status().code(), util::StatusCode::kCorruption);

  // Remove it: a missing node is corruption too (not "absent").
  const StaleNode gone{0, leaf_key};
  ASSERT_TRUE(store.remove_stale(std::span<const StaleNode>(&gone, 1)).ok());
  auto g = tree.get(1, leaf_of);
  EXPECT_EQ(g.status().code(), util::StatusCode::kCorruption);
  EXPECT_NE(g.status().message().find("is missing"), std::string::npos) << g.status().message();
}

}  // namespace
}  // namespace imet::ledger::smt
