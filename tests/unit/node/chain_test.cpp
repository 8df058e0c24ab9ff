#include "node/chain.h"

#include <gtest/gtest.h>

#include "store/memory_store.h"

namespace imet::node {
namespace {

crypto::SigningKey key(uint8_t b) {
  crypto::Seed s{};
  s.fill(b);
  return crypto::SigningKey::from_seed(s);
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
  ASSERT_TRUE(b->apply(*block).ok());
  EXPECT_EQ(a->tip(), b->tip());
  EXPECT_EQ(a->store().tx_location(tx.id()).value()->height, 1u);
  EXPECT_EQ(a->store().block_at(1).value()->header.hash(), a->tip().hash);
  // Re-applying the same block, or a block with a forged state root, is refused.
  EXPECT_FALSE(b->apply(*block).ok());
  auto next = a->produce(producer, 3000).value();
  ledger::Block forged = next;
  forged.header.state_root[0] ^= 1;
  forged.header.sign(producer);
  auto st = b->apply(forged);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("state root"), std::string::npos) << st.message();
  EXPECT_EQ(b->tip().height, 1u);  // nothing committed
  ASSERT_TRUE(b->apply(next).ok());
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

}  // namespace
}  // namespace imet::node
