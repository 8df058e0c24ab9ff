// Engine: the DSFT finality state machine of one node (SPEC 3, docs/consensus.md). It runs the
// Tendermint algorithm (Buchman, Kwon, Milosevic 2018) in SPEC's words: for each height after the
// final tip, attempts 0, 1, ... (Tendermint's rounds; attempt a is the slot of
// ChainView::producer(a), so attempt 1 is the missed-slot takeover by the next slot's producer,
// built on the last final block); in each attempt the producer sends a Proposal (pre-prepare),
// witnesses send PREPARE (prevote) and, on a PREPARE quorum for the block, lock on it and send
// COMMIT (precommit); a COMMIT quorum for a block decides it, the COMMITs form its
// FinalityCertificate and the block is committed through ChainView::commit(). Quorum is
// ledger::quorum(n) (more than two thirds); honest_threshold(n) messages of a later attempt make a
// node skip to it.
//
// Deterministic: the engine reads no clock and no randomness; every input carries now_ms, and the
// same inputs in the same order give the same outputs (the simulation in tests/sim relies on it).
// Every input returns an Output: messages to broadcast, blocks committed, equivocation evidence
// found or accepted (the owner gossips it), a verdict on the input (so the owner can score the peer
// that sent it) and, when the engine signed something, the SignerState the owner must persist
// before broadcasting (so a restarted node never signs a conflicting vote and keeps its lock). The
// owner calls on_timer() at next_timer_ms() (or later). Evidence: equivocation found in votes, or
// learned from peers through on_evidence(), joins a bounded pending pool (at most one entry per
// offender, max_pending_evidence in all) that this node's next block carries; an entry leaves the
// pool once a committed block settles its offence or it is older than evidence_max_age_blocks.
//
// Thread-safety: not thread-safe; the owner serialises all calls (one strand), together with all
// calls into the ChainView. Invariants: height() == chain.final_tip().height + 1 between calls;
// the engine signs at most one proposal and one vote of each type per (height, attempt), across
// restarts when the owner persists and restores SignerState; once locked on a block at attempt a,
// it PREPAREs another block at a later attempt only on a PREPARE quorum for it at an attempt >= a
// (Tendermint's locking rule).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "consensus/chain_view.h"
#include "consensus/key_memo.h"
#include "consensus/messages.h"
#include "consensus/signature_check.h"
#include "consensus/vote_book.h"

namespace imet::consensus {

// What the engine made of one input, for peer scoring.
enum class Verdict : uint8_t {
  kAccepted,       // new and valid (or a timer/start/sync call that went through)
  kBuffered,       // valid-looking message for the next height, kept for later
  kDuplicate,      // already had it
  kIgnoredOld,     // for a height already final (the sender may be behind: offer it sync)
  kIgnoredFuture,  // too far ahead (height > next + 1, or attempt beyond the window)
  kInvalid,        // malformed, wrongly signed, from a non-witness or non-producer: score down
};
const char* verdict_name(Verdict v);

// The signing state that must survive a restart (persist it before sending what was signed).
enum class SignedStep : uint8_t { kNone = 0, kProposed = 1, kPrepared = 2, kCommitted = 3 };
constexpr bool is_valid(SignedStep s) {
  return static_cast<uint8_t>(s) <= 3;
}

struct SignerState {
  uint64_t height = 0;
  uint32_t attempt = 0;
  SignedStep step = SignedStep::kNone;  // the furthest step signed at (height, attempt)
  int64_t locked_attempt = -1;
  std::optional<ledger::Block> locked_block;
  // The PREPARE quorum for locked_block at locked_attempt: after a restart the node re-proposes
  // its locked block with these votes, which witnesses that never saw them need to accept it.
  std::vector<ledger::WitnessVote> lock_proof;
  // The votes signed at (height, attempt): re-sent after a restart (never re-signed).
  std::vector<ledger::WitnessVote> own_votes;

