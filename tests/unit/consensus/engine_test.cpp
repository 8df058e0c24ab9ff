// consensus::Engine against the real node::Chain over store::MemoryStore (one Chain per simulated
// witness, no fake chain): a single witness decides every slot; four witnesses reach finality with
// certificates; a missing producer leads to attempt 1 by the next producer; a lock prevents a
// conflicting PREPARE and survives a restart; equivocation produces evidence; bad inputs get the
// right verdicts; a synced block needs a valid certificate. Messages are delivered by the test,
// in order, with an explicit clock.
#include "consensus/engine.h"

#include <deque>
#include <memory>
#include <set>

#include <gtest/gtest.h>

#include "ledger/genesis.h"
#include "node/chain.h"
#include "store/memory_store.h"

namespace imet::consensus {
namespace {

// Verifies every signature with libsodium and records what the engines report having signed.
class RecordingChecker final : public SignatureChecker {
 public:
  struct Signed {
    ledger::PublicKey pk;
    util::Bytes msg;
    ledger::Signature sig;
  };
  bool verify(const ledger::PublicKey& pk, util::ByteSpan msg,
              const ledger::Signature& sig) const override {
    return crypto::verify(pk, msg, sig);
  }
  void signed_here(const ledger::PublicKey& pk, util::ByteSpan msg,
                   const ledger::Signature& sig) const override {
    signed_.push_back({pk, util::Bytes(msg.begin(), msg.end()), sig});
  }
  const std::vector<Signed>& signed_log() const { return signed_; }

 private:
  mutable std::vector<Signed> signed_;
};

crypto::SigningKey engine_key(uint8_t b) {
  crypto::Seed s{};
  s.fill(b);
  return crypto::SigningKey::from_seed(s);
}

constexpr uint64_t kGenesisMs = 1'000;
constexpr uint32_t kSlot = 500;

struct Peer {
  crypto::SigningKey key;
  store::MemoryStore db;
  std::unique_ptr<node::Chain> chain;
  std::unique_ptr<Engine> engine;
  bool connected = true;  // false: its messages and inputs are dropped
  std::vector<Committed> committed;
  std::vector<ledger::Evidence> evidence;
  std::optional<SignerState> signer;
  explicit Peer(crypto::SigningKey k) : key(std::move(k)) {}
};

class Net {
 public:
  explicit Net(size_t n) {
    std::vector<ledger::Address> addrs;
    for (size_t i = 0; i < n; ++i) {
      peers_.push_back(std::make_unique<Peer>(engine_key(static_cast<uint8_t>(60 + i))));
      addrs.push_back(crypto::address_bytes_of(peers_.back()->key.public_key()));
    }
    genesis_ = ledger::make_testnet_genesis(addrs, kGenesisMs, "ct", kSlot);
    for (auto& p : peers_) {
      p->chain = node::Chain::open(p->db, genesis_, {.serial_verifier = true}).value();
      p->engine = std::make_unique<Engine>(*p->chain, p->key, checker_);
    }
  }

  Peer& peer(size_t i) { return *peers_[i]; }
  size_t size() const { return peers_.size(); }
  // The peer whose address is `a`.
  Peer& by_address(const ledger::Address& a) {
    for (auto& p : peers_) {
      if (crypto::address_bytes_of(p->key.public_key()) == a) return *p;
    }
    throw std::runtime_error("no peer with that address");
  }
  Peer& producer(uint32_t attempt) {
    return by_address(peers_[0]->chain->producer(attempt).value().value());
  }

  void start(uint64_t now) {
    now_ = now;
    for (size_t i = 0; i < peers_.size(); ++i) {
      if (peers_[i]->connected) take(i, peers_[i]->engine->start(now));
    }
    flush();
  }
  // Advances the clock to `until`, firing timers in time order and delivering every message.
  void run_until(uint64_t until) {
    for (;;) {
      uint64_t next = UINT64_MAX;
      for (auto& p : peers_) {
        if (p->connected) next = std::min(next, p->engine->next_timer_ms().value_or(UINT64_MAX));
      }
      if (next > until) break;
      now_ = std::max(now_, next);
      for (size_t i = 0; i < peers_.size(); ++i) {
        auto& p = peers_[i];
        if (p->connected && p->engine->next_timer_ms().value_or(UINT64_MAX) <= now_) {
          take(i, p->engine->on_timer(now_));
        }
      }
      flush();
    }
    now_ = until;
  }
  uint64_t now() const { return now_; }
  const RecordingChecker& checker() const { return checker_; }
  size_t index_of(const Peer& p) const {
    for (size_t i = 0; i < peers_.size(); ++i) {
      if (peers_[i].get() == &p) return i;
    }
    throw std::runtime_error("not a peer");
  }
  // Delivers `msg` as if `from` had broadcast it.
  void inject(size_t from, ConsensusMessage msg) {
    queue_.push_back({from, std::move(msg)});
    flush();
  }

