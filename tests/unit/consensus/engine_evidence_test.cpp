// consensus::Engine::on_evidence, the entry point for equivocation evidence learned from peers,
// against the real node::Chain over store::MemoryStore. The chain has one witness (it decides
// alone, so blocks commit on the engine's own timers) and two more delegates that are not
// witnesses but are slashable: evidence against them is accepted once, goes into the next block,
// slashes slash_pct % of the offender's stake and jails it, and leaves the pending pool; every
// refusal gets its verdict and reason; the pool is bounded (one entry per offender, a size cap).
#include <memory>

#include <gtest/gtest.h>

#include "consensus/engine.h"
#include "ledger/consensus_apply.h"
#include "ledger/delegates.h"
#include "ledger/genesis.h"
#include "node/chain.h"
#include "store/memory_store.h"

namespace imet::consensus {
namespace {

constexpr uint64_t kEvidenceGenesisMs = 1'000;
constexpr uint32_t kEvidenceSlot = 500;
constexpr const char* kChain = "ev";

crypto::SigningKey evidence_key(uint8_t b) {
  crypto::Seed s{};
  s.fill(b);
  return crypto::SigningKey::from_seed(s);
}

ledger::Address address(const crypto::SigningKey& k) {
  return crypto::address_bytes_of(k.public_key());
}

ledger::WitnessVote vote(const crypto::SigningKey& k, uint64_t height, uint32_t attempt,
                         uint8_t fill, ledger::VoteType type = ledger::VoteType::kPrepare,
                         std::string chain = kChain) {
  ledger::WitnessVote v;
  v.chain_id = std::move(chain);
  v.type = type;
  v.height = height;
  v.attempt = attempt;
  v.block_hash.fill(fill);
  v.sign(k);
  return v;
}

ledger::Evidence evidence(const crypto::SigningKey& k, uint64_t height, uint32_t attempt = 0) {
  return *ledger::make_evidence(vote(k, height, attempt, 1), vote(k, height, attempt, 2));
}

class EvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override { open({}, 10'000); }

  void open(EngineOptions options, uint64_t max_age) {
    genesis_ = ledger::make_testnet_genesis({address(witness_), address(alice_), address(bob_)},
                                            kEvidenceGenesisMs, kChain, kEvidenceSlot);
    genesis_.params.n_min = 1;
    genesis_.params.n_max = 1;
    genesis_.params.evidence_max_age_blocks = max_age;
    // Everyone votes for the witness, so it is the one elected; alice and bob stay delegates.
    for (auto& a : genesis_.accounts)
      a.votes = {address(witness_)};
    ASSERT_TRUE(genesis_.validate().ok());
    engine_.reset();
    chain_.reset();
    db_ = std::make_unique<store::MemoryStore>();
    chain_ = node::Chain::open(*db_, genesis_, {.serial_verifier = true}).value();
    engine_ = std::make_unique<Engine>(*chain_, witness_, checker_, options);
    (void)engine_->start(now_);
  }

  // Runs the engine's timers until `blocks` more blocks are final; returns what was committed.
  std::vector<Committed> run_blocks(size_t blocks) {
    std::vector<Committed> out;
    for (int guard = 0; guard < 10'000 && out.size() < blocks; ++guard) {
      now_ = std::max(now_, engine_->next_timer_ms().value());
      Output o = engine_->on_timer(now_);
      EXPECT_TRUE(o.error.ok()) << o.error.to_string();
      for (auto& c : o.committed)
        out.push_back(std::move(c));
      for (auto& e : o.evidence)
        reported_.push_back(std::move(e));
    }
    return out;
  }

  ledger::Account account(const crypto::SigningKey& k) {
    return ledger::get_record<ledger::Account>(chain_->store().state(),
                                               ledger::keys::account(address(k)))
        .value()
        .value_or(ledger::Account{});
  }
  ledger::Delegate delegate(const crypto::SigningKey& k) {
    return ledger::get_record<ledger::Delegate>(chain_->store().state(),
                                                ledger::keys::delegate(address(k)))
        .value()
        .value();
  }

  void expect(const ledger::Evidence& e, Verdict v, const std::string& words) {
    Output out = engine_->on_evidence(e, now_);
    EXPECT_EQ(out.verdict, v) << verdict_name(out.verdict) << ": " << out.reason;
    EXPECT_NE(out.reason.find(words), std::string::npos) << out.reason;
    if (v != Verdict::kAccepted) {
      EXPECT_TRUE(out.evidence.empty());
    }
  }

  crypto::SigningKey witness_ = evidence_key(70), alice_ = evidence_key(71),
                     bob_ = evidence_key(72), carol_ = evidence_key(73);
  ledger::Genesis genesis_;
  DirectChecker checker_;
  std::unique_ptr<store::MemoryStore> db_;
  std::unique_ptr<node::Chain> chain_;
  std::unique_ptr<Engine> engine_;
  uint64_t now_ = kEvidenceGenesisMs;
  std::vector<ledger::Evidence> reported_;  // Output::evidence of run_blocks()' timer calls
};

TEST_F(EvidenceTest, PeerEvidenceIsPooledIncludedSlashesAndLeavesThePool) {
  const ledger::Amount stake_before = account(alice_).stake;
  ASSERT_GT(stake_before, 0u);
  const ledger::Evidence e = evidence(alice_, 1);
  Output out = engine_->on_evidence(e, now_);
  ASSERT_EQ(out.verdict, Verdict::kAccepted) << out.reason;
  ASSERT_EQ(out.evidence.size(), 1u);  // reported, so the node gossips it
  EXPECT_EQ(out.evidence[0], e);
  ASSERT_EQ(engine_->pending_evidence().size(), 1u);
  expect(e, Verdict::kDuplicate, "already known");  // gossip echo: not relayed again

  std::vector<Committed> blocks = run_blocks(1);
  ASSERT_EQ(blocks.size(), 1u);
  ASSERT_EQ(blocks[0].block.evidence.size(), 1u);
  EXPECT_EQ(blocks[0].block.evidence[0], e);
  EXPECT_TRUE(engine_->pending_evidence().empty());
  // slash_pct % of the stake went to the pool; the offender is jailed at that block.
  const uint64_t pct = genesis_.params.slash_pct;
  ASSERT_GT(pct, 0u);
  EXPECT_EQ(account(alice_).stake, stake_before - stake_before * pct / 100);
  EXPECT_EQ(delegate(alice_).jailed_height, blocks[0].block.header.height);

  // Later blocks do not carry it again; the same offence later is known.
  for (const Committed& c : run_blocks(2))
    EXPECT_TRUE(c.block.evidence.empty());
  expect(e, Verdict::kDuplicate, "already known");
  // A restarted engine (no memory of it) learns from the chain that it was slashed.
  engine_ = std::make_unique<Engine>(*chain_, witness_, checker_);
  (void)engine_->start(now_);
  expect(e, Verdict::kIgnoredOld, "already slashed");
  EXPECT_TRUE(engine_->pending_evidence().empty());
}

TEST_F(EvidenceTest, RefusalsGetVerdictsAndReasons) {
  ledger::Evidence forged = evidence(alice_, 1);
  forged.b.signature[3] ^= 1;
  expect(forged, Verdict::kInvalid, "signature is invalid");
  ledger::Evidence same = evidence(alice_, 1);
  same.b = same.a;
  expect(same, Verdict::kInvalid, "do not conflict");
  expect(*ledger::make_evidence(vote(alice_, 1, 0, 1, ledger::VoteType::kPrepare, "other"),
                                vote(alice_, 1, 0, 2, ledger::VoteType::kPrepare, "other")),
         Verdict::kInvalid, "another chain");
  expect(evidence(carol_, 1), Verdict::kInvalid, "not a delegate");
  expect(evidence(alice_, 3), Verdict::kIgnoredFuture, "above the next height 1");
  // Height 2 (a sender one block ahead) is kept only against a current witness.
  expect(evidence(alice_, 2), Verdict::kIgnoredFuture, "above the next height 1");
  EXPECT_TRUE(engine_->pending_evidence().empty());
  // None of these was remembered as known: the valid one is still accepted.
  Output ok = engine_->on_evidence(evidence(alice_, 1), now_);
  EXPECT_EQ(ok.verdict, Verdict::kAccepted) << ok.reason;
}

TEST_F(EvidenceTest, EvidenceOlderThanTheMaximumAgeIsIgnored) {
  open({}, 2);
  run_blocks(4);
  const uint64_t next = engine_->height();
  ASSERT_GT(next, 3u);
  expect(evidence(alice_, 1), Verdict::kIgnoredOld, "older than 2 blocks");
  expect(evidence(alice_, next - 2), Verdict::kAccepted, "");
}

TEST_F(EvidenceTest, ThePoolHoldsOneEntryPerOffenderAndIsBounded) {
  EngineOptions one;
  one.max_pending_evidence = 1;
  open(one, 10'000);
  ASSERT_EQ(engine_->on_evidence(evidence(alice_, 1, 0), now_).verdict, Verdict::kAccepted);
  expect(evidence(alice_, 1, 1), Verdict::kDuplicate, "already pending");
  expect(evidence(bob_, 1), Verdict::kIgnoredFuture, "pool is full");
  EXPECT_EQ(engine_->pending_evidence().size(), 1u);
  // Once alice's offence is settled the pool has room again.
  run_blocks(1);
  EXPECT_TRUE(engine_->pending_evidence().empty());
  expect(evidence(bob_, 1), Verdict::kAccepted, "");
  expect(evidence(alice_, 1, 1), Verdict::kIgnoredFuture, "pool is full");
}

TEST_F(EvidenceTest, EvidenceOfTheNextHeightIsKeptUntilItStarts) {
  // The only witness is this node's own key: evidence against it (height 2, one ahead) is kept.
  const ledger::Evidence e = evidence(witness_, 2);
  expect(e, Verdict::kBuffered, "kept until height 2 starts");
  expect(evidence(witness_, 2, 1), Verdict::kIgnoredFuture, "above the next height");  // one each
  EXPECT_TRUE(engine_->pending_evidence().empty());
  std::vector<Committed> first = run_blocks(1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(first[0].block.evidence.empty());
  // Height 2 started: admitted, reported (for gossip) and carried by block 2.
  ASSERT_EQ(engine_->pending_evidence().size(), 1u);
  ASSERT_EQ(reported_.size(), 1u);
  EXPECT_EQ(reported_[0], e);
  std::vector<Committed> second = run_blocks(1);
  ASSERT_EQ(second.size(), 1u);
  ASSERT_EQ(second[0].block.evidence.size(), 1u);
  EXPECT_EQ(second[0].block.evidence[0], e);
  EXPECT_EQ(delegate(witness_).jailed_height, 2u);
}

TEST_F(EvidenceTest, NotStartedEngineIgnoresEvidence) {
  Engine fresh(*chain_, witness_, checker_);
  Output out = fresh.on_evidence(evidence(alice_, 1), now_);
  EXPECT_EQ(out.verdict, Verdict::kIgnoredFuture);
  EXPECT_TRUE(out.evidence.empty());
}

}  // namespace
}  // namespace imet::consensus