  template <typename S>
  void serde(S& s) {
    s.u64(height, "height");
    s.u32(attempt, "attempt");
    s.enumeration(step, "step");
    s.i64(locked_attempt, "locked_attempt");
    s.optional(locked_block, "locked_block");
    s.require(locked_block.has_value() == (locked_attempt >= 0),
              "locked_block present iff locked_attempt >= 0", "locked_block");
    s.vector(lock_proof, ledger::kMaxCertSigs, "lock_proof");
    s.vector(own_votes, 2, "own_votes");
  }
  bool operator==(const SignerState&) const = default;
};

struct Committed {
  ledger::Block block;
  ledger::FinalityCertificate cert;
  bool via_sync = false;  // from on_synced_block rather than from our own vote count
};

struct Output {
  Verdict verdict = Verdict::kAccepted;
  std::string reason;  // why, for anything but kAccepted
  std::vector<ConsensusMessage> broadcast;
  std::vector<Committed> committed;
  std::vector<ledger::Evidence> evidence;  // new in the pending pool (found or received): gossip it
  std::optional<SignerState> signer_state;  // persist before sending `broadcast`
  util::Status error;                       // a ChainView failure (build/commit); not the peer's
};

struct EngineOptions {
  // PREPARE and COMMIT waits (Tendermint's timeoutPrevote/timeoutPrecommit) after a quorum of
  // mixed votes: slot_ms * vote_wait_pct / 100 * (1 + attempt).
  uint32_t vote_wait_pct = 25;
  // Growth of all timeouts stops at this attempt (keeps the arithmetic bounded).
  uint32_t max_timeout_attempt = 1'000;
  // Votes and proposals for attempts beyond attempt() + this are ignored.
  uint32_t max_attempts_ahead = 64;
  // Messages for height() + 1 kept until that height starts.
  size_t max_buffered_per_sender = 8;
  size_t max_buffered_total = 4'096;
  // Re-send own messages of the current and the previous attempt every slot_ms while undecided
  // (lost messages; a witness still waiting for COMMITs of the previous attempt needs ours).
  bool rebroadcast = true;
  // Pending equivocation evidence kept for the next block (one entry per offender).
  size_t max_pending_evidence = 256;
};

class Engine {
 public:
  enum class Step : uint8_t { kPropose, kPrepare, kCommit };

  // `key`: this node's signing key (nullopt: an observer that follows and decides but never
  // signs). `checker` must outlive the engine. `restored`: the last persisted SignerState.
  Engine(ChainView& chain, std::optional<crypto::SigningKey> key, const SignatureChecker& checker,
         EngineOptions options = {}, std::optional<SignerState> restored = std::nullopt);

  Output start(uint64_t now_ms);
  Output on_message(const ConsensusMessage& msg, uint64_t now_ms);
  Output on_proposal(const Proposal& proposal, uint64_t now_ms);
  Output on_vote(const ledger::WitnessVote& vote, uint64_t now_ms);
  Output on_timer(uint64_t now_ms);
  // Evidence a peer sent (P2P evidence gossip). Checked with Evidence::check and
  // ChainView::check_evidence; accepted evidence joins the pending pool and is reported in
  // Output::evidence (for relay). Verdicts: accepted; buffered (votes of height() + 1 against a
  // current witness: admitted, and reported for relay, when that height starts); duplicate
  // (offence already known, or evidence against that offender already pending); ignored-old
  // (already slashed, older than evidence_max_age_blocks); ignored-future (other votes above
  // height(), pool full); invalid (votes that do not conflict, bad signature, another chain,
  // offender not a delegate).
  Output on_evidence(const ledger::Evidence& evidence, uint64_t now_ms);
  // A final block fetched by sync for height(): the certificate is checked against the schedule,
  // the block validated and committed, and the next height started.
  Output on_synced_block(const ledger::Block& block, const ledger::FinalityCertificate& cert,
                         uint64_t now_ms);

  // When on_timer() should next be called (absolute ms); nullopt before start().
  std::optional<uint64_t> next_timer_ms() const;

  uint64_t height() const { return height_; }
  uint32_t attempt() const { return attempt_; }
  Step step() const { return step_; }
  int64_t locked_attempt() const { return locked_attempt_; }
  const std::vector<ledger::Evidence>& pending_evidence() const { return pending_evidence_; }
  const ledger::RoundSchedule& schedule() const { return schedule_; }
  bool is_witness() const { return is_witness_; }
  size_t buffered() const { return buffered_count_; }
  const VoteBook& votes() const { return votes_; }
  bool has_proposal(uint32_t attempt) const { return proposals_.count(attempt) > 0; }

 private:
  struct BlockCheck {
    bool time_ok = false;   // after the parent, at most one slot ahead of the clock at receipt
    bool chain_ok = false;  // ChainView::validate() accepted it
    std::string reason;
    bool ok() const { return time_ok && chain_ok; }
  };
  struct ProposalEntry {
    Proposal proposal;
    ledger::Hash hash{};
  };
  struct Buffered {
    std::vector<ConsensusMessage> msgs;
  };

