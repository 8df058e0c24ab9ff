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
// Thread-safety: pure functions over a StateReader. Invariants: a stored RoundSchedule has
// 1 <= witnesses.size() <= n_max, no duplicates, and start_height >= 1.
#pragma once

#include <vector>

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
  }
  bool operator==(const RoundSchedule&) const = default;
};

}  // namespace imet::ledger
