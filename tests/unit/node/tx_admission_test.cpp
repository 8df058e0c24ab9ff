// Batch admission (node/tx_admission.h) against a real Chain over a MemoryStore: per-transaction
// results in order, bad signatures refused and recorded, duplicates not re-added, and transactions
// admitted in a batch count as verified for block validation.
#include "node/tx_admission.h"

#include <gtest/gtest.h>

#include "store/memory_store.h"

namespace imet::node {
namespace {

crypto::SigningKey admission_key(uint8_t b) {
  crypto::Seed s{};
  s.fill(b);
  return crypto::SigningKey::from_seed(s);
}

class TxAdmissionTest : public ::testing::Test {
 protected:
  crypto::SigningKey producer = admission_key(1), bob = admission_key(2);
  ledger::Genesis genesis =
      ledger::make_dev_genesis(crypto::address_bytes_of(producer.public_key()), 1000, "t");
  store::MemoryStore db;
  std::unique_ptr<Chain> chain = Chain::open(db, genesis).value();
  std::mutex mu;

  ledger::Transaction pay(uint64_t nonce) {
    ledger::Transaction tx;
    tx.chain_id = "t";
    tx.nonce = nonce;
    tx.fee = ledger::imet(1);
    tx.expiry_height = 10;
    tx.body = ledger::Transfer{crypto::address_bytes_of(bob.public_key()), ledger::imet(2), {}};
    tx.sign(producer);
    return tx;
  }
};

TEST_F(TxAdmissionTest, EachTransactionGetsItsOwnResultInOrder) {
  ledger::Transaction forged = pay(1);
  forged.signature[0] ^= 1;
  AdmissionResult r = admit(*chain, mu, {pay(0), forged, pay(2), pay(0)});
  ASSERT_EQ(r.results.size(), 4u);
  EXPECT_FALSE(r.results[0]);
  ASSERT_TRUE(r.results[1]);
  EXPECT_EQ(r.results[1]->reason, ledger::Reject::kBadSignature);
  EXPECT_FALSE(r.results[2]);  // nonce 2 waits for nonce 1 in the mempool
  ASSERT_TRUE(r.results[3]);
  EXPECT_EQ(r.results[3]->reason, ledger::Reject::kDuplicate);
  ASSERT_EQ(r.added.size(), 2u);
  EXPECT_EQ(r.added[0], pay(0));
  EXPECT_EQ(r.added[1], pay(2));
  EXPECT_EQ(chain->pending_count(), 2u);
  // The refusal is remembered like a single submission's.
  auto rej = chain->rejection(forged.id());
  ASSERT_TRUE(rej);
  EXPECT_EQ(rej->error.reason, ledger::Reject::kBadSignature);
}

TEST_F(TxAdmissionTest, AFullMempoolRefusesBeforeVerifyingSignatures) {
  store::MemoryStore small_db;
  auto small =
      Chain::open(small_db, genesis, {.mempool_limits = ledger::Mempool::Limits{.max_txs = 2}})
          .value();
  ASSERT_EQ(admit(*small, mu, {pay(0), pay(1)}).added.size(), 2u);
  ledger::Transaction forged = pay(2);
  forged.signature[0] ^= 1;
  AdmissionResult r = admit(*small, mu, {pay(2), forged});
  ASSERT_EQ(r.results.size(), 2u);
  for (const ledger::TxResult& e : r.results) {
    ASSERT_TRUE(e);
    // The forgery is not even looked at: refused as the node's state, not as bad input.
    EXPECT_EQ(e->reason, ledger::Reject::kMempoolFull) << e->message;
    EXPECT_NE(e->message.find("busy"), std::string::npos) << e->message;
  }
  EXPECT_TRUE(r.added.empty());
  EXPECT_EQ(small->pending_count(), 2u);
}

TEST_F(TxAdmissionTest, OverTheAdmissionLimitClientsAreRefusedBeforeVerifyingSignatures) {
  store::MemoryStore small_db;
  auto small = Chain::open(small_db, genesis, {.admission = {.slots = 4, .floor = 3}}).value();
  ASSERT_EQ(small->admission().limit(), 3u);  // a fresh chain: the floor
  // Under the limit: admitted. A batch takes only the room there is, in order.
  ledger::Transaction forged = pay(3);
  forged.signature[0] ^= 1;
  AdmissionResult r = admit(*small, mu, {pay(0), pay(1), pay(2), forged});
  ASSERT_EQ(r.results.size(), 4u);
  EXPECT_FALSE(r.results[0]);
  EXPECT_FALSE(r.results[1]);
  EXPECT_FALSE(r.results[2]);
  ASSERT_TRUE(r.results[3]);
  // The forgery is not even looked at: refused as the node's state, not as bad input.
  EXPECT_EQ(r.results[3]->reason, ledger::Reject::kMempoolFull) << r.results[3]->message;
  EXPECT_NE(r.results[3]->message.find("busy"), std::string::npos) << r.results[3]->message;
  EXPECT_NE(r.results[3]->message.find("admission limit of 3"), std::string::npos);
  EXPECT_EQ(r.refused_busy, 1u);
  EXPECT_GE(r.retry_after_s, 1u);
  EXPECT_EQ(r.added.size(), 3u);
  EXPECT_EQ(small->pending_count(), 3u);
  EXPECT_EQ(small->admission_stats().refused_busy, 1u);
  EXPECT_EQ(small->admission_stats().refused_full, 0u);
  // Nothing was remembered as verified or rejected for the refused one: it can come back.
  EXPECT_FALSE(small->knows(forged.id()));
  // At the limit, a valid transaction is refused too; an already pending one is a duplicate.
  AdmissionResult again = admit(*small, mu, {pay(3), pay(0)});
  ASSERT_TRUE(again.results[0]);
  EXPECT_EQ(again.results[0]->reason, ledger::Reject::kMempoolFull);
  ASSERT_TRUE(again.results[1]);
  EXPECT_EQ(again.results[1]->reason, ledger::Reject::kDuplicate);
  EXPECT_EQ(small->admission_stats().refused_busy, 2u);
}

TEST_F(TxAdmissionTest, ReplacementsAndPeerTransactionsAreNotSubjectToTheAdmissionLimit) {
  store::MemoryStore small_db;
  auto small = Chain::open(small_db, genesis, {.admission = {.slots = 4, .floor = 1}}).value();
  ASSERT_FALSE(admit(*small, mu, {pay(0)}).results[0]);
  // A fee bump of a pending transaction does not grow the backlog.
  ledger::Transaction bump = pay(0);
  bump.fee = ledger::imet(2);
  bump.sign(producer);
  EXPECT_FALSE(admit(*small, mu, {bump}).results[0]);
  EXPECT_EQ(small->pending_count(), 1u);
  // A client's new transaction is refused; the same from a peer (already admitted by another
  // node, which applied its own limit) is taken, after its signature is verified.
  ASSERT_TRUE(admit(*small, mu, {pay(1)}).results[0]);
  ledger::Transaction forged = pay(2);
  forged.signature[0] ^= 1;
  AdmissionResult r = admit(*small, mu, {pay(1), forged}, Origin::kPeer);
  EXPECT_FALSE(r.results[0]);
  ASSERT_TRUE(r.results[1]);
  EXPECT_EQ(r.results[1]->reason, ledger::Reject::kBadSignature);
  EXPECT_EQ(small->pending_count(), 2u);
}

TEST_F(TxAdmissionTest, TheAdmissionLimitFollowsFinalBlocks) {
  store::MemoryStore small_db;
  auto small = Chain::open(small_db, genesis, {.admission = {.slots = 4, .floor = 1}}).value();
  const uint64_t slot = genesis.params.slot_ms;
  // The first final block sets the reference time.
  ASSERT_TRUE(small->produce(producer, genesis.genesis_time_ms + slot).ok());
  EXPECT_EQ(small->admission().limit(), 1u);
  std::vector<ledger::Transaction> txs;
  for (uint64_t n = 0; n < 8; ++n)
    txs.push_back(pay(n));
  ASSERT_EQ(admit(*small, mu, txs, Origin::kPeer).added.size(), 8u);
  auto block = small->produce(producer, genesis.genesis_time_ms + 2 * slot);
  ASSERT_TRUE(block.ok()) << block.status().to_string();
  ASSERT_EQ(block->txs.size(), 8u);
  // 8 transactions finalized one slot later: the rate is positive, the limit above the floor.
  EXPECT_GT(small->admission().rate_per_ms(), 0);
  EXPECT_GT(small->admission().limit(), 1u);
  EXPECT_LE(small->admission().limit(), 4u * 8u);
}

TEST_F(TxAdmissionTest, AlreadyPendingTransactionsAreNotAddedOrRelayedAgain) {
  ASSERT_TRUE(admit(*chain, mu, {pay(0), pay(1)}).added.size() == 2);
  AdmissionResult again = admit(*chain, mu, {pay(1), pay(0), pay(2)});
  EXPECT_EQ(again.added.size(), 1u);
  EXPECT_EQ(again.added[0], pay(2));
  EXPECT_EQ(chain->pending_count(), 3u);
}

TEST_F(TxAdmissionTest, BatchAdmittedSignaturesAreKnownToBlockValidation) {
  store::MemoryStore other_db;
  auto other = Chain::open(other_db, genesis).value();
  ASSERT_EQ(admit(*chain, mu, {pay(0), pay(1)}).added.size(), 2u);
  std::mutex other_mu;
  ASSERT_EQ(admit(*other, other_mu, {pay(0), pay(1)}).added.size(), 2u);
  auto block = chain->produce(producer, 2000);
  ASSERT_TRUE(block.ok()) << block.status().to_string();
  ASSERT_EQ(block->txs.size(), 2u);
  auto cert = chain->certificate(1).value().value();
  ASSERT_TRUE(other->commit(*block, cert).ok());
  EXPECT_EQ(other->signature_checks(), 0u);
  EXPECT_EQ(other->tip(), chain->tip());
}

TEST_F(TxAdmissionTest, AnEmptyBatchIsFine) {
  AdmissionResult r = admit(*chain, mu, {});
  EXPECT_TRUE(r.results.empty());
  EXPECT_TRUE(r.added.empty());
}

}  // namespace
}  // namespace imet::node
