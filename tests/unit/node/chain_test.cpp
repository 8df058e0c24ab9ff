#include "node/chain.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <unistd.h>

#include "ledger/delegates.h"
#include "ledger/pod.h"
#include "ledger/schedule.h"
#include "store/memory_store.h"
#include "store/rocks_store.h"

namespace imet::node {
namespace {

crypto::SigningKey chain_key(uint8_t b) {
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
  crypto::SigningKey producer = chain_key(1), alice = chain_key(2);
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
  crypto::SigningKey node_a = chain_key(11), node_b = chain_key(12);
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
  // The dev delegate votes for itself (genesis): its tally followed the payout and every reward.
  EXPECT_EQ(
      ledger::tally_of(a->store().state(), crypto::address_bytes_of(producer.public_key())).value(),
      producer_acc(*a).owned());
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

// ---- consensus::ChainView over four witnesses ----

class WitnessChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<ledger::Address> addrs;
    for (uint8_t i = 0; i < 4; ++i) {
      keys_.push_back(chain_key(static_cast<uint8_t>(40 + i)));
      addrs.push_back(crypto::address_bytes_of(keys_.back().public_key()));
    }
    genesis_ = ledger::make_testnet_genesis(addrs, 1000, "wt", 500);
    a_ = Chain::open(db_a_, genesis_, {.serial_verifier = true}).value();
    b_ = Chain::open(db_b_, genesis_, {.serial_verifier = true}).value();
  }

  const crypto::SigningKey& key_of(const ledger::Address& a) const {
    for (const auto& k : keys_) {
      if (crypto::address_bytes_of(k.public_key()) == a) return k;
    }
    throw std::runtime_error("no such witness");
  }

  // COMMITs of the first `n` witnesses (in key order) for `b` at `attempt`.
  ledger::FinalityCertificate cert_for(const ledger::Block& b, size_t n, uint32_t attempt = 0) {
    ledger::FinalityCertificate c;
    c.height = b.header.height;
    c.attempt = attempt;
    c.block_hash = b.header.hash();
    for (size_t i = 0; i < n; ++i) {
      ledger::WitnessVote v;
      v.chain_id = "wt";
      v.type = ledger::VoteType::kCommit;
      v.height = c.height;
      v.attempt = attempt;
      v.block_hash = c.block_hash;
      v.sign(keys_[i]);
      c.commits.push_back({v.voter, v.signature});
    }
    std::sort(c.commits.begin(), c.commits.end());
    return c;
  }

  // Builds the next block on `a_` by the producer of `attempt`, commits it on both chains.
  ledger::Block step(uint32_t attempt = 0) {
    auto who = a_->producer(attempt).value().value();
    uint64_t t = a_->tip().time_ms + 500;
    auto block = a_->build(key_of(who), t, attempt, {}).value();
    auto cert = cert_for(block, 3, attempt);
    EXPECT_TRUE(a_->commit(block, cert).ok());
    EXPECT_TRUE(b_->commit(block, cert).ok());
    return block;
  }

  std::vector<crypto::SigningKey> keys_;
  ledger::Genesis genesis_;
  store::MemoryStore db_a_, db_b_;
  std::unique_ptr<Chain> a_, b_;
};

TEST_F(WitnessChainTest, ScheduleAndProducersComeFromGenesis) {
  auto s = a_->next_schedule().value();
  EXPECT_EQ(s.round, 0u);
  EXPECT_EQ(s.start_height, 1u);
  ASSERT_EQ(s.size(), 4u);
  for (uint32_t i = 0; i < 4; ++i)
    EXPECT_EQ(a_->producer(i).value(), s.witnesses[i]) << i;
  EXPECT_EQ(a_->producer(4).value(), s.witnesses[0]);
  EXPECT_EQ(b_->next_schedule().value(), s);  // every node derives the same schedule
  // The dev shortcut refuses to self-certify a 4-witness chain.
  auto p = a_->produce(keys_[0], 2000);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("4 witnesses"), std::string::npos) << p.status().message();
}

