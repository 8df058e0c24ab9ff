// Witness schedule (SPEC 3): which delegates are the witnesses of a DPoS round, in which order they
// produce, and how many there are (DEC). It is ledger state (key 'w'), computed deterministically
// during block application, so every node derives the same schedule from the same chain, and a
// light client or a syncing node can check a finality certificate against a schedule committed in
// a state root. docs/design/consensus-layering.md says why this lives in the ledger rather than in
// the consensus layer (which runs the PREPARE/COMMIT state machine over it).
//
// Rounds: round r covers heights [start_height, start_height + witnesses.size()). The schedule of
// round r+1 is computed when the first block of round r+1 is applied, from the state after the
// last block of round r and that block's hash (the shuffle seed); next_schedule() is the same pure
// function, so a producer can know the schedule before it builds the block.
// Producer of (height, attempt): witnesses[(height - start_height + attempt) mod n], skipping
// witnesses jailed during the round (they stop producing at once but keep voting until the round
// ends; the voter set of a height never changes).
// Precisely: the witnesses not jailed at `height` (jailed_at()) keep their order, and the producer
// is active[(height - start_height + attempt) mod active.size()]; a witness jailed by block J is
// skipped from height J + 1 on, so the producers of a height depend only on the state before it.
// When every witness is jailed none is skipped (the chain must not halt).
// Election (at each rotation): the registered delegates not jailed for the new round, ranked by
// tally (ledger/delegates.h) descending, then by address; the first N_active (DEC below, capped by
// the number of eligible delegates, never below 1) are shuffled with a seed from the hash of the
// previous round's last block (Fisher-Yates over a BLAKE2b stream, shuffle_witnesses()). When no
// delegate is eligible every registered delegate is; with no delegate at all the witnesses stay.
// DEC: docs/ledger.md "Consensus state" and dec_next().
// Thread-safety: pure functions over a StateReader. Invariants: a stored RoundSchedule has
// 1 <= witnesses.size() <= n_max, no duplicates, and start_height >= 1.
#pragma once

#include <span>
#include <vector>

#include "ledger/block.h"
#include "ledger/state.h"
#include "ledger/state_view.h"
#include "ledger/transaction.h"

namespace imet::ledger {

inline constexpr size_t kMaxWitnesses = 1'000;  // codec cap; params.n_max is the rule

struct RoundSchedule {
  uint64_t round = 0;
  uint64_t start_height = 1;
  std::vector<Address> witnesses;  // production order (shuffled)
  // DEC bookkeeping for the round in progress and the hysteresis streaks (docs/consensus.md).
  uint32_t blocks_seen = 0;  // blocks of this round applied so far
  uint32_t full_blocks = 0;  // of which were congested (full)
  uint32_t congested_streak = 0;
  uint32_t idle_streak = 0;
  uint32_t busy_blocks = 0;  // blocks of this round more than dec_idle_pct % full
  Address last_producer{};   // producer of the last applied block (all zero before block 1)

  uint32_t size() const { return static_cast<uint32_t>(witnesses.size()); }
  uint64_t end_height() const { return start_height + witnesses.size(); }  // exclusive
  bool is_witness(const Address& a) const;

