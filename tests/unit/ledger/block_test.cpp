#include <gtest/gtest.h>

#include "ledger/block_apply.h"
#include "ledger/genesis.h"
#include "ledger/schedule.h"
#include "ledger_test_util.h"

namespace imet::ledger {
namespace {

using testing::addr_of;
using testing::key_from;

class BlockTest : public ::testing::Test {
 protected:
  crypto::SigningKey producer = key_from(100);
  crypto::SigningKey alice = key_from(1);
  crypto::SigningKey bob = key_from(2);
  ChainConfig chain;
  MemoryState state;
  ChainTip tip;
  std::map<Address, uint64_t> nonces;

  void SetUp() override {
    Genesis g = make_dev_genesis(addr_of(producer), 1'000'000, "imet-test");
    chain = {g.chain_id, g.genesis_time_ms, g.params};
    StateOverlay o(&state);
    g.apply(o);
    state.apply(o.changes());
    tip = {0, g.hash(), g.genesis_time_ms};
    // Give alice coins through a first block.
    Block b = build({tx(producer, Transfer{addr_of(alice), imet(1000), {}})});
    ASSERT_FALSE(apply(b));
  }

  Transaction tx(const crypto::SigningKey& k, TxBody body) {
    Transaction t;
    t.chain_id = chain.chain_id;
    t.nonce = nonces[addr_of(k)]++;
    t.body = std::move(body);
    t.fee = chain.params.fees.min_fee(t.kind());
    t.expiry_height = tip.height + 100;
    t.sign(k);
    return t;
  }

  // The tip's certificate (its only witness, the producer, signed it); none for genesis.
  std::optional<FinalityCertificate> last_cert() {
    if (tip.height == 0) return std::nullopt;
    return testing::certify(chain.chain_id, tip.height, tip.hash, {&producer});
  }

  // The round of the next block (with one witness, every block starts a round).
  uint64_t round() { return next_schedule(state, tip, chain.params).value().round; }

  Block build(const std::vector<Transaction>& txs, const crypto::SigningKey* by = nullptr) {
    StateOverlay scratch(&state);
    auto built = build_block(scratch, txs, tip, chain, (by ? *by : producer).public_key(),
                             tip.time_ms + 1000, round(), 0, last_cert());
    EXPECT_TRUE(built.ok()) << built.status().to_string();
    Block b = built->block;
    b.header.sign(by ? *by : producer);
    return b;
  }

  BlockResult apply(const Block& b) {
    StateOverlay o(&state);
    BlockResult r = apply_block(o, b, tip, chain, SerialVerifier());
    if (!r) {
      state.apply(o.changes());
      tip = {b.header.height, b.header.hash(), b.header.time_ms};
    } else {
      EXPECT_TRUE(o.changes().empty());
    }
    return r;
  }

  Account account(const Address& a) {
    return get_record<Account>(state, keys::account(a)).value().value_or(Account{});
  }
  Globals globals() { return *get_record<Globals>(state, keys::globals()).value(); }
  Amount supply() {
    Amount sum = globals().pod_pool + globals().epoch_reward;
    for (const auto& [k, v] : state.entries()) {
      if (k[0] == 'a') sum += codec::decode<Account>(v).value().owned();
    }
    return sum;
  }
};

TEST_F(BlockTest, RewardSplitAndSupplyConserved) {
  Amount pool_before = globals().pod_pool;
  Amount producer_before = account(addr_of(producer)).balance;
  ASSERT_FALSE(apply(build({tx(alice, Transfer{addr_of(bob), imet(10), {}})})));
  EXPECT_EQ(globals().pod_pool, pool_before - imet(5));  // year 1: 5 IMET per block
  // 20 % of the reward plus the transaction fee to the producer, 80 % to the epoch pool.
  EXPECT_EQ(account(addr_of(producer)).balance, producer_before + imet(1) + imet(1) / 2);
  EXPECT_EQ(globals().epoch_reward, imet(4) * 2);  // two blocks so far
  EXPECT_EQ(supply(), kTotalSupply);
}

TEST_F(BlockTest, BuildSkipsInvalidCandidates) {
  Transaction good = tx(alice, Transfer{addr_of(bob), imet(1), {}});
  Transaction broke = tx(bob, Transfer{addr_of(alice), imet(1), {}});  // bob has nothing yet
  StateOverlay scratch(&state);
  auto built = build_block(scratch, {good, broke}, tip, chain, producer.public_key(),
                           tip.time_ms + 1000, round(), 0, last_cert());
  ASSERT_TRUE(built.ok());
  ASSERT_EQ(built->block.txs.size(), 1u);
  ASSERT_EQ(built->rejected.size(), 1u);
  EXPECT_EQ(built->rejected[0].second.reason, Reject::kInsufficientFunds);
}

TEST_F(BlockTest, InvalidBlocksAreRejectedWhole) {
  Block b = build({tx(alice, Transfer{addr_of(bob), imet(1), {}})});
  auto expect_bad = [&](Block bad, const std::string& fragment) {
    BlockResult r = apply(bad);
    ASSERT_TRUE(r.has_value()) << fragment;
    EXPECT_NE(r->message.find(fragment), std::string::npos) << r->message;
  };
  Block wrong_height = b;
  wrong_height.header.height += 1;
  wrong_height.header.sign(producer);
  expect_bad(wrong_height, "does not follow");
  Block wrong_parent = b;
  wrong_parent.header.prev_hash[0] ^= 1;
  wrong_parent.header.sign(producer);
  expect_bad(wrong_parent, "does not build on the current tip");
  Block old_time = b;
  old_time.header.time_ms = tip.time_ms;
  old_time.header.sign(producer);
  expect_bad(old_time, "is not after its parent");
  Block unsigned_block = b;
  unsigned_block.header.slot = 5;  // changed after signing
  expect_bad(unsigned_block, "producer signature does not verify");
  Block extra_tx = b;
  extra_tx.txs.push_back(tx(alice, Transfer{addr_of(bob), imet(1), {}}));
  expect_bad(extra_tx, "transaction root does not match");
  // A transaction with a bad signature, with a correctly recomputed root.
  Block bad_sig = b;
  std::get<Transfer>(bad_sig.txs[0].body).amount = imet(900);
  bad_sig.header.tx_root = tx_root(bad_sig.txs);
  bad_sig.header.sign(producer);
  BlockResult r = apply(bad_sig);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tx_index, 0u);
  EXPECT_EQ(r->tx_error->reason, Reject::kBadSignature);
  // A replayed transaction (nonce already used) makes the block invalid.
  ASSERT_FALSE(apply(b));
  Block replay = build({});
  replay.txs = b.txs;
  replay.header.tx_root = tx_root(replay.txs);
  replay.header.sign(producer);
  r = apply(replay);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tx_error->reason, Reject::kNonceTooLow);
  EXPECT_EQ(supply(), kTotalSupply);
}

TEST_F(BlockTest, RewardStopsWhenPoolIsEmpty) {
  StateOverlay o(&state);
  Globals g = globals();
  g.epoch_reward += g.pod_pool - imet(2);
  g.pod_pool = imet(2);
  put_record(o, keys::globals(), g);
  state.apply(o.changes());
  ASSERT_FALSE(apply(build({})));
  EXPECT_EQ(globals().pod_pool, 0u);
  ASSERT_FALSE(apply(build({})));
  EXPECT_EQ(globals().pod_pool, 0u);
  EXPECT_EQ(supply(), kTotalSupply);
}

}  // namespace
}  // namespace imet::ledger