// producer() keeps its answers from block to block and re-reads only the delegate records a block
// wrote (Chain::ProducerCache): when parent certificates with late attempts jail witnesses in the
// middle of a round, its answers stay those of ledger::producer_of() over the committed state, on
// the chain that builds (asks before every block) and on the one that only validates.
TEST_F(WitnessChainTest, ProducerAnswersFollowJailsWithinARound) {
  auto expect_producers_of_state = [](Chain& c) {
    const uint64_t height = c.tip().height + 1;
    const ledger::RoundSchedule s = c.next_schedule().value();
    for (uint32_t attempt = 0; attempt < 8; ++attempt) {
      EXPECT_EQ(c.producer(attempt).value().value(),
                ledger::producer_of(c.store().state(), s, height, attempt).value())
          << "height " << height << " attempt " << attempt;
    }
  };
  // Round 0 is heights 1..4. Height 1 is decided at attempt 9: block 2 counts the producers of
  // attempts 0..8 as missed, which jails the witness that missed three of them; it is skipped at
  // heights 3 and 4. (Round 1 leaves it out, and the certificates here need four witnesses.)
  size_t heights_with_a_jail = 0;
  for (uint32_t attempt : {9u, 0u, 0u}) {
    step(attempt);
    expect_producers_of_state(*a_);
    expect_producers_of_state(*b_);
    const ledger::RoundSchedule s = a_->next_schedule().value();
    const uint64_t height = a_->tip().height + 1;
    if (ledger::unjailed_witnesses(a_->store().state(), s, height).value().size() < s.size())
      ++heights_with_a_jail;
  }
  EXPECT_GT(heights_with_a_jail, 0u);  // the test saw a witness jailed inside a round
}

TEST_F(WitnessChainTest, ValidateCachesTheExecutionAndCommitReusesIt) {
  auto who = a_->producer(0).value().value();
  auto block = a_->build(key_of(who), 1500, 0, {}).value();
  EXPECT_EQ(a_->executions(), 0u);  // the producer's own block is cached by build()
  ASSERT_TRUE(a_->validate(block).ok());
  EXPECT_EQ(a_->executions(), 0u);
  ASSERT_TRUE(b_->validate(block).ok());
  ASSERT_TRUE(b_->validate(block).ok());
  EXPECT_EQ(b_->executions(), 1u);
  auto cert = cert_for(block, 3);
  ASSERT_TRUE(b_->commit(block, cert).ok());
  EXPECT_EQ(b_->executions(), 1u);  // commit did not execute the block again
  EXPECT_EQ(b_->final_tip().height, 1u);
  EXPECT_EQ(b_->final_tip().hash, block.header.hash());
  EXPECT_EQ(b_->certificate(1).value(), cert);
  EXPECT_EQ(b_->store().certificate(1).value(), cert);
  EXPECT_FALSE(b_->certificate(0).value());
  EXPECT_FALSE(b_->certificate(2).value());
  // A chain that never validated it executes it inside commit().
  store::MemoryStore db_c;
  auto c = Chain::open(db_c, genesis_, {.serial_verifier = true}).value();
  ASSERT_TRUE(c->commit(block, cert).ok());
  EXPECT_EQ(c->executions(), 1u);
  EXPECT_EQ(c->tip(), b_->tip());
}

TEST_F(WitnessChainTest, CommitRefusesBadCertificatesAndCommitsNothing) {
  auto who = a_->producer(0).value().value();
  auto block = a_->build(key_of(who), 1500, 0, {}).value();
  auto too_few = cert_for(block, 2);  // quorum(4) = 3
  auto st = b_->commit(block, too_few);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("quorum is 3 of 4"), std::string::npos) << st.message();
  auto other = cert_for(block, 3);
  other.block_hash[0] ^= 1;
  st = b_->commit(block, other);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("certificate is for"), std::string::npos) << st.message();
  auto outsider = cert_for(block, 3);
  ledger::WitnessVote v;
  v.chain_id = "wt";
  v.type = ledger::VoteType::kCommit;
  v.height = 1;
  v.block_hash = block.header.hash();
  v.sign(chain_key(99));
  outsider.commits.push_back({v.voter, v.signature});
  std::sort(outsider.commits.begin(), outsider.commits.end());
  st = b_->commit(block, outsider);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("not a witness"), std::string::npos) << st.message();
  EXPECT_EQ(b_->tip().height, 0u);
  EXPECT_FALSE(b_->certificate(1).value());
}

