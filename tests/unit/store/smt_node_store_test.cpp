// store::SmtNodeStore, the state tree's KvStore-backed node store: the ledger's whole SMT
// behaviour suite (tests/unit/ledger/smt_behaviour_suite.h) over MemoryStore and RocksStore, then
// the store-specific parts: persistence across reopen, the key layout, staging into a caller's
// WriteBatch, isolation by prefix, and corruption reporting.
#include "store/smt_node_store.h"

#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../ledger/smt_behaviour_suite.h"
#include "ledger/smt/tree.h"
#include "store/memory_store.h"
#include "store/rocks_store.h"
#include "temp_dir.h"

namespace imet::ledger::smt::testing {
namespace {

using store::MemoryStore;
using store::RocksStore;
using store::SmtNodeStore;

util::Bytes tree_prefix() {
  return util::to_bytes("smt/state/");
}

struct KvMemoryBackend {
  static constexpr int kRandomRounds = 300;
  NodeStore& store() { return nodes; }
  size_t node_count() const { return nodes.count_nodes().value_or(0); }
  void reopen() {}
  MemoryStore kv;
  SmtNodeStore nodes{kv, tree_prefix()};
};

struct RocksBackend {
  static constexpr int kRandomRounds = 150;
  RocksBackend() { reopen(); }
  NodeStore& store() { return *nodes; }
  size_t node_count() const { return nodes->count_nodes().value_or(0); }
  void reopen() {
    nodes.reset();
    kv.reset();
    auto opened = RocksStore::open(dir.sub("db"));
    EXPECT_TRUE(opened.ok()) << opened.status().to_string();
    kv = std::move(opened).value();
    nodes = std::make_unique<SmtNodeStore>(*kv, tree_prefix());
  }
  store::testing::TempDir dir;
  std::unique_ptr<RocksStore> kv;
  std::unique_ptr<SmtNodeStore> nodes;
};

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(KvMemory, SmtBehaviour, ::testing::Types<KvMemoryBackend>);
INSTANTIATE_TYPED_TEST_SUITE_P(Rocks, SmtBehaviour, ::testing::Types<RocksBackend>);

namespace {

std::vector<Update> random_updates(std::mt19937_64& rng, size_t n) {
  std::vector<Update> ups;
  for (size_t i = 0; i < n; ++i)
    ups.push_back({random_hash(rng), random_hash(rng)});
  sort_updates_last_wins(ups);
  return ups;
}

TEST(SmtNodeStore, TreePersistsAcrossReopen) {
  store::testing::TempDir dir;
  std::mt19937_64 rng(31);
  const std::vector<Key> pool = key_pool(rng, 300);
  std::vector<Model> models;
  Model model;
  {
    auto kv = RocksStore::open(dir.sub("db"));
    ASSERT_TRUE(kv.ok());
    SmtNodeStore nodes(**kv, tree_prefix());
    std::optional<Version> base;
    for (Version v = 1; v <= 5; ++v) {
      auto r = SparseMerkleTree(nodes).apply(base, v, random_batch(rng, pool, model, 120));
      ASSERT_TRUE(r.ok()) << r.status().to_string();
      ASSERT_TRUE(nodes.write(r->batch).ok());
      models.push_back(model);
      base = v;
    }
  }
  auto kv = RocksStore::open(dir.sub("db"));
  ASSERT_TRUE(kv.ok()) << kv.status().to_string();
  SmtNodeStore nodes(**kv, tree_prefix());
  SparseMerkleTree tree(nodes);
  for (Version v = 1; v <= 5; ++v) {
    auto root = tree.root_hash(v);
    ASSERT_TRUE(root.ok()) << root.status().to_string();
    EXPECT_EQ(*root, reference_root(models[v - 1]));
    for (size_t i = 0; i < 20; ++i) {
      const Key& k = pool[i];
      auto p = tree.prove(v, k);
      ASSERT_TRUE(p.ok());
      const auto it = models[v - 1].find(k);
      const std::optional<ValueHash> expected =
          it == models[v - 1].end() ? std::nullopt : std::optional<ValueHash>(it->second);
      EXPECT_EQ(p->value_hash, expected);
      EXPECT_TRUE(verify(*root, k, expected, p->proof).ok());
    }
  }
  // Work continues on the reopened tree.
  auto r = tree.apply(5, 6, random_batch(rng, pool, model, 50));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(nodes.write(r->batch).ok());
  EXPECT_EQ(*tree.root_hash(6), reference_root(model));
}

TEST(SmtNodeStore, KeyLayoutIsPrefixTagBigEndianNumbersAndPathBytes) {
  MemoryStore kv;
  SmtNodeStore nodes(kv, util::to_bytes("P/"));
  NodeKey key;
  key.version = 0x0102;
  key.depth = 9;
  key.path[0] = 0xab;
  key.path[1] = 0x80;  // bit 8 set; bits 9.. zero
  EXPECT_EQ(util::to_hex(nodes.node_key(key)),
            util::to_hex(util::to_bytes("P/n")) + "0000000000000102" + "0009" + "ab80");
  EXPECT_EQ(util::to_hex(nodes.node_key(NodeKey::root(7))),
            util::to_hex(util::to_bytes("P/n")) + "0000000000000007" + "0000");
  EXPECT_EQ(util::to_hex(nodes.stale_key(StaleNode{0x0300, key})),
            util::to_hex(util::to_bytes("P/s")) + "0000000000000300" + "0000000000000102" + "0009" +
                "ab80");
}

TEST(SmtNodeStore, StaleIndexIsListedInNumericVersionOrder) {
  // Versions 255, 256 and 65536 sort numerically only because the numbers are big-endian.
  MemoryStore kv;
  SmtNodeStore nodes(kv, tree_prefix());
  ledger::smt::NodeBatch batch;
  for (Version since : {65536u, 256u, 255u, 1u})
    batch.stale.push_back({since, NodeKey::root(since - 1)});
  ASSERT_TRUE(nodes.write(batch).ok());
  auto all = nodes.stale_nodes(1u << 20, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].stale_since, 1u);
  EXPECT_EQ((*all)[1].stale_since, 255u);
  EXPECT_EQ((*all)[2].stale_since, 256u);
  EXPECT_EQ((*all)[3].stale_since, 65536u);
  auto some = nodes.stale_nodes(256, 100);
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(some->size(), 3u);
  auto limited = nodes.stale_nodes(1u << 20, 2);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 2u);
}

TEST(SmtNodeStore, StagedBatchCommitsAtomicallyWithOtherData) {
  MemoryStore kv;
  SmtNodeStore nodes(kv, tree_prefix());
  std::mt19937_64 rng(32);
  auto r = SparseMerkleTree(nodes).apply(std::nullopt, 1, random_updates(rng, 50));
  ASSERT_TRUE(r.ok());
  store::WriteBatch wb;
  wb.put(util::as_bytes("block/1"), util::as_bytes("header"));
  nodes.stage(r->batch, wb);
  EXPECT_EQ(wb.size(), 1 + r->batch.nodes.size() + r->batch.stale.size());
  // Nothing is visible before the caller commits.
  EXPECT_EQ(SparseMerkleTree(nodes).root_hash(1).status().code(), util::StatusCode::kNotFound);
  ASSERT_TRUE(kv.write(wb).ok());
  auto root = SparseMerkleTree(nodes).root_hash(1);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*root, r->root_hash);
  EXPECT_TRUE(kv.get(util::as_bytes("block/1"))->has_value());
  // A reader over a snapshot keeps seeing version 1's store even after pruning it away.
  auto r2 = SparseMerkleTree(nodes).apply(1, 2, random_updates(rng, 10));
  ASSERT_TRUE(r2.ok());
  ASSERT_TRUE(nodes.write(r2->batch).ok());
  auto snap = kv.snapshot();
  ASSERT_TRUE(prune(nodes, 2).ok());
  EXPECT_EQ(SparseMerkleTree(nodes).root_hash(1).status().code(), util::StatusCode::kNotFound);
  store::SmtNodeReader old_view(*snap, tree_prefix());
  auto old_root = SparseMerkleTree(old_view).root_hash(1);
  ASSERT_TRUE(old_root.ok());
  EXPECT_EQ(*old_root, r->root_hash);
}

