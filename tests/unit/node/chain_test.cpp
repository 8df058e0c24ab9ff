#include "node/chain.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <unistd.h>

#include "ledger/pod.h"
#include "store/memory_store.h"
#include "store/rocks_store.h"

namespace imet::node {
namespace {

crypto::SigningKey key(uint8_t b) {
  crypto::Seed s{};
  s.fill(b);
  return crypto::SigningKey::from_seed(s);
}

// Commits on `to` the block `from` produced, with the certificate `from` stored for it.
util::Status replay(Chain& from, Chain& to, const ledger::Block& b) {
  auto cert = from.certificate(b.header.height);
  if (!cert.ok()) return cert.status();
  if (!*cert) return util::not_found("no certificate");
  return to.commit(b, **cert);
}

class ChainTest : public ::testing::Test {
 protected:
  crypto::SigningKey producer = key(1), alice = key(2);
  ledger::Genesis genesis =
      ledger::make_dev_genesis(crypto::address_bytes_of(producer.public_key()), 1000, "t");
  store::MemoryStore db_a, db_b;
};

TEST_F(ChainTest, ProducedBlocksReplayOnAnotherNodeToTheSameState) {
  auto a = Chain::open(db_a, genesis).value();
  auto b = Chain::open(db_b, genesis).value();
  EXPECT_EQ(a->tip(), b->tip());
  ledger::Transaction tx;
  tx.chain_id = "t";
  tx.fee = ledger::imet(1);
  tx.expiry_height = 10;
  tx.body = ledger::Transfer{crypto::address_bytes_of(alice.public_key()), ledger::imet(7), {}};
  tx.sign(producer);
  ASSERT_FALSE(a->submit(tx));
  auto block = a->produce(producer, 2000);
  ASSERT_TRUE(block.ok()) << block.status().to_string();
  EXPECT_EQ(block->txs.size(), 1u);
  ASSERT_TRUE(replay(*a, *b, *block).ok());
  EXPECT_EQ(a->tip(), b->tip());
  EXPECT_EQ(a->store().tx_location(tx.id()).value()->height, 1u);
  EXPECT_EQ(a->store().block_at(1).value()->header.hash(), a->tip().hash);
  // Re-applying the same block, or a block with a forged state root, is refused.
  EXPECT_FALSE(replay(*a, *b, *block).ok());
  auto next = a->produce(producer, 3000).value();
  ledger::Block forged = next;
  forged.header.state_root[0] ^= 1;
  forged.header.sign(producer);
  auto st = b->validate(forged);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("state root"), std::string::npos) << st.message();
  EXPECT_EQ(b->tip().height, 1u);  // nothing committed
  ASSERT_TRUE(replay(*a, *b, next).ok());
  EXPECT_EQ(a->tip(), b->tip());
}

TEST_F(ChainTest, ReopenKeepsTipAndRefusesAnotherGenesis) {
  {
    auto a = Chain::open(db_a, genesis).value();
    ASSERT_TRUE(a->produce(producer, 2000).ok());
  }
  auto again = Chain::open(db_a, genesis).value();
  EXPECT_EQ(again->tip().height, 1u);
  ledger::Genesis other = genesis;
  other.genesis_time_ms += 1;
  auto refused = Chain::open(db_a, other);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("holds another chain"), std::string::npos);
  EXPECT_FALSE(again->produce(producer, 1500).ok());  // time must move forward
}

