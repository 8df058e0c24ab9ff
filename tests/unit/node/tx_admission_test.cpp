// Batch admission (node/tx_admission.h) against a real Chain over a MemoryStore: per-transaction
// results in order, bad signatures refused and recorded, duplicates not re-added, and transactions
// admitted in a batch count as verified for block validation.
#include "node/tx_admission.h"

#include <gtest/gtest.h>

#include "store/memory_store.h"

namespace imet::node {
namespace {

crypto::SigningKey key(uint8_t b) {
  crypto::Seed s{};
  s.fill(b);
  return crypto::SigningKey::from_seed(s);
}

class TxAdmissionTest : public ::testing::Test {
 protected:
  crypto::SigningKey producer = key(1), bob = key(2);
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