TEST(SmtNodeStore, PrefixesIsolateTrees) {
  MemoryStore kv;
  SmtNodeStore a(kv, util::to_bytes("smt/a/"));
  SmtNodeStore b(kv, util::to_bytes("smt/b/"));
  std::mt19937_64 rng(33);
  for (Version v = 1; v <= 3; ++v) {
    auto ra = SparseMerkleTree(a).apply(v == 1 ? std::nullopt : std::optional<Version>(v - 1), v,
                                        random_updates(rng, 20));
    ASSERT_TRUE(ra.ok());
    ASSERT_TRUE(a.write(ra->batch).ok());
  }
  auto rb = SparseMerkleTree(b).apply(std::nullopt, 1, random_updates(rng, 20));
  ASSERT_TRUE(rb.ok());
  ASSERT_TRUE(b.write(rb->batch).ok());
  const size_t b_nodes = *b.count_nodes();
  ASSERT_TRUE(prune(a, 3).ok());
  EXPECT_EQ(*b.count_nodes(), b_nodes);
  EXPECT_EQ(*SparseMerkleTree(b).root_hash(1), rb->root_hash);
  EXPECT_EQ(SparseMerkleTree(b).root_hash(3).status().code(), util::StatusCode::kNotFound);
  EXPECT_EQ(*a.count_nodes(), reachable(a, 3).size());
}

TEST(SmtNodeStore, CorruptStoredDataIsReported) {
  MemoryStore kv;
  SmtNodeStore nodes(kv, tree_prefix());
  std::mt19937_64 rng(34);
  auto r = SparseMerkleTree(nodes).apply(std::nullopt, 1, random_updates(rng, 10));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(nodes.write(r->batch).ok());
  // A root value that is not a canonical node.
  ASSERT_TRUE(kv.put(nodes.node_key(NodeKey::root(1)), util::Bytes{0x01, 0x00, 0x00}).ok());
  auto root = SparseMerkleTree(nodes).root_hash(1);
  EXPECT_EQ(root.status().code(), util::StatusCode::kCorruption);
  EXPECT_NE(root.status().message().find("state tree node v1/root"), std::string::npos)
      << root.status().message();
  EXPECT_NE(root.status().message().find("two non-empty children"), std::string::npos);
  // A malformed stale-index key.
  util::Bytes bad = util::to_bytes("smt/state/s");
  bad.push_back(0x00);
  ASSERT_TRUE(kv.put(bad, util::Bytes{}).ok());
  auto stale = nodes.stale_nodes(100, 100);
  EXPECT_EQ(stale.status().code(), util::StatusCode::kCorruption);
  EXPECT_NE(stale.status().message().find("malformed"), std::string::npos);
}

}  // namespace
}  // namespace imet::ledger::smt::testing
