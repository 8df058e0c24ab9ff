#include "ledger/mempool.h"

#include <gtest/gtest.h>

#include "ledger_test_util.h"

namespace imet::ledger {
namespace {

using testing::addr_of;
using testing::key_from;

class MempoolTest : public ::testing::Test, public testing::LedgerFixture {
 protected:
  crypto::SigningKey alice = key_from(1), bob = key_from(2), carol = key_from(3);
  void SetUp() override {
    fund(alice, imet(1000));
    fund(bob, imet(1000));
  }
  ChainConfig chain() const { return {chain_id_, 0, params_}; }
  Transaction at(const crypto::SigningKey& k, uint64_t nonce, Amount fee, Amount amount = 1) {
    Transaction t;
    t.chain_id = chain_id_;
    t.nonce = nonce;
    t.fee = fee;
    t.expiry_height = 50;
    t.body = Transfer{addr_of(carol), amount, {}};
    t.sign(k);
    return t;
  }
  void expect_reject(TxResult r, Reject reason) {
    ASSERT_TRUE(r) << "expected " << reject_name(reason);
    EXPECT_EQ(r->reason, reason) << r->message;
  }
  const Amount half = imet(1) / 2;
};

TEST_F(MempoolTest, SelectsContiguousNoncesByFeePriority) {
  Mempool pool(chain(), {});
  ASSERT_FALSE(pool.add(at(alice, 0, half), state_, 1));
  ASSERT_FALSE(pool.add(at(alice, 1, imet(5)), state_, 1));
  ASSERT_FALSE(pool.add(at(alice, 3, imet(9)), state_, 1));  // gap at 2: not ready
  ASSERT_FALSE(pool.add(at(bob, 0, imet(1)), state_, 1));
  EXPECT_EQ(pool.size(), 4u);
  auto sel = pool.select(state_, 10);
  ASSERT_EQ(sel.size(), 3u);
  // bob's head (1 IMET) beats alice's head (0.5); alice's nonce 1 follows her nonce 0.
  EXPECT_EQ(sel[0].sender, bob.public_key());
  EXPECT_EQ(sel[1].nonce, 0u);
  EXPECT_EQ(sel[2].nonce, 1u);
  EXPECT_EQ(pool.select(state_, 1).size(), 1u);
}

TEST_F(MempoolTest, AdmissionRejections) {
  Mempool pool(
      chain(),
      {.max_txs = 100, .max_bytes = 1 << 20, .max_per_account = 4, .replace_bump_pct = 10});
  Transaction t = at(alice, 0, half);
  ASSERT_FALSE(pool.add(t, state_, 1));
  expect_reject(pool.add(t, state_, 1), Reject::kDuplicate);
  expect_reject(pool.add(at(alice, 0, half + 1), state_, 1), Reject::kReplacementUnderpriced);
  EXPECT_FALSE(pool.add(at(alice, 0, imet(1)), state_, 1));  // +100 %: replaces
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(pool.select(state_, 5)[0].fee, imet(1));
  expect_reject(pool.add(at(alice, 4, half), state_, 1), Reject::kAccountLimit);
  expect_reject(pool.add(at(alice, 1, half / 2), state_, 1), Reject::kFeeTooLow);
  Transaction forged = at(alice, 1, half);
  forged.fee = imet(2);
  expect_reject(pool.add(forged, state_, 1), Reject::kBadSignature);
  expect_reject(pool.add(at(alice, 1, half), state_, 51), Reject::kExpired);
  Transaction far = at(alice, 1, half);
  far.expiry_height = 1 + params_.max_expiry_blocks + 1;
  far.sign(alice);
  expect_reject(pool.add(far, state_, 1), Reject::kExpiryTooFar);
  // Already-used nonce (state nonce advanced by an applied transaction).
  ASSERT_FALSE(send(bob, Transfer{addr_of(carol), 1, {}}));
  expect_reject(pool.add(at(bob, 0, half), state_, 1), Reject::kNonceTooLow);
}

TEST_F(MempoolTest, FullPoolEvictsLowestPriorityOnly) {
  Mempool pool(chain(),
               {.max_txs = 2, .max_bytes = 1 << 20, .max_per_account = 64, .replace_bump_pct = 10});
  ASSERT_FALSE(pool.add(at(alice, 0, imet(1)), state_, 1));
  ASSERT_FALSE(pool.add(at(bob, 0, imet(2)), state_, 1));
  expect_reject(pool.add(at(alice, 1, half), state_, 1), Reject::kMempoolFull);
  // alice#1 would have to evict alice#0, its own predecessor: refused.
  expect_reject(pool.add(at(alice, 1, imet(3)), state_, 1), Reject::kMempoolFull);
  // carol pays more per byte than alice#0, the lowest: alice#0 is evicted.
  Transaction c0 = at(carol, 0, imet(3));
  ASSERT_FALSE(pool.add(c0, state_, 1));
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_TRUE(pool.contains(c0.id()));
  EXPECT_FALSE(pool.contains(at(alice, 0, imet(1)).id()));
}

TEST_F(MempoolTest, RefusesAsFullExactlyWhenAddWouldForLackOfRoom) {
  Mempool pool(chain(),
               {.max_txs = 2, .max_bytes = 1 << 20, .max_per_account = 64, .replace_bump_pct = 10});
  EXPECT_FALSE(pool.refuses_as_full(at(alice, 0, imet(1))));  // room left
  ASSERT_FALSE(pool.add(at(alice, 0, imet(1)), state_, 1));
  ASSERT_FALSE(pool.add(at(bob, 0, imet(2)), state_, 1));
  Transaction same_fee = at(carol, 0, imet(1));
  EXPECT_TRUE(pool.refuses_as_full(same_fee));  // no more per byte than alice#0, the lowest
  expect_reject(pool.add(same_fee, state_, 1), Reject::kMempoolFull);
  EXPECT_TRUE(pool.refuses_as_full(at(alice, 1, imet(3))));  // would evict its own predecessor
  EXPECT_FALSE(pool.refuses_as_full(at(bob, 0, imet(3))));   // a replacement: no growth
  Transaction richer = at(carol, 0, imet(3));
  EXPECT_FALSE(pool.refuses_as_full(richer));  // evicts alice#0
  EXPECT_FALSE(pool.add(richer, state_, 1));
}

TEST_F(MempoolTest, ABusyPoolAdmitsNoNonceGaps) {
  ASSERT_EQ(Mempool::kGapFreePct, 50u);
  Mempool pool(chain(),
               {.max_txs = 4, .max_bytes = 1 << 20, .max_per_account = 64, .replace_bump_pct = 10});
  ASSERT_FALSE(pool.add(at(bob, 0, imet(1)), state_, 1));
  ASSERT_FALSE(pool.add(at(alice, 2, imet(1)), state_, 1));  // a quarter full: a gap is fine
  // Half full: bob#2 would wait behind the missing bob#1.
  expect_reject(pool.add(at(bob, 2, imet(1)), state_, 1), Reject::kNonceTooHigh);
  ASSERT_FALSE(pool.add(at(alice, 3, imet(1)), state_, 1));  // follows the pending alice#2
  ASSERT_FALSE(pool.add(at(bob, 1, imet(1)), state_, 1));    // no gap
  EXPECT_EQ(pool.size(), 4u);
}

TEST_F(MempoolTest, AtAnEqualFeeRateTheNewTransactionIsRefusedNotAnAcceptedOneEvicted) {
  Mempool pool(chain(),
               {.max_txs = 1, .max_bytes = 1 << 20, .max_per_account = 64, .replace_bump_pct = 10});
  // alice#0 carries a memo: the same fee buys it a slightly lower fee per byte than carol's.
  Transaction longer = at(alice, 0, imet(1));
  std::get<Transfer>(longer.body).memo = util::Bytes(8, 7);
  longer.sign(alice);
  ASSERT_FALSE(pool.add(longer, state_, 1));
  Transaction shorter = at(carol, 0, imet(1));
  EXPECT_TRUE(pool.refuses_as_full(shorter));
  expect_reject(pool.add(shorter, state_, 1), Reject::kMempoolFull);
  EXPECT_TRUE(pool.contains(longer.id())) << "an accepted transaction was evicted";
  // Paying at least replace_bump_pct (10 %) more per byte does evict it.
  Transaction richer = at(carol, 0, imet(1) + imet(1) / 5);
  EXPECT_FALSE(pool.refuses_as_full(richer));
  EXPECT_FALSE(pool.add(richer, state_, 1));
  EXPECT_FALSE(pool.contains(longer.id()));
}

TEST_F(MempoolTest, TheOwnerCanLowerTheGapFreeThreshold) {
  Mempool pool(
      chain(),
      {.max_txs = 100, .max_bytes = 1 << 20, .max_per_account = 64, .replace_bump_pct = 10});
  EXPECT_EQ(pool.gap_free_from(), 50u);
  pool.set_gap_free_from(1);
  EXPECT_EQ(pool.gap_free_from(), 1u);
  ASSERT_FALSE(pool.add(at(alice, 1, imet(1)), state_, 1));  // empty: a gap is fine
  expect_reject(pool.add(at(bob, 1, imet(1)), state_, 1), Reject::kNonceTooHigh);
  ASSERT_FALSE(pool.add(at(bob, 0, imet(1)), state_, 1));
  pool.set_gap_free_from(1000);  // never above half of max_txs
  EXPECT_EQ(pool.gap_free_from(), 50u);
  EXPECT_TRUE(pool.replaces_pending(at(bob, 0, imet(5))));
  EXPECT_FALSE(pool.replaces_pending(at(bob, 1, imet(5))));
}

TEST_F(MempoolTest, RefusedReplacementKeepsTheOriginal) {
  // Room for exactly the original's bytes: a larger replacement cannot fit and must not evict it.
  Transaction original = at(alice, 0, imet(1));
  Mempool probe(chain(), {});
  ASSERT_FALSE(probe.add(original, state_, 1));
  Mempool pool(
      chain(),
      {.max_txs = 10, .max_bytes = probe.bytes(), .max_per_account = 64, .replace_bump_pct = 10});
  ASSERT_FALSE(pool.add(original, state_, 1));
  Transaction bigger = at(alice, 0, imet(2));
  std::get<Transfer>(bigger.body).memo = util::Bytes(100, 7);
  bigger.sign(alice);
  expect_reject(pool.add(bigger, state_, 1), Reject::kMempoolFull);
  EXPECT_TRUE(pool.contains(original.id()));
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(pool.bytes(), probe.bytes());
  // A replacement of the same size fits in the original's place.
  ASSERT_FALSE(pool.add(at(alice, 0, imet(2)), state_, 1));
  EXPECT_FALSE(pool.contains(original.id()));
  EXPECT_EQ(pool.size(), 1u);
}

TEST_F(MempoolTest, OnBlockDropsIncludedAndExpired) {
  Mempool pool(chain(), {});
  Transaction a0 = at(alice, 0, half);
  ASSERT_FALSE(pool.add(a0, state_, 1));
  ASSERT_FALSE(pool.add(at(bob, 0, half), state_, 1));
  ASSERT_FALSE(submit(a0));  // included in a block
  pool.on_block(state_, 2);
  EXPECT_FALSE(pool.contains(a0.id()));
  EXPECT_EQ(pool.size(), 1u);
  pool.on_block(state_, 51);  // bob's expired
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_EQ(pool.bytes(), 0u);
}

TEST_F(MempoolTest, AdmissionSeesTheNonceOfTheLatestBlockForPendingSenders) {
  // alice keeps a pending transaction across the block (nonce 3 waits for 2), so her account
  // nonce is the pool's cached one: it must follow the block.
  Mempool pool(chain(), {});
  Transaction a0 = at(alice, 0, half), a1 = at(alice, 1, half), a3 = at(alice, 3, half);
  for (const Transaction& t : {a0, a1, a3})
    ASSERT_FALSE(pool.add(t, state_, 1));
  ASSERT_FALSE(submit(a0));
  ASSERT_FALSE(submit(a1));
  pool.on_block(state_, 2);
  EXPECT_EQ(pool.size(), 1u);
  expect_reject(pool.add(at(alice, 1, imet(1)), state_, 2), Reject::kNonceTooLow);
  ASSERT_FALSE(pool.add(at(alice, 2, half), state_, 2));
  auto sel = pool.select(state_, 10);
  ASSERT_EQ(sel.size(), 2u);
  EXPECT_EQ(sel[0].nonce, 2u);
  EXPECT_EQ(sel[1].nonce, 3u);
}

TEST_F(MempoolTest, RemoveDropsOneTransactionAndItsAccounting) {
  Mempool pool(chain(), {});
  Transaction a0 = at(alice, 0, half), a1 = at(alice, 1, half), b0 = at(bob, 0, half);
  for (const Transaction& t : {a0, a1, b0})
    ASSERT_FALSE(pool.add(t, state_, 1));
  size_t bytes = pool.bytes();
  pool.remove(a0.id());
  EXPECT_FALSE(pool.contains(a0.id()));
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_EQ(pool.bytes(), bytes - codec::encoded_size(a0));
  // alice's nonce 1 now waits for a new nonce 0: only bob's is ready.
  auto sel = pool.select(state_, 10);
  ASSERT_EQ(sel.size(), 1u);
  EXPECT_EQ(sel[0].id(), b0.id());
  pool.remove(a0.id());  // unknown id: no effect
  EXPECT_EQ(pool.size(), 2u);
  ASSERT_FALSE(pool.add(at(alice, 0, imet(1)), state_, 1));  // the gap can be filled again
  EXPECT_EQ(pool.select(state_, 10).size(), 3u);
}

}  // namespace
}  // namespace imet::ledger
