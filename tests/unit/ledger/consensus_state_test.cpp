// The consensus state kept by the ledger (ledger/schedule.h, ledger/consensus_apply.h,
// ledger/delegates.h): genesis schedule, rotation and shuffle, election from incrementally kept
// tallies, producer checks, missed slots and jail, DEC, evidence and slashing. Blocks are built and
// applied with the real build_block()/apply_block() over an in-memory state, each certified by a
// quorum of the schedule's witnesses, as the consensus engine would.
#include <functional>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "ledger/block_apply.h"
#include "ledger/consensus_apply.h"
#include "ledger/delegates.h"
#include "ledger/genesis.h"
#include "ledger/schedule.h"
#include "ledger_test_util.h"

namespace imet::ledger {
namespace {

using testing::addr_of;
using testing::key_from;

class ConsensusStateTest : public ::testing::Test {
 protected:
  // `n` delegates (keys 100..), each funded and staked; `tweak` adjusts the params.
  void init(size_t n, const std::function<void(ChainParams&)>& tweak = {}) {
    std::vector<Address> addrs;
    for (size_t i = 0; i < n; ++i) {
      keys.push_back(key_from(static_cast<uint8_t>(100 + i)));
      addrs.push_back(addr_of(keys.back()));
    }
    genesis = make_testnet_genesis(addrs, 1'000'000, "cs", 500, imet(1000));
    for (GenesisAccount& a : genesis.accounts)
      a.votes.clear();  // nobody has voted: delegates rank by address until the tests vote
    genesis.params.n_min = 1;
    genesis.params.n_max = static_cast<uint32_t>(n);
    if (tweak) tweak(genesis.params);
    ASSERT_TRUE(genesis.validate().ok()) << genesis.validate().to_string();
    chain = {genesis.chain_id, genesis.genesis_time_ms, genesis.params};
    StateOverlay o(&state);
    genesis.apply(o);
    state.apply(o.changes());
    tip = {0, genesis.hash(), genesis.genesis_time_ms};
  }

  const crypto::SigningKey& key_of(const Address& a) const {
    for (const auto& k : keys) {
      if (addr_of(k) == a) return k;
    }
    throw std::runtime_error("unknown key");
  }

  RoundSchedule schedule() { return current_schedule(state).value(); }
  RoundSchedule upcoming() { return next_schedule(state, tip, chain.params).value(); }
  Address producer(uint32_t attempt) {
    return producer_of(state, upcoming(), tip.height + 1, attempt).value();
  }
  Delegate delegate(const Address& a) {
    return get_record<Delegate>(state, keys::delegate(a)).value().value();
  }
  Account account(const Address& a) {
    return get_record<Account>(state, keys::account(a)).value().value_or(Account{});
  }
  Globals globals() { return *get_record<Globals>(state, keys::globals()).value(); }
  Amount tally(const Address& a) { return tally_of(state, a).value(); }

  Transaction tx(const crypto::SigningKey& k, TxBody body) {
    Transaction t;
    t.chain_id = chain.chain_id;
    t.nonce = account(addr_of(k)).nonce + pending_nonce[addr_of(k)]++;
    t.body = std::move(body);
    t.fee = chain.params.fees.min_fee(t.kind());
    t.expiry_height = tip.height + 100;
    t.sign(k);
    return t;
  }

  // Builds the next block by the producer of `attempt` (or `by`).
  Block build(std::vector<Transaction> txs = {}, uint32_t attempt = 0,
              std::vector<Evidence> evidence = {}, const crypto::SigningKey* by = nullptr) {
    pending_nonce.clear();
    const crypto::SigningKey& k = by ? *by : key_of(producer(attempt));
    StateOverlay scratch(&state);
    auto built = build_block(scratch, txs, tip, chain, k.public_key(), tip.time_ms + 500,
                             upcoming().round, attempt, last_cert, evidence);
    EXPECT_TRUE(built.ok()) << built.status().to_string();
    if (!built.ok()) return {};
    EXPECT_TRUE(built->rejected.empty());
    Block b = built->block;
    b.header.sign(k);
    return b;
  }

  // Recomputes the consensus root and the producer signature after a test changed the body.
  void reseal(Block& b) {
    b.header.consensus_root = consensus_root(b.last_cert, b.evidence);
    b.header.sign(key_of(b.header.producer_address()));
  }

