// VoteBook: the PREPARE and COMMIT votes of one height, by (attempt, type), as the engine
// (consensus/engine.h) counts them. The first vote of a voter for an (attempt, type) is the one
// that counts; a later vote from the same voter for the same (attempt, type) with another block
// hash is equivocation and yields ledger::Evidence (both votes signed by the voter).
// The book does not check signatures or membership: the engine admits only verified votes from
// the height's witnesses for this height.
// Thread-safety: not thread-safe (owned by one engine). Invariants: for every (attempt, type),
// count(hash) equals the number of stored first votes with that hash, and each voter has at most
// one stored vote per (attempt, type).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "ledger/vote.h"

namespace imet::consensus {

class VoteBook {
 public:
  enum class AddResult { kAdded, kDuplicate, kEquivocation };
  struct Added {
    AddResult result = AddResult::kAdded;
    std::optional<ledger::Evidence> evidence;  // set for kEquivocation
  };

  Added add(const ledger::WitnessVote& vote);
  void clear();

  // Votes for `hash` (all zero: nil) at (attempt, type).
  uint32_t count(uint32_t attempt, ledger::VoteType type, const ledger::Hash& hash) const;
  // Votes of any hash at (attempt, type).
  uint32_t total(uint32_t attempt, ledger::VoteType type) const;
  // Distinct voters with a vote of either type at `attempt`.
  uint32_t voters_at(uint32_t attempt) const;
  // The voter's counted vote at (attempt, type), if any.
  const ledger::WitnessVote* find(uint32_t attempt, ledger::VoteType type,
                                  const ledger::PublicKey& voter) const;
  // Every (attempt, non-nil hash) holding at least `quorum` COMMITs, ascending by attempt.
  std::vector<std::pair<uint32_t, ledger::Hash>> commit_quorums(uint32_t quorum) const;
  // The COMMIT signatures for `hash` at `attempt`, ascending by voter key (a certificate body).
  std::vector<ledger::CommitSig> commits_for(uint32_t attempt, const ledger::Hash& hash) const;
  // Highest attempt holding any vote (nullopt if empty).
  std::optional<uint32_t> highest_attempt() const;
  size_t size() const { return size_; }

 private:
  struct Tally {
    std::map<ledger::PublicKey, ledger::WitnessVote> by_voter;
    std::map<ledger::Hash, uint32_t> count;
  };
  using Key = std::pair<uint32_t, ledger::VoteType>;
  const Tally* tally(uint32_t attempt, ledger::VoteType type) const;

  std::map<Key, Tally> tallies_;
  std::map<uint32_t, std::set<ledger::PublicKey>> voters_;
  size_t size_ = 0;
};

}  // namespace imet::consensus