 private:
  void take(size_t from, Output out) {
    Peer& p = *peers_[from];
    if (out.signer_state) p.signer = out.signer_state;
    for (auto& c : out.committed)
      p.committed.push_back(std::move(c));
    for (auto& e : out.evidence)
      p.evidence.push_back(std::move(e));
    EXPECT_TRUE(out.error.ok()) << out.error.to_string();
    for (auto& m : out.broadcast)
      queue_.push_back({from, std::move(m)});
  }
  void flush() {
    while (!queue_.empty()) {
      auto [from, msg] = std::move(queue_.front());
      queue_.pop_front();
      if (!peers_[from]->connected) continue;
      for (size_t i = 0; i < peers_.size(); ++i) {
        if (i == from || !peers_[i]->connected) continue;
        Output out = peers_[i]->engine->on_message(msg, now_);
        EXPECT_NE(out.verdict, Verdict::kInvalid) << out.reason;
        take(i, std::move(out));
      }
    }
  }

  RecordingChecker checker_;
  ledger::Genesis genesis_;
  std::vector<std::unique_ptr<Peer>> peers_;
  std::deque<std::pair<size_t, ConsensusMessage>> queue_;
  uint64_t now_ = 0;
};

std::vector<ledger::Address> witnesses_of(node::Chain& c) {
  return c.next_schedule().value().witnesses;
}

TEST(Engine, SingleWitnessDecidesEverySlot) {
  Net net(1);
  net.start(kGenesisMs);
  net.run_until(kGenesisMs + 5 * kSlot);
  Peer& p = net.peer(0);
  ASSERT_EQ(p.committed.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    const auto& c = p.committed[i];
    EXPECT_EQ(c.block.header.height, i + 1);
    // One block per slot: the producer proposes slot_ms after its parent.
    EXPECT_EQ(c.block.header.time_ms, kGenesisMs + (i + 1) * kSlot);
    EXPECT_EQ(c.cert.attempt, 0u);
    EXPECT_EQ(c.cert.commits.size(), 1u);
    EXPECT_FALSE(c.via_sync);
  }
  EXPECT_EQ(p.chain->final_tip().height, 5u);
  EXPECT_EQ(p.engine->height(), 6u);
}

TEST(Engine, FourWitnessesReachFinalityWithCertificates) {
  Net net(4);
  const auto witnesses = witnesses_of(*net.peer(0).chain);
  net.start(kGenesisMs);
  net.run_until(kGenesisMs + 4 * kSlot);
  for (size_t i = 0; i < 4; ++i) {
    Peer& p = net.peer(i);
    ASSERT_EQ(p.committed.size(), 4u) << "peer " << i;
    for (size_t h = 0; h < 4; ++h) {
      const auto& c = p.committed[h];
      EXPECT_EQ(c.block, net.peer(0).committed[h].block);  // one block per height everywhere
      EXPECT_GE(c.cert.commits.size(), ledger::quorum(4));
      EXPECT_TRUE(c.cert.verify("ct", witnesses).ok());
      EXPECT_EQ(p.chain->certificate(h + 1).value(), c.cert);  // stored with the block
    }
  }
  // Heights 1..4 were produced by the scheduled producers of attempt 0, in schedule order.
  for (size_t h = 0; h < 4; ++h) {
    const auto& b = net.peer(0).committed[h].block;
    EXPECT_EQ(b.header.slot, 0u);
    EXPECT_EQ(b.header.producer_address(), witnesses[h]);
  }
}

// The engine tells its checker of each proposal and vote it signs (the simulation's memo records
// those as valid without verifying them), with exactly the bytes it signed.
TEST(Engine, TellsItsCheckerOfEverySignatureItMakes) {
  Net net(4);
  net.start(kGenesisMs);
  net.run_until(kGenesisMs + 4 * kSlot);
  const auto& log = net.checker().signed_log();
  // Per height: one proposal, and a PREPARE and a COMMIT from each of the 4 witnesses.
  ASSERT_GE(log.size(), 4u * (1 + 2 * 4));
  std::set<ledger::Signature> told;
  for (const auto& s : log) {
    EXPECT_TRUE(crypto::verify(s.pk, s.msg, s.sig));
    bool a_witness = false;
    for (size_t i = 0; i < net.size(); ++i)
      a_witness = a_witness || net.peer(i).key.public_key() == s.pk;
    EXPECT_TRUE(a_witness);
    told.insert(s.sig);
  }
  // Every COMMIT in every certificate was reported by its signer.
  const Peer& p = net.peer(0);
  ASSERT_EQ(p.committed.size(), 4u);
  for (const auto& c : p.committed) {
    for (const auto& commit : c.cert.commits)
      EXPECT_TRUE(told.contains(commit.signature));
  }
}

TEST(Engine, MissingProducerLeadsToAttemptOneByTheNextProducer) {
  Net net(4);
  Peer& absent = net.producer(0);
  absent.connected = false;
  const ledger::Address next = net.peer(0).chain->producer(1).value().value();
  const ledger::Hash genesis_hash = net.peer(0).chain->final_tip().hash;
  net.start(kGenesisMs);
  // Attempt 0 cannot produce: PREPARE nil after the propose timeout (slot end + one slot), COMMIT
  // nil, then attempt 1 by the next slot's producer, built on the last final block (genesis).
  net.run_until(kGenesisMs + 4 * kSlot);
  for (size_t i = 0; i < net.size(); ++i) {
    Peer& p = net.peer(i);
    if (&p == &absent) continue;
    ASSERT_GE(p.committed.size(), 1u);
    const auto& first = p.committed[0];
    EXPECT_EQ(first.block.header.height, 1u);
    EXPECT_EQ(first.block.header.slot, 1u);
    EXPECT_EQ(first.block.header.producer_address(), next);
    EXPECT_EQ(first.block.header.prev_hash, genesis_hash);
    EXPECT_EQ(first.cert.attempt, 1u);
    EXPECT_EQ(first.cert.commits.size(), 3u);  // the three present witnesses
  }
  EXPECT_TRUE(absent.committed.empty());
}

// One engine under test (`me`, the producer of attempt 2) and hand-made messages from the others.
class LockTest : public ::testing::Test {
 protected:
  LockTest() : net_(4), me_(net_.producer(2)), p0_(net_.producer(0)), p1_(net_.producer(1)) {}