  template <typename S>
  void serde(S& s) {
    s.u64(round, "round");
    s.u64(start_height, "start_height");
    s.vector(witnesses, kMaxWitnesses, "witnesses");
    s.u32(blocks_seen, "blocks_seen");
    s.u32(full_blocks, "full_blocks");
    s.u32(congested_streak, "congested_streak");
    s.u32(idle_streak, "idle_streak");
    s.u32(busy_blocks, "busy_blocks");
    s.fixed(last_producer, "last_producer");
  }
  bool operator==(const RoundSchedule&) const = default;
};

namespace keys {
util::Bytes schedule();  // 'w'
}  // namespace keys

// The schedule record in `state` (kCorruption when absent: genesis writes it).
util::Result<RoundSchedule> current_schedule(const StateReader& state);

// Deterministic Fisher-Yates shuffle driven by BLAKE2b("IMET/shuffle/v1" 0 seed round_le64 || i).
void shuffle_witnesses(std::vector<Address>& witnesses, const Hash& seed, uint64_t round);
// Ranks (address, weight) candidates by weight descending then address ascending, keeps the first
// n and shuffles them (seed, round).
std::vector<Address> elect(std::vector<std::pair<Address, Amount>> candidates, size_t n,
                           const Hash& seed, uint64_t round);

// DEC. A block is full when txs * 100 >= max_block_txs * dec_full_pct, busy when
// txs * 100 > max_block_txs * dec_idle_pct.
bool block_full(size_t txs, const ChainParams& p);
bool block_busy(size_t txs, const ChainParams& p);
struct DecOutcome {
  uint32_t n = 1;  // N_active of the next round, within [n_min, n_max], before the eligible cap
  uint32_t congested_streak = 0;
  uint32_t idle_streak = 0;
};
// From the ending round: congested when full_blocks * 100 >= blocks_seen * dec_congested_pct,
// idle when busy_blocks == 0; a congested round extends the congested streak and ends the idle
// one, an idle round the reverse, any other round ends both. At dec_shrink_rounds congested
// rounds in a row N shrinks by max(1, N/4), at dec_grow_rounds idle rounds it grows by
// max(1, N/8), and that streak restarts.
DecOutcome dec_next(const RoundSchedule& ending, const ChainParams& p);

// Whether delegate `d` is skipped as a producer at `height` of round `round`.
bool jailed_at(const Delegate& d, uint64_t height, uint64_t round);
// Whether `d` may be elected for round `round`.
bool eligible_for(const Delegate& d, uint64_t round);

// The schedule in force at tip.height + 1: the stored one while tip.height + 1 is inside its
// round, else the next round's (election, DEC, shuffle seeded by tip.hash). Pure: block
// application and the producer both call it.
util::Result<RoundSchedule> next_schedule(const StateReader& state, const ChainTip& tip,
                                          const ChainParams& params);
// The producer of (height, attempt) under schedule `s` (height inside s's round).
util::Result<Address> producer_of(const StateReader& state, const RoundSchedule& s, uint64_t height,
                                  uint32_t attempt);

// Whether witness `a` is skipped as a producer at `height` of round `round` (reads its delegate
// record: jailed_at(); no record: not skipped).
util::Result<bool> witness_jailed(const StateReader& state, const Address& a, uint64_t height,
                                  uint64_t round);

// producer_of in two steps, for callers that ask about many attempts of one height: the witnesses
// of `s` not jailed at `height` (pointers into s.witnesses, in schedule order; reads every
// witness's delegate record), then the producer of `attempt` among them. The list stays right
// as long as no witness's jailed_height or jailed_until_round changes.
util::Result<std::vector<const Address*>> unjailed_witnesses(const StateReader& state,
                                                             const RoundSchedule& s,
                                                             uint64_t height);
Address producer_among(const RoundSchedule& s, std::span<const Address* const> unjailed,
                       uint64_t height, uint32_t attempt);

// Whether a and b order the same witnesses for the same heights (round, start height, witness
// order); the DEC counters and last producer, which change with every block, may differ.
bool same_order(const RoundSchedule& a, const RoundSchedule& b);

// unjailed_witnesses(state, *schedule, height) as the caller already has it for the state a block
// at `height` is applied to (the node keeps it per chain tip): block application then uses it
// instead of reading every witness's delegate record again, if `schedule` has the same order as
// the schedule in force at that height (same_order); otherwise it is ignored.
struct KnownUnjailed {
  const RoundSchedule* schedule = nullptr;
  std::span<const Address* const> unjailed;
  uint64_t height = 0;
};

}  // namespace imet::ledger
