// VoteBook: the PREPARE and COMMIT votes of one height, by (attempt, type), as the engine
// (consensus/engine.h) counts them. Every signed vote counts for the hash it names: a witness that
// signs two hashes for one (attempt, type) (equivocation, which yields ledger::Evidence from its
// first and its new vote) counts for both. That is what a quorum certificate means (q signatures
// on one hash), so two quorums for different hashes still share more than f signers, at least one
// honest; and it lets a node accept a proof (the PREPARE quorum sent with a re-proposal) whose
// signer set includes an equivocator whose other vote it saw first. total() counts each voter
// once. Memory: beyond kMaxHashesPerVoter hashes per (voter, attempt, type), further votes are
// kept only when the caller says they matter (nil, or a block proposed at this height).
// The book does not check signatures or membership: the engine admits only verified votes from
// the height's witnesses for this height.
// Thread-safety: not thread-safe (owned by one engine). Invariants: count(a, t, h) is the number of
// distinct voters with a stored vote for h at (a, t); total(a, t) the number of distinct voters at
// (a, t); a voter has at most one stored vote per (attempt, type, hash).
#pragma once

#include <map>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "crypto/hash.h"
#include "ledger/vote.h"

namespace imet::consensus {

class VoteBook {
 public:
  enum class AddResult { kAdded, kDuplicate, kEquivocation };
  struct Added {
    AddResult result = AddResult::kAdded;
    std::optional<ledger::Evidence> evidence;  // set for kEquivocation
  };

  static constexpr size_t kMaxHashesPerVoter = 3;

  // `relevant`: keep the vote even past kMaxHashesPerVoter (the engine passes true for nil votes
  // and votes for blocks proposed at this height).
  Added add(const ledger::WitnessVote& vote, bool relevant = true);
  void clear();

  // Votes for `hash` (all zero: nil) at (attempt, type).
  uint32_t count(uint32_t attempt, ledger::VoteType type, const ledger::Hash& hash) const;
  // Votes of any hash at (attempt, type).
  uint32_t total(uint32_t attempt, ledger::VoteType type) const;
  // Distinct voters with a vote of either type at `attempt`.
  uint32_t voters_at(uint32_t attempt) const;
  // Whether the voter's vote for `hash` at (attempt, type) is stored.
  bool has(uint32_t attempt, ledger::VoteType type, const ledger::PublicKey& voter,
           const ledger::Hash& hash) const;
  // Every (attempt, non-nil hash) holding at least `quorum` COMMITs, ascending by attempt.
  std::vector<std::pair<uint32_t, ledger::Hash>> commit_quorums(uint32_t quorum) const;
  // The COMMIT signatures for `hash` at `attempt`, ascending by voter key (a certificate body).
  std::vector<ledger::CommitSig> commits_for(uint32_t attempt, const ledger::Hash& hash) const;
  // The counted votes for `hash` at (attempt, type), ascending by voter key (e.g. the PREPARE
  // quorum that justifies a re-proposal or a lock).
  std::vector<ledger::WitnessVote> votes_for(uint32_t attempt, ledger::VoteType type,
                                             const ledger::Hash& hash) const;
  // Highest attempt holding any vote (nullopt if empty).
  std::optional<uint32_t> highest_attempt() const;
  size_t size() const { return size_; }

 private:
  // Voters get dense ids (in order of first appearance, per height) so tallies are vectors indexed
  // by id instead of ordered maps keyed by 32-byte keys: a vote costs one hash lookup.
  struct HashTally {
    std::vector<ledger::WitnessVote> votes;  // stored votes, in arrival order
    std::vector<uint8_t> stored;             // by voter id: 1 if that voter's vote is in `votes`
  };
  struct FirstRef {  // where a voter's first vote at (attempt, type) is stored
    const HashTally* tally = nullptr;
    uint32_t index = 0;
  };
  struct Tally {
    std::map<ledger::Hash, HashTally> by_hash;  // few entries: the block(s) and nil
    std::vector<FirstRef> first;                // by voter id
    std::vector<uint32_t> hashes_of;            // by voter id: distinct hashes stored
    uint32_t voters = 0;                        // voters with a first vote
  };
  struct AttemptVoters {
    std::vector<uint8_t> seen;  // by voter id
    uint32_t count = 0;
  };
  using Key = std::pair<uint32_t, ledger::VoteType>;
  const Tally* tally(uint32_t attempt, ledger::VoteType type) const;
  std::optional<uint32_t> id_of(const ledger::PublicKey& voter) const;
  uint32_t intern(const ledger::PublicKey& voter);

  std::unordered_map<ledger::PublicKey, uint32_t, crypto::DigestHash> ids_;
  std::map<Key, Tally> tallies_;
  std::map<uint32_t, AttemptVoters> voters_;
  size_t size_ = 0;
};

}  // namespace imet::consensus