  ConsensusMessage proposal(Peer& from, uint32_t attempt, uint64_t time, int64_t vr = -1,
                            const ledger::Block* block = nullptr) {
    Proposal p;
    p.block = block ? *block : from.chain->build(from.key, time, attempt, {}).value();
    p.attempt = attempt;
    p.valid_attempt = vr;
    p.sign(from.key);
    return ConsensusMessage{p};
  }
  ConsensusMessage vote(Peer& from, ledger::VoteType t, uint32_t attempt, const ledger::Hash& h) {
    ledger::WitnessVote v;
    v.chain_id = "ct";
    v.type = t;
    v.height = 1;
    v.attempt = attempt;
    v.block_hash = h;
    v.sign(from.key);
    return ConsensusMessage{v};
  }
  static const ledger::WitnessVote* own_vote(const Output& out, ledger::VoteType t) {
    for (const auto& m : out.broadcast) {
      if (m.vote() && m.vote()->type == t) return m.vote();
    }
    return nullptr;
  }

  Net net_;
  Peer& me_;
  Peer& p0_;
  Peer& p1_;
  DirectChecker checker_;
};

TEST_F(LockTest, LockPreventsPreparingAnotherBlockAndSurvivesRestart) {
  Engine& e = *me_.engine;
  (void)e.start(kGenesisMs);
  const uint64_t t0 = kGenesisMs + kSlot;
  ConsensusMessage pb = proposal(p0_, 0, t0);
  const ledger::Hash b = pb.proposal()->block_hash();
  Output out = e.on_message(pb, t0);
  ASSERT_EQ(out.verdict, Verdict::kAccepted) << out.reason;
  ASSERT_NE(own_vote(out, ledger::VoteType::kPrepare), nullptr);
  EXPECT_EQ(own_vote(out, ledger::VoteType::kPrepare)->block_hash, b);
  (void)e.on_message(vote(p0_, ledger::VoteType::kPrepare, 0, b), t0);
  out = e.on_message(vote(p1_, ledger::VoteType::kPrepare, 0, b), t0);  // third PREPARE: quorum
  ASSERT_NE(own_vote(out, ledger::VoteType::kCommit), nullptr);
  EXPECT_EQ(own_vote(out, ledger::VoteType::kCommit)->block_hash, b);
  EXPECT_EQ(e.locked_attempt(), 0);
  ASSERT_TRUE(out.signer_state.has_value());
  EXPECT_EQ(out.signer_state->locked_attempt, 0);
  EXPECT_EQ(out.signer_state->lock_proof.size(), 3u);
  const SignerState persisted = *out.signer_state;

  // The others COMMIT nil; after the COMMIT wait the engine moves to attempt 1.
  (void)e.on_message(vote(p0_, ledger::VoteType::kCommit, 0, {}), t0);
  (void)e.on_message(vote(p1_, ledger::VoteType::kCommit, 0, {}), t0);
  ASSERT_TRUE(e.next_timer_ms().has_value());
  (void)e.on_timer(*e.next_timer_ms());
  ASSERT_EQ(e.attempt(), 1u);

  // Attempt 1's producer proposes a different block: locked on b, the engine PREPAREs nil.
  const uint64_t t1 = *e.next_timer_ms() - 1;
  ConsensusMessage other = proposal(p1_, 1, t1);
  ASSERT_NE(other.proposal()->block_hash(), b);
  out = e.on_message(other, t1);
  ASSERT_EQ(out.verdict, Verdict::kAccepted) << out.reason;
  ASSERT_NE(own_vote(out, ledger::VoteType::kPrepare), nullptr);
  EXPECT_TRUE(own_vote(out, ledger::VoteType::kPrepare)->is_nil());

  // A restart in the middle of attempt 1 keeps the lock: a fresh engine over the same chain,
  // restored from the persisted state, PREPAREs nil on the other block too and re-proposes b
  // with its PREPARE quorum when it is its turn.
  Engine restarted(*me_.chain, me_.key, checker_, EngineOptions{}, persisted);
  (void)restarted.start(t1);
  EXPECT_EQ(restarted.locked_attempt(), 0);
  EXPECT_EQ(restarted.attempt(), 0u);  // persisted at attempt 0 (before the move to attempt 1)
  EXPECT_EQ(restarted.step(), Engine::Step::kCommit);  // never signs attempt 0 again
  (void)restarted.on_message(vote(p0_, ledger::VoteType::kPrepare, 1, {}), t1);
  out = restarted.on_message(vote(p1_, ledger::VoteType::kPrepare, 1, {}), t1);  // skip to 1
  EXPECT_EQ(restarted.attempt(), 1u);
  out = restarted.on_message(other, t1);
  ASSERT_NE(own_vote(out, ledger::VoteType::kPrepare), nullptr);
  EXPECT_TRUE(own_vote(out, ledger::VoteType::kPrepare)->is_nil());
}

TEST_F(LockTest, EquivocationProducesEvidenceOnce) {
  Engine& e = *me_.engine;
  (void)e.start(kGenesisMs);
  ledger::Hash x, y;
  x.fill(1);
  y.fill(2);
  Output a = e.on_message(vote(p0_, ledger::VoteType::kPrepare, 0, x), kGenesisMs);
  EXPECT_EQ(a.verdict, Verdict::kAccepted);
  EXPECT_TRUE(a.evidence.empty());
  Output b = e.on_message(vote(p0_, ledger::VoteType::kPrepare, 0, y), kGenesisMs);
  EXPECT_EQ(b.verdict, Verdict::kAccepted);  // the relaying peer is not the offender
  ASSERT_EQ(b.evidence.size(), 1u);
  EXPECT_TRUE(b.evidence[0].check("ct").ok());
  EXPECT_EQ(b.evidence[0].offender(), crypto::address_bytes_of(p0_.key.public_key()));
  EXPECT_NE(b.reason.find("equivocation"), std::string::npos) << b.reason;
  ASSERT_EQ(e.pending_evidence().size(), 1u);
  // A third vote for the same offence is not new evidence.
  ledger::Hash z;
  z.fill(3);
  Output c = e.on_message(vote(p0_, ledger::VoteType::kPrepare, 0, z), kGenesisMs);
  EXPECT_TRUE(c.evidence.empty());
  EXPECT_EQ(e.pending_evidence().size(), 1u);
}

TEST_F(LockTest, AConflictingProposalIsTheProducersFaultNotTheRelayers) {
  Engine& e = *me_.engine;
  (void)e.start(kGenesisMs);
  const uint64_t t0 = kGenesisMs + kSlot;
  ASSERT_EQ(e.on_message(proposal(p0_, 0, t0), t0).verdict, Verdict::kAccepted);
  // The producer signs a second block for the same attempt: an honest peer that got this one
  // first relays it, and must not be scored down for it.
  Output out = e.on_message(proposal(p0_, 0, t0 + 1), t0);
  EXPECT_EQ(out.verdict, Verdict::kDuplicate) << out.reason;
  EXPECT_NE(out.reason.find("conflicting"), std::string::npos) << out.reason;
  // The same with a broken signature is invalid (whoever sent it made it up).
  ConsensusMessage forged = proposal(p0_, 0, t0 + 2);
  Proposal bad = *forged.proposal();
  bad.signature[0] ^= 1;
  EXPECT_EQ(e.on_message(ConsensusMessage{bad}, t0).verdict, Verdict::kInvalid);
}

TEST_F(LockTest, BadInputsGetVerdicts) {
  Engine& e = *me_.engine;
  (void)e.start(kGenesisMs);
  const uint64_t now = kGenesisMs + kSlot;
  auto expect = [&](const ConsensusMessage& m, Verdict v, const char* words) {
    Output out = e.on_message(m, now);
    EXPECT_EQ(out.verdict, v) << verdict_name(out.verdict) << ": " << out.reason;
    EXPECT_NE(out.reason.find(words), std::string::npos) << out.reason;
  };
  // A proposal from anyone but the producer of its attempt.
  expect(proposal(p1_, 0, now), Verdict::kInvalid, "the producer is");
  // A vote from a key that is no witness.
  Peer stranger(engine_key(99));
  expect(vote(stranger, ledger::VoteType::kPrepare, 0, {}), Verdict::kInvalid, "not a witness");
  // A forged signature.
  ConsensusMessage forged = vote(p0_, ledger::VoteType::kPrepare, 0, {});
  std::get<ledger::WitnessVote>(forged.body).signature[5] ^= 1;
  expect(forged, Verdict::kInvalid, "bad signature");
  // Another chain.
  ConsensusMessage other_chain = vote(p0_, ledger::VoteType::kPrepare, 0, {});
  std::get<ledger::WitnessVote>(other_chain.body).chain_id = "elsewhere";
  expect(other_chain, Verdict::kInvalid, "this chain is 'ct'");
  // A block time more than one slot ahead of the clock: the proposal is invalid (PREPARE nil).
  expect(proposal(p0_, 0, now + kSlot + 1), Verdict::kInvalid, "more than one slot ahead");
  // Heights: the next one is buffered (bounded), later ones and far attempts are ignored.
  ConsensusMessage next = vote(p0_, ledger::VoteType::kPrepare, 0, {});
  std::get<ledger::WitnessVote>(next.body).height = 2;
  std::get<ledger::WitnessVote>(next.body).sign(p0_.key);
  expect(next, Verdict::kBuffered, "kept for height 2");
  expect(next, Verdict::kDuplicate, "already buffered");
  EXPECT_EQ(e.buffered(), 1u);
  ConsensusMessage later = next;
  std::get<ledger::WitnessVote>(later.body).height = 3;
  std::get<ledger::WitnessVote>(later.body).sign(p0_.key);
  expect(later, Verdict::kIgnoredFuture, "now at 1");
  expect(vote(p0_, ledger::VoteType::kPrepare, 1'000, {}), Verdict::kIgnoredFuture, "attempt 1000");
  ConsensusMessage ok = vote(p1_, ledger::VoteType::kCommit, 0, {});
  expect(ok, Verdict::kAccepted, "");
  expect(ok, Verdict::kDuplicate, "already received");
}

TEST(Engine, EvidenceGoesIntoABlockAndLeavesThePendingList) {
  Net net(4);
  Peer& offender = net.producer(3);  // not a producer of heights 1-3 at attempt 0
  const ledger::Address who = crypto::address_bytes_of(offender.key.public_key());
  net.start(kGenesisMs);
  for (uint8_t b : {1, 2}) {
    ledger::WitnessVote v;
    v.chain_id = "ct";
    v.type = ledger::VoteType::kPrepare;
    v.height = 1;
    v.attempt = 0;
    v.block_hash.fill(b);
    v.sign(offender.key);
    net.inject(net.index_of(offender), ConsensusMessage{v});
  }
  for (size_t i = 0; i < net.size(); ++i) {
    if (&net.peer(i) == &offender) continue;
    ASSERT_EQ(net.peer(i).evidence.size(), 1u) << i;
    EXPECT_EQ(net.peer(i).evidence[0].offender(), who);
  }
  net.run_until(kGenesisMs + 3 * kSlot);
  Peer& p = net.peer(net.index_of(offender) == 0 ? 1 : 0);
  ASSERT_GE(p.committed.size(), 1u);
  size_t included = 0;
  for (const auto& c : p.committed) {
    for (const auto& e : c.block.evidence)
      included += e.offender() == who ? 1 : 0;
  }
  EXPECT_EQ(included, 1u);  // in exactly one final block
  for (size_t i = 0; i < net.size(); ++i) {
    EXPECT_TRUE(net.peer(i).engine->pending_evidence().empty()) << i;
  }
}

TEST(Engine, OldHeightsAreIgnoredAndSyncNeedsAValidCertificate) {
  Net net(4);
  Peer& late = net.peer(3);
  late.connected = false;
  net.start(kGenesisMs);
  // Long enough for two blocks even if the missing node is an early producer (the order depends
  // on the genesis hash): each of its slots costs an attempt.
  net.run_until(kGenesisMs + 8 * kSlot);
  Peer& ahead = net.peer(0);
  ASSERT_GE(ahead.committed.size(), 2u);
  // The late node starts now and syncs block 1 from a peer.
  Engine& e = *late.engine;
  (void)e.start(net.now());
  const auto& c1 = ahead.committed[0];
  ledger::FinalityCertificate bad = c1.cert;
  bad.commits.pop_back();
  bad.commits.pop_back();  // below quorum
  Output out = e.on_synced_block(c1.block, bad, net.now());
  EXPECT_EQ(out.verdict, Verdict::kInvalid);
  EXPECT_NE(out.reason.find("quorum"), std::string::npos) << out.reason;
  ledger::FinalityCertificate other = c1.cert;
  other.block_hash[0] ^= 1;
  out = e.on_synced_block(c1.block, other, net.now());
  EXPECT_EQ(out.verdict, Verdict::kInvalid);
  out = e.on_synced_block(ahead.committed[1].block, ahead.committed[1].cert, net.now());
  EXPECT_EQ(out.verdict, Verdict::kIgnoredFuture);
  out = e.on_synced_block(c1.block, c1.cert, net.now());
  ASSERT_EQ(out.verdict, Verdict::kAccepted) << out.reason;
  ASSERT_EQ(out.committed.size(), 1u);
  EXPECT_TRUE(out.committed[0].via_sync);
  EXPECT_EQ(late.chain->final_tip().hash, c1.block.header.hash());
  EXPECT_EQ(e.height(), 2u);
  // Block 1 again, and votes for height 1, are old now.
  out = e.on_synced_block(c1.block, c1.cert, net.now());
  EXPECT_EQ(out.verdict, Verdict::kIgnoredOld);
  ledger::WitnessVote v = ledger::FinalityCertificate(c1.cert).vote_of("ct", 0);
  out = e.on_vote(v, net.now());
  EXPECT_EQ(out.verdict, Verdict::kIgnoredOld);
}

}  // namespace
}  // namespace imet::consensus