  // Applies `b`; on success certifies it with a quorum of its witnesses at `decided_attempt`.
  BlockResult apply(const Block& b, uint32_t decided_attempt = 0) {
    StateOverlay o(&state);
    BlockResult r = apply_block(o, b, tip, chain, SerialVerifier());
    if (r) {
      EXPECT_TRUE(o.changes().empty());
      return r;
    }
    state.apply(o.changes());
    tip = {b.header.height, b.header.hash(), b.header.time_ms};
    RoundSchedule s = schedule();
    std::vector<const crypto::SigningKey*> signers;
    for (size_t i = 0; i < quorum(s.size()); ++i)
      signers.push_back(&key_of(s.witnesses[i]));
    last_cert = testing::certify(chain.chain_id, tip.height, tip.hash, signers, decided_attempt);
    check_tallies();
    return r;
  }

  // Builds and applies the next block; fails the test if it is refused.
  Block step(std::vector<Transaction> txs = {}, uint32_t attempt = 0,
             uint32_t decided_attempt = 0) {
    Block b = build(std::move(txs), attempt);
    BlockResult r = apply(b, decided_attempt);
    EXPECT_FALSE(r) << r->message;
    return b;
  }

  // Every 'T' record equals the sum of owned() over the accounts voting for it; supply holds.
  void check_tallies() {
    std::map<Address, detail::U128> want;
    detail::U128 supply = 0;
    for (const auto& [k, v] : state.entries()) {
      if (k[0] == 'a') {
        Account a = codec::decode<Account>(v).value();
        supply += a.owned();
        for (const Address& d : a.votes) {
          if (a.owned() > 0) want[d] += a.owned();
        }
      } else if (k[0] == 'n') {
        supply += codec::decode<NodeRecord>(v).value().stake;
      }
    }
    supply += globals().pod_pool;
    supply += globals().epoch_reward;
    EXPECT_TRUE(supply == kTotalSupply) << "supply not conserved at height " << tip.height;
    std::map<Address, detail::U128> have;
    for (const auto& [k, v] : state.entries()) {
      if (k[0] != 'T') continue;
      Address a{};
      std::copy(k.begin() + 1, k.end(), a.begin());
      have[a] = codec::decode<Tally>(v).value().weight;
    }
    EXPECT_TRUE(want == have) << "tallies drifted at height " << tip.height;
  }

