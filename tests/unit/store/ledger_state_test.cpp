// The same block sequence gives the same state roots whether state and tree live in memory or in
// RocksDB, survives a reopen, and yields account proofs that verify against the root.
#include "store/ledger_state.h"

#include <random>

#include <gtest/gtest.h>

#include "ledger/block_apply.h"
#include "ledger/genesis.h"
#include "ledger/smt/memory_node_store.h"
#include "ledger/smt/tree.h"
#include "ledger/state_root.h"
#include "store/rocks_store.h"
#include "store/smt_node_store.h"
#include "temp_dir.h"

namespace imet::store {
namespace {

using namespace imet::ledger;

crypto::SigningKey state_key(uint8_t i) {
  crypto::Seed s{};
  s.fill(i);
  s[0] = 0xee;
  return crypto::SigningKey::from_seed(s);
}
Address addr(const crypto::SigningKey& k) {
  return crypto::address_bytes_of(k.public_key());
}

Genesis test_genesis(const std::vector<crypto::SigningKey>& users, const crypto::SigningKey& p) {
  Genesis g = make_dev_genesis(addr(p), 1'000'000, "imet-root-test");
  Amount each = imet(1000);
  g.accounts[0].balance -= each * users.size();
  for (const auto& u : users)
    g.accounts.push_back({addr(u), each, std::nullopt});
  return g;
}

// One replica: a state reader, a node store, and how to commit a block's changes.
struct Replica {
  virtual ~Replica() = default;
  virtual const StateReader& state() = 0;
  virtual smt::NodeStore& nodes() = 0;
  virtual void commit(const StateOverlay::Changes& changes, const smt::NodeBatch& batch) = 0;