TEST_F(WitnessChainTest, BlocksCarryTheParentCertificateAndFollowTheSchedule) {
  ledger::Block first = step();
  ledger::Block second = step();
  ASSERT_TRUE(second.last_cert);
  EXPECT_EQ(*second.last_cert, a_->certificate(1).value().value());
  EXPECT_FALSE(first.last_cert);
  // A block by a witness that is not the producer of its attempt is invalid.
  auto s = a_->next_schedule().value();
  auto right = a_->producer(0).value().value();
  const crypto::SigningKey* wrong = nullptr;
  for (const auto& k : keys_) {
    if (crypto::address_bytes_of(k.public_key()) != right) wrong = &k;
  }
  auto bad = a_->build(*wrong, a_->tip().time_ms + 500, 0, {}).value();
  auto st = b_->validate(bad);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("is not the producer"), std::string::npos) << st.message();
  // The same witness is the producer of a later attempt: then the block is valid.
  for (uint32_t attempt = 1; attempt < 4; ++attempt) {
    if (a_->producer(attempt).value().value() != crypto::address_bytes_of(wrong->public_key())) {
      continue;
    }
    auto ok = a_->build(*wrong, a_->tip().time_ms + 500, attempt, {}).value();
    EXPECT_TRUE(b_->validate(ok).ok());
  }
  // Rounds of four blocks; the fifth block starts round 1 with a reshuffled order.
  while (a_->tip().height < 4)
    step();
  auto r1 = a_->next_schedule().value();
  EXPECT_EQ(r1.round, 1u);
  EXPECT_EQ(r1.start_height, 5u);
  EXPECT_EQ(r1, b_->next_schedule().value());
  ledger::Block fifth = step();
  EXPECT_EQ(fifth.header.round, 1u);
  EXPECT_EQ(fifth.header.producer_address(), r1.witnesses[0]);
  EXPECT_EQ(ledger::current_schedule(a_->store().state()).value().round, 1u);
}

TEST_F(WitnessChainTest, BuildIncludesEvidenceAndLeavesOutWhatNoLongerApplies) {
  step();
  auto equivocation = [&](const crypto::SigningKey& k, uint64_t height, uint8_t tag) {
    ledger::Hash x{}, y{};
    x[0] = tag;
    y[0] = static_cast<uint8_t>(tag + 1);
    ledger::WitnessVote a, b;
    for (auto* v : {&a, &b}) {
      v->chain_id = "wt";
      v->type = ledger::VoteType::kPrepare;
      v->height = height;
    }
    a.block_hash = x;
    b.block_hash = y;
    a.sign(k);
    b.sign(k);
    return *ledger::make_evidence(a, b);
  };
  auto ev = equivocation(keys_[3], 1, 1);
  auto again = equivocation(keys_[3], 1, 5);  // the same offence, another pair
  auto stranger = equivocation(chain_key(98), 1, 1);
  auto who = a_->producer(0).value().value();
  auto block = a_->build(key_of(who), a_->tip().time_ms + 500, 0, {ev, again, stranger}).value();
  ASSERT_EQ(block.evidence.size(), 1u);
  EXPECT_EQ(block.evidence[0], ev);
  auto cert = cert_for(block, 3);
  ASSERT_TRUE(b_->commit(block, cert).ok());
  ASSERT_TRUE(a_->commit(block, cert).ok());
  const auto offender = crypto::address_bytes_of(keys_[3].public_key());
  auto acc =
      ledger::get_record<ledger::Account>(b_->store().state(), ledger::keys::account(offender))
          .value()
          .value();
  EXPECT_EQ(acc.stake, ledger::imet(9'000));  // 10 % of the 10,000 IMET genesis stake
  // Already slashed: left out of the next block, which still builds.
  who = a_->producer(0).value().value();
  auto next = a_->build(key_of(who), a_->tip().time_ms + 500, 0, {ev}).value();
  EXPECT_TRUE(next.evidence.empty());
}

TEST_F(WitnessChainTest, SignaturesAdmittedToTheMempoolAreNotVerifiedAgain) {
  auto sender = keys_[0];
  ledger::Transaction tx;
  tx.chain_id = "wt";
  tx.fee = ledger::imet(1);
  tx.expiry_height = 100;
  tx.body =
      ledger::Transfer{crypto::address_bytes_of(chain_key(7).public_key()), ledger::imet(3), {}};
  tx.sign(sender);
  ASSERT_FALSE(a_->submit(tx));
  ASSERT_FALSE(b_->submit(tx));
  auto who = a_->producer(0).value().value();
  auto block = a_->build(key_of(who), 1500, 0, {}).value();
  ASSERT_EQ(block.txs.size(), 1u);
  EXPECT_EQ(b_->signature_checks(), 0u);
  ASSERT_TRUE(b_->validate(block).ok());
  EXPECT_EQ(b_->signature_checks(), 0u);  // admitted by submit(): not verified again
  store::MemoryStore db_c;
  auto c = Chain::open(db_c, genesis_, {.serial_verifier = true}).value();
  ASSERT_TRUE(c->validate(block).ok());
  EXPECT_EQ(c->signature_checks(), 1u);  // never seen: verified
}

}  // namespace
}  // namespace imet::node