  std::vector<crypto::SigningKey> keys;
  Genesis genesis;
  ChainConfig chain;
  MemoryState state;
  ChainTip tip;
  std::optional<FinalityCertificate> last_cert;
  std::map<Address, uint64_t> pending_nonce;
};

// ---- genesis, rotation, shuffle ----

TEST_F(ConsensusStateTest, GenesisWritesRoundZeroShuffledByTheGenesisHash) {
  init(5);
  RoundSchedule s = schedule();
  EXPECT_EQ(s.round, 0u);
  EXPECT_EQ(s.start_height, 1u);
  ASSERT_EQ(s.size(), 5u);
  std::vector<Address> by_address;
  for (const auto& k : keys)
    by_address.push_back(addr_of(k));
  std::sort(by_address.begin(), by_address.end());
  std::vector<Address> expected = by_address;
  shuffle_witnesses(expected, genesis.hash(), 0);
  EXPECT_EQ(s.witnesses, expected);
  EXPECT_EQ(std::set<Address>(s.witnesses.begin(), s.witnesses.end()),
            std::set<Address>(by_address.begin(), by_address.end()));
  EXPECT_EQ(delegate_list(state).value().delegates, by_address);
  // Genesis stake: each witness staked 1000 IMET from block 1.
  EXPECT_EQ(account(by_address[0]).stake, imet(1000));
  // n = clamp(#delegates, 1, n_max).
  Genesis g = genesis;
  g.params.n_max = 3;
  MemoryState st;
  StateOverlay o(&st);
  g.apply(o);
  st.apply(o.changes());
  EXPECT_EQ(current_schedule(st).value().size(), 3u);
  // Genesis votes count: the delegate with the heaviest voters comes first, whatever its address.
  g.params.n_max = 1;
  const Address last = by_address.back();
  g.accounts[0].votes = {last};
  g.accounts[1].votes = {last, by_address[0]};
  std::sort(g.accounts[1].votes.begin(), g.accounts[1].votes.end());
  ASSERT_TRUE(g.validate().ok());
  MemoryState voted;
  StateOverlay v(&voted);
  g.apply(v);
  voted.apply(v.changes());
  EXPECT_EQ(current_schedule(voted).value().witnesses, std::vector<Address>{last});
  const Amount each = g.accounts[0].balance + g.accounts[0].stake;
  EXPECT_EQ(tally_of(voted, last).value(), 2 * each);
  EXPECT_EQ(tally_of(voted, by_address[0]).value(), each);
  // Votes for a non-delegate, or unsorted votes, are refused.
  g.accounts[2].votes = {addr_of(key_from(9))};
  EXPECT_NE(g.validate().message().find("not a genesis delegate"), std::string::npos);
  g.accounts[2].votes = {by_address[1], by_address[0]};
  EXPECT_NE(g.validate().message().find("distinct and ascending"), std::string::npos);
}

TEST_F(ConsensusStateTest, ShuffleIsDeterministicAndDiffersBetweenRounds) {
  std::vector<Address> base;
  for (uint8_t i = 0; i < 21; ++i)
    base.push_back(addr_of(key_from(static_cast<uint8_t>(i + 1))));
  Hash seed{};
  seed[0] = 7;
  std::vector<Address> a = base, b = base;
  shuffle_witnesses(a, seed, 3);
  shuffle_witnesses(b, seed, 3);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, base);
  std::set<std::vector<Address>> orders;
  for (uint64_t r = 0; r < 10; ++r) {
    std::vector<Address> c = base;
    shuffle_witnesses(c, seed, r);
    EXPECT_EQ(std::set<Address>(c.begin(), c.end()), std::set<Address>(base.begin(), base.end()));
    orders.insert(c);
  }
  EXPECT_EQ(orders.size(), 10u);  // every round has its own order
  Hash other = seed;
  other[31] = 1;
  std::vector<Address> d = base;
  shuffle_witnesses(d, other, 3);
  EXPECT_NE(d, a);  // another seed, another order
}

TEST_F(ConsensusStateTest, RoundsRotateAtTheirEndWithANewOrderSeededByTheLastBlock) {
  init(7);
  std::set<std::vector<Address>> orders = {schedule().witnesses};
  for (uint64_t round = 0; round < 4; ++round) {
    for (uint64_t i = 0; i < 7; ++i) {
      Block b = step();
      EXPECT_EQ(b.header.round, round);
      EXPECT_EQ(schedule().round, round);
      EXPECT_EQ(schedule().start_height, 1 + 7 * round);
    }
    RoundSchedule next = upcoming();
    EXPECT_EQ(next.round, round + 1);
    EXPECT_EQ(next.start_height, tip.height + 1);
    std::vector<Address> expected = schedule().witnesses;
    std::sort(expected.begin(), expected.end());  // nobody voted: ranked by address
    shuffle_witnesses(expected, tip.hash, round + 1);
    EXPECT_EQ(next.witnesses, expected);
    orders.insert(next.witnesses);
  }
  EXPECT_EQ(orders.size(), 5u);
  // Inside a round the producers follow the order, one block each.
  RoundSchedule s = upcoming();
  for (uint32_t i = 0; i < 7; ++i) {
    EXPECT_EQ(producer(0), s.witnesses[i]);
    EXPECT_EQ(producer(1), s.witnesses[(i + 1) % 7]);
    step();
  }
}

TEST_F(ConsensusStateTest, BlocksOutsideTheScheduleAreRefused) {
  init(4);
  step();
  // The wrong round.
  Block b = build();
  b.header.round += 1;
  b.header.sign(key_of(producer(0)));
  BlockResult r = apply(b);
  ASSERT_TRUE(r);
  EXPECT_NE(r->message.find("is not round"), std::string::npos) << r->message;
  // A witness producing in another witness's slot.
  const Address right = producer(0);
  const crypto::SigningKey* wrong = nullptr;
  for (const auto& k : keys) {
    if (addr_of(k) != right) wrong = &k;
  }
  r = apply(build({}, 0, {}, wrong));
  ASSERT_TRUE(r);
  EXPECT_NE(r->message.find("is not the producer of height 2 attempt 0"), std::string::npos)
      << r->message;
  // A non-delegate.
  crypto::SigningKey stranger = key_from(250);
  r = apply(build({}, 0, {}, &stranger));
  ASSERT_TRUE(r);
  EXPECT_NE(r->message.find("is not the producer"), std::string::npos) << r->message;
  // No parent certificate, a certificate of too few witnesses, one with a forged commit.
  Block few = build();
  few.last_cert->commits.pop_back();
  reseal(few);
  r = apply(few);
  ASSERT_TRUE(r);
  EXPECT_NE(r->message.find("quorum is 3 of 4"), std::string::npos) << r->message;
  Block forged = build();
  forged.last_cert->commits[1].signature[5] ^= 1;
  reseal(forged);
  r = apply(forged);
  ASSERT_TRUE(r);
  EXPECT_NE(r->message.find("commit 1 from"), std::string::npos) << r->message;
  EXPECT_NE(r->message.find("bad signature"), std::string::npos) << r->message;
  Block other_parent = build();
  other_parent.last_cert->block_hash[0] ^= 1;
  reseal(other_parent);
  r = apply(other_parent);
  ASSERT_TRUE(r);
  EXPECT_NE(r->message.find("not the parent"), std::string::npos) << r->message;
  Block no_cert = build();
  no_cert.last_cert.reset();
  reseal(no_cert);
  r = apply(no_cert);
  ASSERT_TRUE(r);
  EXPECT_NE(r->message.find("no finality certificate of its parent"), std::string::npos)
      << r->message;
  Block swapped = build();
  swapped.last_cert->attempt = 1;  // the header still commits to attempt 0
  r = apply(swapped);
  ASSERT_TRUE(r);
  EXPECT_NE(r->message.find("consensus root does not match"), std::string::npos) << r->message;
  step();
  EXPECT_EQ(tip.height, 2u);
}

// ---- tallies and election ----

TEST_F(ConsensusStateTest, TalliesFollowEveryBalancePathAndDecideTheElection) {
  init(4, [](ChainParams& p) {
    p.n_min = 2;
    p.n_max = 2;
  });
  // Two extra delegates register and are voted for by funded voters.
  crypto::SigningKey voter = key_from(1), voter2 = key_from(2);
  const Address w0 = addr_of(keys[0]);
  step({tx(keys[0], Transfer{addr_of(voter), imet(5000), {}}),
        tx(keys[1], Transfer{addr_of(voter2), imet(3000), {}})});
  step({tx(voter, Vote{{addr_of(keys[2])}}), tx(voter2, Vote{{addr_of(keys[3])}})});
  EXPECT_EQ(tally(addr_of(keys[2])), account(addr_of(voter)).owned());
  EXPECT_EQ(tally(addr_of(keys[3])), account(addr_of(voter2)).owned());
  // Transfer out and in, stake, unstake (owned unchanged), a vote change.
  step({tx(voter, Transfer{addr_of(voter2), imet(100), {}})});
  step({tx(voter, Stake{imet(1000)}), tx(voter2, Stake{imet(500)})});
  const Amount before_unstake = tally(addr_of(keys[2]));
  step({tx(voter, Unstake{imet(400)})});
  EXPECT_EQ(tally(addr_of(keys[2])), before_unstake - chain.params.fees.unstake);
  // The producers, voting for themselves, see their fees and rewards in their tallies.
  step({tx(keys[0], Vote{{w0}}), tx(keys[1], Vote{{addr_of(keys[1])}})});
  step();
  step();  // check_tallies() ran after every block: rewards and fees included
  EXPECT_EQ(tally(w0), account(w0).owned());
  // Election: the two heaviest delegates (w0 and w1 own ~20M each) at the next rotation.
  while (upcoming().start_height != tip.height + 1)
    step();
  RoundSchedule next = upcoming();
  EXPECT_EQ(std::set<Address>(next.witnesses.begin(), next.witnesses.end()),
            (std::set<Address>{w0, addr_of(keys[1])}));
  // voter2 moves its weight; a heavier voter makes keys[3] outweigh keys[1].
  step({tx(keys[1], Vote{{}}), tx(voter2, Vote{{addr_of(keys[3]), w0}})});
  EXPECT_EQ(tally(addr_of(keys[1])), 0u);
  EXPECT_EQ(tally(w0), account(w0).owned() + account(addr_of(voter2)).owned());
  while (upcoming().start_height != tip.height + 1)
    step();
  next = upcoming();
  // keys[1] has no votes now; keys[2] (voter: 5000 - ...) and keys[3] (voter2) compete: keys[2]
  // is heavier, and w0 is heaviest.
  EXPECT_EQ(std::set<Address>(next.witnesses.begin(), next.witnesses.end()),
            (std::set<Address>{w0, addr_of(keys[2])}));
}

TEST_F(ConsensusStateTest, ElectionTiesAreBrokenByAddress) {
  std::vector<std::pair<Address, Amount>> c;
  for (uint8_t i = 0; i < 6; ++i)
    c.emplace_back(addr_of(key_from(static_cast<uint8_t>(i + 1))), i < 2 ? 10 : 5);
  std::vector<Address> fives;
  for (size_t i = 2; i < 6; ++i)
    fives.push_back(c[i].first);
  std::sort(fives.begin(), fives.end());
  std::vector<Address> got = elect(c, 4, Hash{}, 0);
  std::set<Address> want = {c[0].first, c[1].first, fives[0], fives[1]};
  EXPECT_EQ(std::set<Address>(got.begin(), got.end()), want);
}

TEST_F(ConsensusStateTest, RegisteringAndUnregisteringKeepsTheDelegateList) {
  init(2);
  crypto::SigningKey newcomer = key_from(3);
  step({tx(keys[0], Transfer{addr_of(newcomer), imet(1000), {}})});
  step({tx(newcomer, RegisterDelegate{"new"})});
  auto list = delegate_list(state).value().delegates;
  EXPECT_TRUE(std::binary_search(list.begin(), list.end(), addr_of(newcomer)));
  step({tx(newcomer, UnregisterDelegate{})});
  list = delegate_list(state).value().delegates;
  EXPECT_FALSE(std::binary_search(list.begin(), list.end(), addr_of(newcomer)));
  EXPECT_EQ(list.size(), 2u);
}

// ---- missed slots and jail ----

TEST_F(ConsensusStateTest, MissedSlotsJailAWitnessWhichStopsProducingAndSitsOutElections) {
  init(5, [](ChainParams& p) {
    p.n_min = 4;
    p.n_max = 4;
    p.max_missed_slots = 3;
    p.jail_rounds = 2;
  });
  // Round 0 has 4 of the 5 delegates; pick one witness to go silent.
  const Address silent = schedule().witnesses[1];
  uint32_t misses = 0;
  uint64_t jailed_at_height = 0, jailed_in_round = 0;
  bool missed_last = false;
  while (jailed_at_height == 0) {
    ASSERT_LT(tip.height, 60u) << "never jailed";
    // The silent witness's slot is taken over at attempt 1 and decided there; the miss is counted
    // by the next block (its last_cert says attempt 1).
    const bool its_slot = producer(0) == silent;
    step({}, its_slot ? 1 : 0, its_slot ? 1 : 0);
    Delegate d = delegate(silent);
    if (missed_last) ++misses;
    if (d.jailed_height != 0) {
      jailed_at_height = d.jailed_height;
      jailed_in_round = schedule().round;
      EXPECT_EQ(d.missed, 0u);
      EXPECT_EQ(d.jailed_until_round, jailed_in_round + 2 + 1);
    } else {
      EXPECT_EQ(d.missed, misses);
    }
    missed_last = its_slot;
  }
  EXPECT_EQ(misses, 3u);
  EXPECT_EQ(jailed_at_height, tip.height);
  // From the next height on it is skipped (it keeps its place in the witness list).
  for (uint32_t attempt = 0; attempt < 8; ++attempt)
    EXPECT_NE(producer(attempt), silent);
  // The elections of the next two rounds leave it out; the fifth delegate takes its place.
  std::vector<uint64_t> rounds_without;
  while (schedule().round < jailed_in_round + 4) {
    if (upcoming().start_height == tip.height + 1) {
      RoundSchedule next = upcoming();
      if (next.round <= jailed_in_round + 2) {
        EXPECT_FALSE(next.is_witness(silent)) << "round " << next.round;
        EXPECT_EQ(next.size(), 4u);
      } else {
        EXPECT_TRUE(next.is_witness(silent)) << "round " << next.round;  // 4 of 5, top weight
      }
    }
    step();
  }
}

TEST_F(ConsensusStateTest, OneCertificateCountsEveryMissedAttemptAndJailsAsItGoes) {
  init(6, [](ChainParams& p) {
    p.n_min = 6;
    p.n_max = 6;
    p.max_missed_slots = 1;  // one miss jails
    p.jail_rounds = 2;
  });
  step();  // height 1, decided at attempt 0
  // Height 2 is decided at attempt 3: the producers of attempts 0..2 missed, and the block at
  // height 3 (carrying that certificate) counts all three, jailing each of them.
  std::vector<Address> missed;
  for (uint32_t a = 0; a < 3; ++a)
    missed.push_back(producer(a));
  const Address decided_by = producer(3);
  step({}, 3, 3);
  step();
  for (const Address& m : missed) {
    const Delegate d = delegate(m);
    EXPECT_EQ(d.jailed_height, tip.height) << crypto::encode_address(m);
    EXPECT_EQ(d.missed, 0u);
  }
  EXPECT_EQ(delegate(decided_by).jailed_height, 0u);
  // From the next height on, the three are skipped: the six attempts go round the other three.
  std::set<Address> producers;
  for (uint32_t a = 0; a < 6; ++a)
    producers.insert(producer(a));
  EXPECT_EQ(producers.size(), 3u);
  for (const Address& m : missed)
    EXPECT_EQ(producers.count(m), 0u);
  // The two-step form answers as producer_of.
  const RoundSchedule s = upcoming();
  auto unjailed = unjailed_witnesses(state, s, tip.height + 1);
  ASSERT_TRUE(unjailed.ok());
  EXPECT_EQ(unjailed->size(), 3u);
  for (uint32_t a = 0; a < 6; ++a)
    EXPECT_EQ(producer_among(s, *unjailed, tip.height + 1, a), producer(a));
}

TEST_F(ConsensusStateTest, ProducingResetsTheMissCounter) {
  init(4, [](ChainParams& p) { p.max_missed_slots = 3; });
  const Address w = schedule().witnesses[0];
  // Height 1 is w's slot: taken over at attempt 1, the miss is counted at height 2.
  step({}, 1, 1);
  step();
  EXPECT_EQ(delegate(w).missed, 1u);
  while (producer(0) != w)
    step();
  step();  // w produces its own slot
  EXPECT_EQ(delegate(w).missed, 0u);
  EXPECT_EQ(delegate(w).jailed_height, 0u);
}

TEST_F(ConsensusStateTest, AHugeCertificateAttemptJailsTheOthersWithBoundedWork) {
  init(4, [](ChainParams& p) { p.max_missed_slots = 3; });
  step({}, 0, 4'000'000'000u);  // decided at an absurd attempt (needs a quorum's signatures)
  const Address producer_1 = schedule().last_producer;
  step();
  for (const auto& k : keys) {
    Delegate d = delegate(addr_of(k));
    if (addr_of(k) == producer_1) {
      EXPECT_EQ(d.jailed_height, 0u);
    } else {
      EXPECT_EQ(d.jailed_height, 2u);
    }
  }
  // Only the one producer of block 1 is left to produce until the round ends.
  for (uint32_t attempt = 0; attempt < 4; ++attempt)
    EXPECT_EQ(producer(attempt), producer_1);
}

TEST_F(ConsensusStateTest, JailedDelegateMayNotUnregister) {
  init(4, [](ChainParams& p) { p.max_missed_slots = 1; });
  const Address w = schedule().witnesses[0];
  step({}, 1, 1);
  step();
  ASSERT_NE(delegate(w).jailed_height, 0u);
  TxResult r = [&] {
    StateOverlay o(&state);
    BlockContext ctx{&chain.params, chain.chain_id, tip.height + 1, tip.time_ms + 1, {}};
    return apply_transaction(o, tx(key_of(w), UnregisterDelegate{}), ctx);
  }();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, Reject::kJailed);
}