  Hash apply(const StateOverlay& overlay, std::optional<smt::Version> base, smt::Version v) {
    smt::SparseMerkleTree tree(nodes());
    auto r = tree.apply(base, v, state_updates(overlay.changes()));
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    commit(overlay.changes(), r->batch);
    return r->root_hash;
  }
};

struct MemoryReplica : Replica {
  MemoryState st;
  smt::MemoryNodeStore nodes_;
  const StateReader& state() override { return st; }
  smt::NodeStore& nodes() override { return nodes_; }
  void commit(const StateOverlay::Changes& c, const smt::NodeBatch& b) override {
    st.apply(c);
    ASSERT_TRUE(nodes_.write(b).ok());
  }
};

struct RocksReplica : Replica {
  std::unique_ptr<RocksStore> db;
  std::unique_ptr<KvStateReader> reader;
  std::unique_ptr<SmtNodeStore> nodes_;
  explicit RocksReplica(const std::string& path) { open(path); }
  void open(const std::string& path) {
    nodes_.reset();
    reader.reset();
    db.reset();
    db = RocksStore::open(path, RocksStore::Options{}).value();
    reader = std::make_unique<KvStateReader>(*db);
    nodes_ = std::make_unique<SmtNodeStore>(*db, util::to_bytes("t/"));
  }
  const StateReader& state() override { return *reader; }
  smt::NodeStore& nodes() override { return *nodes_; }
  void commit(const StateOverlay::Changes& c, const smt::NodeBatch& b) override {
    WriteBatch wb;
    stage_state(c, wb);
    nodes_->stage(b, wb);
    ASSERT_TRUE(db->write(wb, {.sync = true}).ok());  // one atomic write per block
  }
};

TEST(LedgerStateRoot, SameBlocksSameRootsInMemoryAndRocksDb) {
  testing::TempDir dir;
  std::string path = dir.path() + "/db";
  crypto::SigningKey producer = state_key(0);
  std::vector<crypto::SigningKey> users;
  for (uint8_t i = 1; i <= 8; ++i)
    users.push_back(state_key(i));
  Genesis g = test_genesis(users, producer);
  ASSERT_TRUE(g.validate().ok()) << g.validate().to_string();
  ChainConfig chain{g.chain_id, g.genesis_time_ms, g.params};

  MemoryReplica mem;
  RocksReplica rocks(path);
  std::vector<Replica*> replicas = {&mem, &rocks};
  std::vector<Hash> roots;
  for (Replica* r : replicas) {
    StateOverlay o(&r->state());
    g.apply(o);
    roots.push_back(r->apply(o, std::nullopt, 0));
  }
  ASSERT_EQ(roots[0], roots[1]);

  std::mt19937 rng(7);
  std::vector<uint64_t> nonces(users.size(), 0);
  ChainTip tip{0, g.hash(), g.genesis_time_ms};
  std::vector<Hash> history = {roots[0]};
  for (uint64_t h = 1; h <= 25; ++h) {
    std::vector<Transaction> txs;
    for (int i = 0; i < 10; ++i) {
      size_t from = rng() % users.size();
      Transaction t;
      t.chain_id = g.chain_id;
      t.nonce = nonces[from];
      t.fee = imet(1) / 2;
      t.expiry_height = h + 5;
      t.body = Transfer{addr(users[rng() % users.size()]), imet(1) + rng() % imet(300), {}};
      t.sign(users[from]);
      txs.push_back(t);
    }
    StateOverlay scratch(&mem.state());
    // One witness: every block is a round; from height 2 a block carries its parent's
    // certificate (the producer's own COMMIT).
    std::optional<FinalityCertificate> last_cert;
    if (h >= 2) {
      WitnessVote v;
      v.chain_id = g.chain_id;
      v.type = VoteType::kCommit;
      v.height = tip.height;
      v.block_hash = tip.hash;
      v.sign(producer);
      last_cert = FinalityCertificate{tip.height, 0, tip.hash, {{v.voter, v.signature}}};
    }
    auto built = build_block(scratch, txs, tip, chain, producer.public_key(), tip.time_ms + 1000,
                             h - 1, 0, last_cert);
    ASSERT_TRUE(built.ok()) << built.status().to_string();
    for (const Transaction& t : built->block.txs) {
      for (size_t u = 0; u < users.size(); ++u) {
        if (t.sender == users[u].public_key()) nonces[u] = t.nonce + 1;
      }
    }
    Block block = built->block;
    block.header.sign(producer);  // apply_block checks the signature, not the state root
    roots.clear();
    for (Replica* r : replicas) {
      StateOverlay o(&r->state());
      ASSERT_FALSE(apply_block(o, block, tip, chain, SerialVerifier()));
      roots.push_back(r->apply(o, h - 1, h));
    }
    ASSERT_EQ(roots[0], roots[1]) << "height " << h;
    EXPECT_NE(roots[0], history.back()) << "state changed at height " << h;
    history.push_back(roots[0]);
    block.header.state_root = roots[0];
    block.header.sign(producer);
    tip = {h, block.header.hash(), block.header.time_ms};
  }

  // After a reopen, RocksDB still has every root and the state, and proofs verify.
  rocks.open(path);
  smt::SparseMerkleTree tree(rocks.nodes());
  for (uint64_t h = 0; h < history.size(); ++h)
    EXPECT_EQ(tree.root_hash(h).value(), history[h]);
  util::Bytes account_key = keys::account(addr(users[3]));
  auto value = rocks.state().get(account_key).value();
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(value, mem.state().get(account_key).value());
  auto proof = tree.prove(history.size() - 1, smt::key_of(account_key));
  ASSERT_TRUE(proof.ok());
  EXPECT_EQ(proof->value_hash, smt::value_hash_of(*value));
  EXPECT_TRUE(smt::verify(history.back(), smt::key_of(account_key), smt::value_hash_of(*value),
                          proof->proof)
                  .ok());
  // A claim of another balance does not verify.
  Account acc = codec::decode<Account>(*value).value();
  acc.balance += 1;
  EXPECT_FALSE(smt::verify(history.back(), smt::key_of(account_key),
                           smt::value_hash_of(codec::encode(acc)), proof->proof)
                   .ok());
}

}  // namespace
}  // namespace imet::store