  void start_height(uint64_t now, Output& out);
  void start_attempt(uint32_t attempt, uint64_t now);
  void advance(uint64_t now, Output& out);  // applies every enabled rule until none is
  bool try_decide(uint64_t now, Output& out);
  void propose(uint64_t now, Output& out);
  void sign_vote(ledger::VoteType type, const ledger::Hash& hash, Output& out);
  void record_signed(SignedStep step, Output& out, const ledger::WitnessVote* vote = nullptr);
  // `hash` is block.header.hash() (the callers have it).
  const BlockCheck& check_block(const ledger::Block& block, const ledger::Hash& hash, uint64_t now);
  struct KeyInfo {
    bool witness = false;  // the key's address is a witness of this height
    std::string address;   // bech32, for reasons
  };
  // Memoized per key (a voter's address is a BLAKE2b hash of its key).
  const KeyInfo& key_info(const ledger::PublicKey& key);
  const ledger::Block* block_by_hash(const ledger::Hash& h) const;
  Verdict handle_proposal(const Proposal& p, uint64_t now, Output& out);
  Verdict handle_vote(const ledger::WitnessVote& v, Output& out);
  Verdict buffer(const ConsensusMessage& msg, const ledger::PublicKey& sender, Output& out);
  bool commit_block(const ledger::Block& block, const ledger::FinalityCertificate& cert,
                    bool via_sync, uint64_t now, Output& out);
  std::optional<ledger::Address> producer(uint32_t attempt);
  bool is_own_producer_slot();
  uint64_t propose_timeout(uint32_t attempt) const;
  uint64_t vote_wait(uint32_t attempt) const;
  // on_evidence() without the started check; sets out.reason (and out.error) on refusal.
  Verdict admit_evidence(const ledger::Evidence& e, Output& out);
  // Adds evidence (already checked) to the pending pool, or says why not (out.reason).
  Verdict note_evidence(const ledger::Evidence& e, Output& out);

  ChainView& chain_;
  std::optional<crypto::SigningKey> key_;
  const SignatureChecker& checker_;
  EngineOptions options_;
  std::optional<SignerState> restored_;
  SignerState signer_;
  bool started_ = false;

  // Current height.
  uint64_t height_ = 0;
  ledger::ChainTip parent_;
  ledger::RoundSchedule schedule_;
  std::set<ledger::Address> witnesses_;
  std::vector<ledger::Address> witness_order_;  // schedule_.witnesses when witnesses_ was built
  bool is_witness_ = false;
  uint64_t height_start_ms_ = 0;
  uint32_t quorum_ = 1;
  uint32_t honest_ = 1;

  // Tendermint state.
  uint32_t attempt_ = 0;
  Step step_ = Step::kPropose;
  int64_t locked_attempt_ = -1;
  std::optional<ledger::Block> locked_block_;
  ledger::Hash locked_hash_{};  // locked_block_'s hash (all zero without one)
  int64_t valid_attempt_ = -1;
  std::optional<ledger::Block> valid_block_;
  ledger::Hash valid_hash_{};  // valid_block_'s hash
  // Voter keys seen and what they are; cleared when the witness set changes and when it holds
  // kMaxKeyInfos keys (non-witnesses may send many).
  static constexpr size_t kMaxKeyInfos = 4'096;
  KeyMemo<KeyInfo> key_infos_;

  std::map<uint32_t, ProposalEntry> proposals_;
  std::map<ledger::Hash, BlockCheck> checked_;
  std::map<uint32_t, std::optional<ledger::Address>> producers_;  // cache of chain_.producer()
  VoteBook votes_;

  // Per-attempt progress flags and timers.
  bool own_slot_ = false;         // this node produces at attempt_
  bool proposed_ = false;         // own proposal sent at attempt_
  bool prepare_waiting_ = false;  // PREPARE quorum of mixed votes seen (timer armed)
  bool commit_waiting_ = false;   // COMMIT quorum of mixed votes seen (timer armed)
  bool locked_this_attempt_ = false;
  uint64_t propose_at_ms_ = 0;
  uint64_t propose_deadline_ms_ = 0;
  uint64_t prepare_deadline_ms_ = 0;
  uint64_t commit_deadline_ms_ = 0;
  uint64_t rebroadcast_at_ms_ = 0;
  std::vector<ConsensusMessage> own_messages_;   // sent at attempt_ (for rebroadcast)
  std::vector<ConsensusMessage> prev_messages_;  // sent at the attempt before (rebroadcast too)

  // Messages for height_ + 1, per sender key.
  std::map<ledger::PublicKey, Buffered> buffer_;
  size_t buffered_count_ = 0;

  std::vector<ledger::Evidence> pending_evidence_;
  // Evidence for height_ + 1 against a current witness (one per offender), admitted when that
  // height starts.
  std::vector<ledger::Evidence> future_evidence_;
  static constexpr size_t kMaxKnownOffences = 100'000;  // then forgotten (the ledger dedups too)
  std::set<ledger::Hash> known_offences_;
};

}  // namespace imet::consensus