// The same blocks, with every registry kind and Proof-of-Data settlement across an epoch payout,
// give the same state roots on RocksDB (producer) and in memory (replaying node), also after the
// RocksDB node is reopened; the payout reaches the relaying node's owner.
TEST_F(ChainTest, PodBlocksGiveTheSameRootsOnRocksDbAndInMemory) {
  std::string dir =
      (std::filesystem::temp_directory_path() / ("imet-chain-test-" + std::to_string(::getpid())))
          .string();
  std::filesystem::remove_all(dir);
  auto rocks = store::RocksStore::open(dir).value();
  auto a = Chain::open(*rocks, genesis).value();
  auto b = Chain::open(db_b, genesis).value();
  const uint64_t eb = genesis.params.pod.epoch_blocks;
  crypto::SigningKey node_a = key(11), node_b = key(12);
  uint64_t producer_nonce = 0, alice_nonce = 0, time = 1000;
  auto tx = [&](const crypto::SigningKey& from, uint64_t& nonce, ledger::TxBody body) {
    ledger::Transaction t;
    t.chain_id = "t";
    t.nonce = nonce++;
    t.fee = ledger::imet(200);
    t.expiry_height = 10'000;
    t.body = std::move(body);
    t.sign(from);
    return t;
  };
  auto step = [&](std::vector<ledger::Transaction> txs) {
    for (const auto& t : txs) {
      auto r = a->submit(t);
      ASSERT_FALSE(r) << r->message;
    }
    time += 1000;
    auto block = a->produce(producer, time);
    ASSERT_TRUE(block.ok()) << block.status().to_string();
    ASSERT_EQ(block->txs.size(), txs.size());
    auto st = replay(*a, *b, *block);
    ASSERT_TRUE(st.ok()) << st.to_string();
    ASSERT_EQ(a->tip(), b->tip());
  };
  auto register_node = [&](const crypto::SigningKey& owner, const crypto::SigningKey& node) {
    ledger::RegisterNode r;
    r.node_key = node.public_key();
    r.info.endpoints = {"tcp://192.0.2.1:7645"};
    r.stake = ledger::imet(500);
    r.node_signature = node.sign(ledger::node_ownership_message("t", owner.public_key()));
    return r;
  };
  const auto alice_addr = crypto::address_bytes_of(alice.public_key());
  step({tx(producer, producer_nonce, ledger::Transfer{alice_addr, ledger::imet(5000), {}})});
  step({tx(producer, producer_nonce, register_node(producer, node_a)),
        tx(alice, alice_nonce, register_node(alice, node_b)),
        tx(alice, alice_nonce, ledger::NameRegister{"n", {ledger::NameTargetKind::kUrl, "u"}})});
  // Into epoch 1 (past node_a's warm-up), then node_b receipts node_a's relay.
  while (a->tip().height < eb + 1)
    step({});
  ledger::PodReceipt r;
  r.relayer = node_a.public_key();
  r.epoch = 1;
  r.tier = 1;
  r.message_count = 2;
  r.bytes = 1000;
  r.chain_entropy = a->tip().hash;
  ledger::sign_receipt(r, "t", node_b);
  step({tx(producer, producer_nonce, ledger::PodSettle{{r}})});
  auto epoch =
      ledger::get_record<ledger::EpochRecord>(a->store().state(), ledger::keys::pod_epoch(1))
          .value();
  ASSERT_TRUE(epoch);
  ASSERT_EQ(epoch->relayers.size(), 1u);
  EXPECT_EQ(epoch->relayers[0].weight, 4000u);
  // Run to the payout block of epoch 1 (the first block of epoch 3).
  while (a->tip().height < 3 * eb - 1)
    step({});
  const ledger::Amount pool_1 =
      ledger::get_record<ledger::EpochRecord>(a->store().state(), ledger::keys::pod_epoch(1))
          .value()
          ->pool;
  auto producer_acc = [&](Chain& c) {
    return ledger::get_record<ledger::Account>(
               c.store().state(),
               ledger::keys::account(crypto::address_bytes_of(producer.public_key())))
        .value()
        .value();
  };
  ledger::Amount before = producer_acc(*a).balance;
  step({});  // payout block: the producer is also node_a's owner
  EXPECT_FALSE(
      ledger::get_record<ledger::EpochRecord>(a->store().state(), ledger::keys::pod_epoch(1))
          .value());
  // The producer gets its 1 IMET block share plus the whole epoch pool (the only relayer).
  EXPECT_EQ(producer_acc(*a).balance, before + ledger::imet(1) + pool_1);
  EXPECT_EQ(producer_acc(*b).balance, producer_acc(*a).balance);
  store::TipRecord tip = a->tip();
  a.reset();
  rocks.reset();
  auto reopened = store::RocksStore::open(dir).value();
  auto again = Chain::open(*reopened, genesis).value();
  EXPECT_EQ(again->tip(), tip);
  EXPECT_EQ(again->tip(), b->tip());
  again.reset();
  reopened.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace imet::node