// ---- DEC ----

RoundSchedule ended(uint32_t n, uint32_t full, uint32_t busy, uint32_t congested_streak = 0,
                    uint32_t idle_streak = 0) {
  RoundSchedule s;
  for (uint8_t i = 0; i < n; ++i)
    s.witnesses.push_back(addr_of(key_from(static_cast<uint8_t>(i + 1))));
  s.blocks_seen = n;
  s.full_blocks = full;
  s.busy_blocks = busy;
  s.congested_streak = congested_streak;
  s.idle_streak = idle_streak;
  return s;
}

TEST(Dec, ShrinksAfterCongestedRoundsAndGrowsAfterIdleOnesWithHysteresis) {
  ChainParams p;
  p.n_min = 27;
  p.n_max = 108;
  // Blocks: full at >= 90 % of max_block_txs, busy above 25 %.
  EXPECT_TRUE(block_full(9'000, p));
  EXPECT_FALSE(block_full(8'999, p));
  EXPECT_TRUE(block_busy(2'501, p));
  EXPECT_FALSE(block_busy(2'500, p));
  // A congested round (half the blocks full) starts a streak; the second one shrinks by N/4.
  DecOutcome o = dec_next(ended(60, 30, 60), p);
  EXPECT_EQ(o.n, 60u);
  EXPECT_EQ(o.congested_streak, 1u);
  o = dec_next(ended(60, 30, 60, 1), p);
  EXPECT_EQ(o.n, 45u);
  EXPECT_EQ(o.congested_streak, 0u);
  // Never below n_min.
  EXPECT_EQ(dec_next(ended(30, 30, 30, 1), p).n, 27u);
  // Hysteresis: a round neither congested nor idle ends both streaks.
  o = dec_next(ended(60, 29, 40, 1, 0), p);
  EXPECT_EQ(o.n, 60u);
  EXPECT_EQ(o.congested_streak, 0u);
  EXPECT_EQ(o.idle_streak, 0u);
  // Idle rounds (no block more than 25 % full): the third in a row grows by max(1, N/8).
  o = dec_next(ended(60, 0, 0, 0, 1), p);
  EXPECT_EQ(o.n, 60u);
  EXPECT_EQ(o.idle_streak, 2u);
  o = dec_next(ended(60, 0, 0, 0, 2), p);
  EXPECT_EQ(o.n, 67u);
  EXPECT_EQ(o.idle_streak, 0u);
  EXPECT_EQ(dec_next(ended(105, 0, 0, 0, 2), p).n, 108u);  // never above n_max
  // An idle round ends a congested streak and the reverse.
  o = dec_next(ended(60, 0, 0, 1, 0), p);
  EXPECT_EQ(o.congested_streak, 0u);
  EXPECT_EQ(o.idle_streak, 1u);
  o = dec_next(ended(60, 40, 60, 0, 2), p);
  EXPECT_EQ(o.idle_streak, 0u);
  EXPECT_EQ(o.congested_streak, 1u);
  // Small N: the step is at least 1.
  p.n_min = 1;
  EXPECT_EQ(dec_next(ended(2, 2, 2, 1), p).n, 1u);
  EXPECT_EQ(dec_next(ended(2, 0, 0, 0, 2), p).n, 3u);
  // Below n_min (too few eligible delegates before): back up to n_min when possible.
  p.n_min = 5;
  EXPECT_EQ(dec_next(ended(3, 1, 3), p).n, 5u);
}

TEST_F(ConsensusStateTest, DecResizesTheWitnessSetFromBlockFullness) {
  init(8, [](ChainParams& p) {
    p.n_min = 2;
    p.n_max = 8;
    p.max_block_txs = 1;  // one transaction fills a block
    p.dec_shrink_rounds = 2;
    p.dec_grow_rounds = 3;
  });
  crypto::SigningKey spender = key_from(1);
  step({tx(keys[0], Transfer{addr_of(spender), imet(10'000), {}})});
  auto finish_round = [&](bool full) {
    while (true) {
      const bool last = upcoming().end_height() == tip.height + 2;
      step(full ? std::vector<Transaction>{tx(spender, Transfer{addr_of(keys[0]), 1, {}})}
                : std::vector<Transaction>{});
      if (last) break;
    }
  };
  // Round 0 (8 blocks, the first already full) and round 1 full: round 2 has 8 - 2 = 6.
  finish_round(true);
  EXPECT_EQ(upcoming().size(), 8u);
  EXPECT_EQ(upcoming().congested_streak, 1u);
  step({tx(spender, Transfer{addr_of(keys[0]), 1, {}})});
  finish_round(true);
  EXPECT_EQ(upcoming().round, 2u);
  EXPECT_EQ(upcoming().size(), 6u);
  // Three idle rounds: 6 + 1 = 7.
  for (int r = 0; r < 3; ++r) {
    step();
    finish_round(false);
  }
  EXPECT_EQ(upcoming().round, 5u);
  EXPECT_EQ(upcoming().size(), 7u);
}

// ---- evidence and slashing ----

class EvidenceTest : public ConsensusStateTest {
 protected:
  void SetUp() override {
    init(4, [](ChainParams& p) { p.evidence_max_age_blocks = 5; });
    step();
    step();
  }
  Evidence equivocation(const crypto::SigningKey& k, uint64_t height, uint32_t attempt = 0) {
    Hash x{}, y{};
    x[0] = 1;
    y[0] = 2;
    auto a = testing::commit_vote(k, chain.chain_id, height, x, attempt, VoteType::kPrepare);
    auto b = testing::commit_vote(k, chain.chain_id, height, y, attempt, VoteType::kPrepare);
    return *make_evidence(a, b);
  }
  // A block carrying `ev` (build_block() refuses invalid evidence, so it is put in afterwards) is
  // refused with `fragment`.
  void expect_refused(std::vector<Evidence> ev, const std::string& fragment) {
    Block b = build();
    b.evidence = std::move(ev);
    reseal(b);
    BlockResult r = apply(b);
    ASSERT_TRUE(r) << fragment;
    EXPECT_NE(r->message.find(fragment), std::string::npos) << r->message;
  }
};

TEST_F(EvidenceTest, EquivocationSlashesStakeToThePoolAndJails) {
  const crypto::SigningKey& offender = keys[2];
  const Address who = addr_of(offender);
  const Amount stake = account(who).stake;
  ASSERT_EQ(stake, imet(1000));
  const Amount pool = globals().pod_pool;
  Evidence ev = equivocation(offender, tip.height);
  Block b = build({}, 0, {ev});
  ASSERT_FALSE(apply(b));                            // check_tallies(): supply conserved
  EXPECT_EQ(account(who).stake, stake - imet(100));  // slash_pct = 10
  // The pool gained the slashed coins and lost this block's reward (5 IMET).
  EXPECT_EQ(globals().pod_pool, pool + imet(100) - imet(5));
  EXPECT_EQ(delegate(who).jailed_height, tip.height);
  EXPECT_TRUE(get_record<SettledOffence>(state, keys::offence(ev.offence_id())).value());
  for (uint32_t attempt = 0; attempt < 6; ++attempt)
    EXPECT_NE(producer(attempt), who);
  // The same offence (even as another pair of votes) is not slashed twice.
  Hash z{};
  z[0] = 3;
  auto a = testing::commit_vote(offender, chain.chain_id, ev.a.height, ev.a.block_hash, 0,
                                VoteType::kPrepare);
  auto c = testing::commit_vote(offender, chain.chain_id, ev.a.height, z, 0, VoteType::kPrepare);
  expect_refused({*make_evidence(a, c)}, "already slashed at height");
}

TEST_F(EvidenceTest, InvalidEvidenceMakesTheBlockInvalid) {
  const crypto::SigningKey& w = keys[1];
  // A forged signature.
  Evidence forged = equivocation(w, tip.height);
  forged.b.signature[0] ^= 1;
  expect_refused({forged}, "evidence 0: evidence vote signature is invalid");
  // Two votes that do not conflict / not in canonical order.
  Evidence same = equivocation(w, tip.height);
  std::swap(same.a, same.b);
  expect_refused({same}, "not in canonical order");
  // Votes of two witnesses.
  Evidence two = equivocation(w, tip.height);
  two.b = testing::commit_vote(keys[3], chain.chain_id, tip.height, two.b.block_hash, 0,
                               VoteType::kPrepare);
  expect_refused({two}, "from two voters");
  // Another chain.
  Evidence other = equivocation(w, tip.height);
  other.a = testing::commit_vote(w, "other", tip.height, other.a.block_hash, 0, VoteType::kPrepare);
  other.b = testing::commit_vote(w, "other", tip.height, other.b.block_hash, 0, VoteType::kPrepare);
  expect_refused({other}, "another chain");
  // From the future, and too old.
  expect_refused({equivocation(w, tip.height + 2)}, "above the block's");
  while (tip.height < 9)
    step();
  expect_refused({equivocation(w, 1)}, "older than 5 blocks");
  // Not a delegate.
  expect_refused({equivocation(key_from(77), tip.height)}, "is not a delegate");
  // Twice in one block.
  Evidence ok = equivocation(w, tip.height);
  expect_refused({ok, ok}, "evidence 1: the offence");
  // More than kMaxBlockEvidence entries.
  expect_refused(std::vector<Evidence>(kMaxBlockEvidence + 1, ok),
                 "evidence entries; the limit is");
  // build_block() refuses it too.
  Evidence bad = ok;
  bad.a.signature[0] ^= 1;
  StateOverlay scratch(&state);
  auto built = build_block(scratch, {}, tip, chain, keys[0].public_key(), tip.time_ms + 1,
                           upcoming().round, 0, last_cert, {bad});
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.status().message().find("signature is invalid"), std::string::npos);
  // The valid one applies.
  ASSERT_FALSE(apply(build({}, 0, {ok})));
}

TEST_F(EvidenceTest, SlashingLowersTheTallyOfTheOffendersDelegates) {
  const crypto::SigningKey& offender = keys[3];
  step({tx(offender, Vote{{addr_of(offender)}})});
  const Amount before = tally(addr_of(offender));
  ASSERT_FALSE(apply(build({}, 0, {equivocation(offender, tip.height)})));
  // Minus the 100 IMET slashed (its account gained nothing else: it did not produce).
  if (schedule().last_producer != addr_of(offender)) {
    EXPECT_EQ(tally(addr_of(offender)), before - imet(100));
  }
}

// ---- random blocks: tallies and supply stay exact ----

TEST_F(ConsensusStateTest, RandomBlocksKeepTalliesAndSupplyExact) {
  init(6, [](ChainParams& p) {
    p.n_min = 3;
    p.n_max = 5;
  });
  std::mt19937_64 rng(11);
  std::vector<crypto::SigningKey> users;
  for (uint8_t i = 0; i < 4; ++i)
    users.push_back(key_from(static_cast<uint8_t>(i + 1)));
  std::vector<Transaction> fund;
  for (const auto& u : users)
    fund.push_back(tx(keys[0], Transfer{addr_of(u), imet(2000), {}}));
  step(fund);
  for (int h = 0; h < 40; ++h) {
    std::vector<Transaction> txs;
    std::set<Address> used;
    for (int i = 0; i < 4; ++i) {
      const auto& u = users[rng() % users.size()];
      if (!used.insert(addr_of(u)).second) continue;
      switch (rng() % 5) {
        case 0:
          txs.push_back(tx(u, Transfer{addr_of(users[rng() % users.size()]), imet(3), {}}));
          break;
        case 1:
          txs.push_back(tx(u, Vote{{addr_of(keys[rng() % keys.size()])}}));
          break;
        case 2:
          txs.push_back(tx(u, Stake{imet(10)}));
          break;
        case 3:
          if (account(addr_of(u)).stake >= imet(5)) txs.push_back(tx(u, Unstake{imet(5)}));
          break;
        default:
          txs.push_back(tx(u, Vote{{}}));
      }
    }
    const uint32_t attempt = rng() % 4 == 0 ? 1 : 0;
    step(txs, attempt, attempt);
  }
  EXPECT_GE(schedule().round, 5u);
}

}  // namespace
}  // namespace imet::ledger
