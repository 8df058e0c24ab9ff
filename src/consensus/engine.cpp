#include "consensus/engine.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace imet::consensus {

namespace {

std::string short_hex(const ledger::Hash& h) {
  return util::to_hex(util::ByteSpan(h.data(), 8));
}

std::string addr(const ledger::PublicKey& pk) {
  return crypto::encode_address(crypto::address_bytes_of(pk));
}

std::string at(uint64_t height, uint32_t attempt) {
  return "height " + std::to_string(height) + " attempt " + std::to_string(attempt);
}

}  // namespace

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kAccepted:
      return "accepted";
    case Verdict::kBuffered:
      return "buffered";
    case Verdict::kDuplicate:
      return "duplicate";
    case Verdict::kIgnoredOld:
      return "ignored-old";
    case Verdict::kIgnoredFuture:
      return "ignored-future";
    case Verdict::kInvalid:
      return "invalid";
  }
  return "?";
}

Engine::Engine(ChainView& chain, std::optional<crypto::SigningKey> key,
               const SignatureChecker& checker, EngineOptions options,
               std::optional<SignerState> restored)
    : chain_(chain), key_(std::move(key)), checker_(checker), options_(options) {
  if (restored) signer_ = std::move(*restored);
}

uint64_t Engine::propose_timeout(uint32_t attempt) const {
  const uint64_t slot = chain_.config().params.slot_ms;
  return slot * (1 + std::min(attempt, options_.max_timeout_attempt));
}

uint64_t Engine::vote_wait(uint32_t attempt) const {
  const uint64_t slot = chain_.config().params.slot_ms;
  const uint64_t base = std::max<uint64_t>(1, slot * options_.vote_wait_pct / 100);
  return base * (1 + std::min(attempt, options_.max_timeout_attempt));
}

std::optional<ledger::Address> Engine::producer(uint32_t attempt) {
  auto it = producers_.find(attempt);
  if (it != producers_.end()) return it->second;
  auto p = chain_.producer(attempt);
  std::optional<ledger::Address> value = p.ok() ? *p : std::nullopt;
  producers_.emplace(attempt, value);
  return value;
}

bool Engine::is_own_producer_slot() {
  if (!is_witness_) return false;
  auto p = producer(attempt_);
  return p && *p == crypto::address_bytes_of(key_->public_key());
}

const Engine::KeyInfo& Engine::key_info(const ledger::PublicKey& key) {
  if (const KeyInfo* known = key_infos_.find(key)) return *known;
  if (key_infos_.size() >= kMaxKeyInfos) key_infos_.clear();
  const ledger::Address a = crypto::address_bytes_of(key);
  return key_infos_.insert(key, KeyInfo{witnesses_.count(a) > 0, crypto::encode_address(a)});
}

// ---- inputs ----------------------------------------------------------------------------------

Output Engine::start(uint64_t now_ms) {
  Output out;
  started_ = true;
  start_height(now_ms, out);
  advance(now_ms, out);
  return out;
}

Output Engine::on_message(const ConsensusMessage& msg, uint64_t now_ms) {
  if (const Proposal* p = msg.proposal()) return on_proposal(*p, now_ms);
  return on_vote(*msg.vote(), now_ms);
}

Output Engine::on_proposal(const Proposal& proposal, uint64_t now_ms) {
  Output out;
  if (!started_) {
    out.verdict = Verdict::kIgnoredFuture;
    out.reason = "consensus engine not started";
    return out;
  }
  out.verdict = handle_proposal(proposal, now_ms, out);
  advance(now_ms, out);
  return out;
}

Output Engine::on_vote(const ledger::WitnessVote& vote, uint64_t now_ms) {
  Output out;
  if (!started_) {
    out.verdict = Verdict::kIgnoredFuture;
    out.reason = "consensus engine not started";
    return out;
  }
  out.verdict = handle_vote(vote, out);
  advance(now_ms, out);
  return out;
}

Output Engine::on_timer(uint64_t now_ms) {
  Output out;
  if (!started_) return out;
  advance(now_ms, out);
  if (step_ == Step::kPropose && now_ms >= propose_deadline_ms_) {
    sign_vote(ledger::VoteType::kPrepare, ledger::Hash{}, out);  // timeoutPropose
    step_ = Step::kPrepare;
  }
  if (step_ == Step::kPrepare && prepare_waiting_ && now_ms >= prepare_deadline_ms_) {
    sign_vote(ledger::VoteType::kCommit, ledger::Hash{}, out);  // timeoutPrevote
    step_ = Step::kCommit;
  }
  if (commit_waiting_ && now_ms >= commit_deadline_ms_) {
    start_attempt(attempt_ + 1, now_ms);  // timeoutPrecommit
  }
  if (options_.rebroadcast && now_ms >= rebroadcast_at_ms_) {
    out.broadcast.insert(out.broadcast.end(), prev_messages_.begin(), prev_messages_.end());
    out.broadcast.insert(out.broadcast.end(), own_messages_.begin(), own_messages_.end());
    rebroadcast_at_ms_ = now_ms + chain_.config().params.slot_ms;
  }
  advance(now_ms, out);
  return out;
}

Output Engine::on_evidence(const ledger::Evidence& e, uint64_t now_ms) {
  Output out;
  (void)now_ms;  // evidence does not depend on time; the parameter keeps the inputs uniform
  if (!started_) {
    out.verdict = Verdict::kIgnoredFuture;
    out.reason = "consensus engine not started";
    return out;
  }
  out.verdict = admit_evidence(e, out);
  return out;
}

Verdict Engine::admit_evidence(const ledger::Evidence& e, Output& out) {
  const uint64_t vh = e.a.height;
  const std::string what = "evidence against " + addr(e.a.voter) + " for " + at(vh, e.a.attempt);
  if (known_offences_.count(e.offence_id()) > 0) {
    out.reason = what + " already known";
    return Verdict::kDuplicate;
  }
  if (util::Status st = e.check(chain_.config().chain_id); !st.ok()) {
    out.reason = what + ": " + st.message();
    return Verdict::kInvalid;
  }
  if (vh > height_) {
    // A node one block behind the sender: kept until that height starts if the offender is a
    // witness now (so only witness keys can fill this buffer: one entry each).
    const ledger::Address offender = e.offender();
    const bool kept_already =
        std::any_of(future_evidence_.begin(), future_evidence_.end(),
                    [&](const ledger::Evidence& f) { return f.offender() == offender; });
    if (vh == height_ + 1 && witnesses_.count(offender) > 0 && !kept_already) {
      future_evidence_.push_back(e);
      out.reason = what + ": kept until height " + std::to_string(vh) + " starts";
      return Verdict::kBuffered;
    }
    out.reason = what + ": above the next height " + std::to_string(height_);
    return Verdict::kIgnoredFuture;
  }
  const uint64_t max_age = chain_.config().params.evidence_max_age_blocks;
  if (height_ - vh > max_age) {
    out.reason = what + ": older than " + std::to_string(max_age) + " blocks";
    return Verdict::kIgnoredOld;
  }
  if (util::Status st = chain_.check_evidence(e); !st.ok()) {
    out.reason = what + ": " + st.message();
    switch (st.code()) {
      case util::StatusCode::kAlreadyExists:
        if (known_offences_.size() >= kMaxKnownOffences) known_offences_.clear();
        known_offences_.insert(e.offence_id());
        return Verdict::kIgnoredOld;
      case util::StatusCode::kInvalidArgument:
        return Verdict::kInvalid;
      default:  // the store failed: not the sender's fault
        out.error = st.with_context("checking " + what);
        return Verdict::kIgnoredFuture;
    }
  }
  const Verdict v = note_evidence(e, out);
  if (v != Verdict::kAccepted) out.reason = what + ": " + out.reason;
  return v;
}

Output Engine::on_synced_block(const ledger::Block& block, const ledger::FinalityCertificate& cert,
                               uint64_t now_ms) {
  Output out;
  const uint64_t h = block.header.height;
  if (!started_) {
    out.verdict = Verdict::kIgnoredFuture;
    out.reason = "consensus engine not started";
    return out;
  }
  if (h < height_) {
    out.verdict = Verdict::kIgnoredOld;
    out.reason = "synced block " + std::to_string(h) + " is already final";
    return out;
  }
  if (h > height_) {
    out.verdict = Verdict::kIgnoredFuture;
    out.reason = "synced block " + std::to_string(h) +
                 " does not follow the final tip (expecting " + std::to_string(height_) + ")";
    return out;
  }
  const ledger::Hash hash = block.header.hash();
  if (cert.height != h || cert.block_hash != hash) {
    out.verdict = Verdict::kInvalid;
    out.reason = "certificate is for height " + std::to_string(cert.height) + " block " +
                 short_hex(cert.block_hash) + ", not height " + std::to_string(h) + " block " +
                 short_hex(hash);
    return out;
  }
  util::Status st =
      verify_certificate(cert, chain_.config().chain_id, schedule_.witnesses, checker_);
  if (!st.ok()) {
    out.verdict = Verdict::kInvalid;
    out.reason = "synced block " + std::to_string(h) + ": " + st.message();
    return out;
  }
  st = chain_.validate(block);
  if (!st.ok()) {
    out.verdict = Verdict::kInvalid;
    out.reason = "synced block " + std::to_string(h) + " is invalid: " + st.message();
    return out;
  }
  commit_block(block, cert, true, now_ms, out);
  advance(now_ms, out);
  return out;
}

std::optional<uint64_t> Engine::next_timer_ms() const {
  if (!started_) return std::nullopt;
  uint64_t t = std::numeric_limits<uint64_t>::max();
  if (options_.rebroadcast && is_witness_) t = rebroadcast_at_ms_;
  if (step_ == Step::kPropose) {
    t = std::min(t, propose_deadline_ms_);
    if (own_slot_ && !proposed_) t = std::min(t, propose_at_ms_);
  }
  if (step_ == Step::kPrepare && prepare_waiting_) t = std::min(t, prepare_deadline_ms_);
  if (commit_waiting_) t = std::min(t, commit_deadline_ms_);
  return t;
}

// ---- heights and attempts --------------------------------------------------------------------

void Engine::start_height(uint64_t now, Output& out) {
  parent_ = chain_.final_tip();
  height_ = parent_.height + 1;
  auto sched = chain_.next_schedule();
  if (sched.ok()) {
    schedule_ = std::move(*sched);
  } else {
    schedule_ = {};
    out.error = sched.status().with_context("schedule of height " + std::to_string(height_));
  }
  // The set is rebuilt only when the schedule's list changed (a new round may reorder it).
  if (schedule_.witnesses != witness_order_) {
    witness_order_ = schedule_.witnesses;
    std::set<ledger::Address> witnesses(witness_order_.begin(), witness_order_.end());
    if (witnesses != witnesses_) {
      witnesses_ = std::move(witnesses);
      key_infos_.clear();  // KeyInfo::witness is stale
    }
  }
  quorum_ = ledger::quorum(schedule_.size());
  honest_ = ledger::honest_threshold(schedule_.size());
  is_witness_ = key_ && witnesses_.count(crypto::address_bytes_of(key_->public_key())) > 0;
  height_start_ms_ = now;
  locked_attempt_ = -1;
  locked_block_.reset();
  locked_hash_ = {};
  valid_attempt_ = -1;
  valid_block_.reset();
  valid_hash_ = {};
  proposals_.clear();
  checked_.clear();
  producers_.clear();
  votes_.clear();
  start_attempt(0, now);

  // A restart in the middle of this height: resume where we signed, with our lock.
  if (signer_.height == height_ && signer_.step != SignedStep::kNone) {
    locked_attempt_ = signer_.locked_attempt;
    locked_block_ = signer_.locked_block;
    if (locked_block_) {
      locked_hash_ = locked_block_->header.hash();
      valid_hash_ = locked_hash_;
      // A lock implies a valid block at that attempt; its PREPARE quorum comes back with it.
      valid_block_ = locked_block_;
      valid_attempt_ = locked_attempt_;
      for (const ledger::WitnessVote& v : signer_.lock_proof)
        (void)votes_.add(v);
    }
    if (signer_.attempt > 0) start_attempt(signer_.attempt, now);
    proposed_ = true;  // never propose twice at an attempt (we may have, before the restart)
    if (signer_.step >= SignedStep::kPrepared) step_ = Step::kPrepare;
    if (signer_.step >= SignedStep::kCommitted) step_ = Step::kCommit;
    for (const ledger::WitnessVote& v : signer_.own_votes) {
      (void)votes_.add(v);
      own_messages_.push_back(ConsensusMessage{v});  // re-sent, never re-signed
    }
  }

  // Evidence kept while this height was the next one: admitted now (and then gossiped).
  std::vector<ledger::Evidence> future;
  future.swap(future_evidence_);
  for (const ledger::Evidence& e : future) {
    Output scratch;
    if (admit_evidence(e, scratch) == Verdict::kAccepted) {
      out.evidence.insert(out.evidence.end(), scratch.evidence.begin(), scratch.evidence.end());
    }
  }

  // Messages buffered while this height was the next one.
  std::map<ledger::PublicKey, Buffered> buffered;
  buffered.swap(buffer_);
  buffered_count_ = 0;
  for (const auto& [sender, b] : buffered) {
    for (const ConsensusMessage& m : b.msgs) {
      if (const Proposal* p = m.proposal()) {
        (void)handle_proposal(*p, now, out);
      } else {
        (void)handle_vote(*m.vote(), out);
      }
    }
  }
}

void Engine::start_attempt(uint32_t attempt, uint64_t now) {
  attempt_ = attempt;
  step_ = Step::kPropose;
  proposed_ = false;
  prepare_waiting_ = false;
  commit_waiting_ = false;
  locked_this_attempt_ = false;
  prev_messages_ = std::move(own_messages_);
  own_messages_.clear();
  if (attempt == 0) {
    // One block per slot: the scheduled producer proposes slot_ms after its parent.
    propose_at_ms_ = std::max(now, parent_.time_ms + chain_.config().params.slot_ms);
  } else {
    propose_at_ms_ = now;  // the takeover producer builds at once
  }
  propose_deadline_ms_ = propose_at_ms_ + propose_timeout(attempt);
  prepare_deadline_ms_ = 0;
  commit_deadline_ms_ = 0;
  rebroadcast_at_ms_ = propose_at_ms_ + chain_.config().params.slot_ms;
  own_slot_ = is_own_producer_slot();
}

// ---- the rules -------------------------------------------------------------------------------

void Engine::advance(uint64_t now, Output& out) {
  // Each pass applies at most one rule; every rule either changes the height, the attempt or the
  // step, or sets a one-shot flag, so the loop ends.
  for (int guard = 0; guard < 100'000; ++guard) {
    if (try_decide(now, out)) continue;

    // Skip to a later attempt where honest_threshold() witnesses already are.
    if (auto hi = votes_.highest_attempt(); hi && *hi > attempt_) {
      bool skipped = false;
      for (uint32_t a = *hi; a > attempt_; --a) {
        if (votes_.voters_at(a) >= honest_) {
          start_attempt(a, now);
          skipped = true;
          break;
        }
      }
      if (skipped) continue;
    }

    if (step_ == Step::kPropose && !proposed_ && now >= propose_at_ms_ && own_slot_) {
      propose(now, out);
      continue;
    }

    auto pit = proposals_.find(attempt_);
    const ProposalEntry* entry = pit == proposals_.end() ? nullptr : &pit->second;
    const ledger::Hash& locked_hash = locked_hash_;  // all zero when not locked

    if (step_ == Step::kPropose && entry != nullptr) {
      const Proposal& p = entry->proposal;
      const int64_t vr = p.valid_attempt;
      if (vr < 0) {
        const bool good = check_block(p.block, entry->hash, now).ok() &&
                          (locked_attempt_ < 0 || locked_hash == entry->hash);
        sign_vote(ledger::VoteType::kPrepare, good ? entry->hash : ledger::Hash{}, out);
        step_ = Step::kPrepare;
        continue;
      }
      if (votes_.count(static_cast<uint32_t>(vr), ledger::VoteType::kPrepare, entry->hash) >=
          quorum_) {
        const bool good = check_block(p.block, entry->hash, now).ok() &&
                          (locked_attempt_ <= vr || locked_hash == entry->hash);
        sign_vote(ledger::VoteType::kPrepare, good ? entry->hash : ledger::Hash{}, out);
        step_ = Step::kPrepare;
        continue;
      }
    }

    if (step_ == Step::kPrepare && !prepare_waiting_ &&
        votes_.total(attempt_, ledger::VoteType::kPrepare) >= quorum_) {
      prepare_waiting_ = true;
      prepare_deadline_ms_ = now + vote_wait(attempt_);
      continue;
    }

    if (step_ != Step::kPropose && !locked_this_attempt_ && entry != nullptr &&
        votes_.count(attempt_, ledger::VoteType::kPrepare, entry->hash) >= quorum_ &&
        check_block(entry->proposal.block, entry->hash, now).ok()) {
      locked_this_attempt_ = true;
      if (step_ == Step::kPrepare) {
        locked_block_ = entry->proposal.block;
        locked_hash_ = entry->hash;
        locked_attempt_ = attempt_;
        sign_vote(ledger::VoteType::kCommit, entry->hash, out);
        step_ = Step::kCommit;
      }
      valid_block_ = entry->proposal.block;
      valid_hash_ = entry->hash;
      valid_attempt_ = attempt_;
      continue;
    }

    if (step_ == Step::kPrepare &&
        votes_.count(attempt_, ledger::VoteType::kPrepare, ledger::Hash{}) >= quorum_) {
      sign_vote(ledger::VoteType::kCommit, ledger::Hash{}, out);
      step_ = Step::kCommit;
      continue;
    }

    if (!commit_waiting_ && votes_.total(attempt_, ledger::VoteType::kCommit) >= quorum_) {
      commit_waiting_ = true;
      commit_deadline_ms_ = now + vote_wait(attempt_);
      continue;
    }
    break;
  }
}

bool Engine::try_decide(uint64_t now, Output& out) {
  for (const auto& [attempt, hash] : votes_.commit_quorums(quorum_)) {
    const ledger::Block* b = block_by_hash(hash);
    if (b == nullptr) continue;  // the block may still arrive, or come by sync
    if (!check_block(*b, hash, now).chain_ok) continue;
    ledger::FinalityCertificate cert;
    cert.height = height_;
    cert.attempt = attempt;
    cert.block_hash = hash;
    cert.commits = votes_.commits_for(attempt, hash);
    const ledger::Block block = *b;  // commit_block() clears the height's state
    if (commit_block(block, cert, false, now, out)) return true;
    checked_[hash].chain_ok = false;  // do not retry a commit the chain refused
  }
  return false;
}

bool Engine::commit_block(const ledger::Block& block, const ledger::FinalityCertificate& cert,
                          bool via_sync, uint64_t now, Output& out) {
  util::Status st = chain_.commit(block, cert);
  if (!st.ok()) {
    out.error = st.with_context("commit of block " + std::to_string(block.header.height));
    return false;
  }
  // Evidence whose offence a final block settled is done, and so is evidence that became too old
  // for the next block; the rest stays pending.
  const uint64_t max_age = chain_.config().params.evidence_max_age_blocks;
  const uint64_t next = block.header.height + 1;
  std::erase_if(pending_evidence_, [&](const ledger::Evidence& e) {
    const ledger::Hash id = e.offence_id();
    return next - std::min(next, e.a.height) > max_age ||
           std::any_of(block.evidence.begin(), block.evidence.end(),
                       [&](const ledger::Evidence& in) { return in.offence_id() == id; });
  });
  for (const ledger::Evidence& in : block.evidence) {
    if (known_offences_.size() >= kMaxKnownOffences) known_offences_.clear();
    known_offences_.insert(in.offence_id());
  }
  out.committed.push_back({block, cert, via_sync});
  start_height(now, out);
  return true;
}

void Engine::propose(uint64_t now, Output& out) {
  proposed_ = true;
  if (proposals_.count(attempt_) > 0) return;  // ours, from before a restart, came back
  Proposal p;
  p.attempt = attempt_;
  if (valid_block_) {
    p.block = *valid_block_;
    p.valid_attempt = valid_attempt_;
  } else {
    const uint64_t time = std::max(now, parent_.time_ms + 1);
    auto built = chain_.build(*key_, time, attempt_, pending_evidence_);
    if (!built.ok() && !pending_evidence_.empty()) {
      // Evidence the chain no longer accepts (already slashed, too old): drop it and retry.
      pending_evidence_.clear();
      built = chain_.build(*key_, time, attempt_, pending_evidence_);
    }
    if (!built.ok()) {
      out.error = built.status().with_context("building the block of " + at(height_, attempt_));
      return;
    }
    p.block = std::move(*built);
  }
  p.sign(*key_);
  checker_.signed_here(p.proposer, p.signing_bytes(), p.signature);
  const ledger::Hash hash = p.block_hash();
  record_signed(SignedStep::kProposed, out);
  const int64_t vr = p.valid_attempt;
  ConsensusMessage m{p};
  own_messages_.push_back(m);
  out.broadcast.push_back(std::move(m));
  proposals_.emplace(attempt_, ProposalEntry{std::move(p), hash});
  if (vr >= 0) {
    // A re-proposal travels with its justification (the PREPARE quorum at valid_attempt), for
    // witnesses that missed those votes (lost messages, restarts).
    for (const ledger::WitnessVote& v :
         votes_.votes_for(static_cast<uint32_t>(vr), ledger::VoteType::kPrepare, hash)) {
      ConsensusMessage pv{v};
      own_messages_.push_back(pv);
      out.broadcast.push_back(std::move(pv));
    }
  }
}

void Engine::sign_vote(ledger::VoteType type, const ledger::Hash& hash, Output& out) {
  if (!is_witness_) return;
  ledger::WitnessVote v;
  v.chain_id = chain_.config().chain_id;
  v.type = type;
  v.height = height_;
  v.attempt = attempt_;
  v.block_hash = hash;
  v.sign(*key_);
  checker_.signed_here(v.voter, v.signing_bytes(), v.signature);
  (void)votes_.add(v);
  record_signed(type == ledger::VoteType::kPrepare ? SignedStep::kPrepared : SignedStep::kCommitted,
                out, &v);
  ConsensusMessage m{v};
  own_messages_.push_back(m);
  out.broadcast.push_back(std::move(m));
}

void Engine::record_signed(SignedStep step, Output& out, const ledger::WitnessVote* vote) {
  if (signer_.height != height_ || signer_.attempt != attempt_) {
    signer_.step = SignedStep::kNone;
    signer_.own_votes.clear();
  }
  if (vote != nullptr) signer_.own_votes.push_back(*vote);
  signer_.height = height_;
  signer_.attempt = attempt_;
  signer_.step = std::max(signer_.step, step);
  if (signer_.locked_attempt != locked_attempt_) {
    signer_.lock_proof.clear();
    if (locked_block_) {
      signer_.lock_proof = votes_.votes_for(static_cast<uint32_t>(locked_attempt_),
                                            ledger::VoteType::kPrepare, locked_hash_);
    }
  }
  signer_.locked_attempt = locked_attempt_;
  signer_.locked_block = locked_block_;
  out.signer_state = signer_;
}

const Engine::BlockCheck& Engine::check_block(const ledger::Block& block, const ledger::Hash& h,
                                              uint64_t now) {
  auto it = checked_.find(h);
  if (it != checked_.end()) return it->second;
  BlockCheck c;
  const uint64_t slot = chain_.config().params.slot_ms;
  const uint64_t t = block.header.time_ms;
  if (block.header.height != height_) {
    c.reason = "block height " + std::to_string(block.header.height) + " is not " +
               std::to_string(height_);
  } else if (t <= parent_.time_ms) {
    c.reason = "block time " + std::to_string(t) + " is not after the parent's " +
               std::to_string(parent_.time_ms);
  } else if (t > now + slot) {
    c.reason = "block time " + std::to_string(t) + " is more than one slot ahead of now (" +
               std::to_string(now) + ")";
  } else {
    c.time_ok = true;
  }
  if (block.header.height == height_) {
    util::Status st = chain_.validate(block);
    c.chain_ok = st.ok();
    if (!st.ok() && c.reason.empty()) c.reason = st.message();
  }
  return checked_.emplace(h, std::move(c)).first->second;
}

const ledger::Block* Engine::block_by_hash(const ledger::Hash& h) const {
  for (const auto& [a, e] : proposals_) {
    if (e.hash == h) return &e.proposal.block;
  }
  if (locked_block_ && locked_hash_ == h) return &*locked_block_;
  if (valid_block_ && valid_hash_ == h) return &*valid_block_;
  return nullptr;
}

// ---- message admission -----------------------------------------------------------------------

Verdict Engine::handle_proposal(const Proposal& p, uint64_t now, Output& out) {
  const ledger::BlockHeader& hdr = p.block.header;
  const std::string& chain_id = chain_.config().chain_id;
  if (hdr.chain_id != chain_id) {
    out.reason = "proposal for chain '" + hdr.chain_id + "', this chain is '" + chain_id + "'";
    return Verdict::kInvalid;
  }
  if (hdr.height < height_) {
    out.reason = "proposal for final height " + std::to_string(hdr.height);
    return Verdict::kIgnoredOld;
  }
  if (hdr.height == height_ + 1) return buffer(ConsensusMessage{p}, p.proposer, out);
  if (hdr.height > height_ + 1) {
    out.reason =
        "proposal for height " + std::to_string(hdr.height) + ", now at " + std::to_string(height_);
    return Verdict::kIgnoredFuture;
  }
  if (p.attempt > attempt_ + options_.max_attempts_ahead) {
    out.reason = "proposal for attempt " + std::to_string(p.attempt) + ", now at " +
                 std::to_string(attempt_);
    return Verdict::kIgnoredFuture;
  }
  const auto prod = producer(p.attempt);
  if (!prod || *prod != p.proposer_address()) {
    out.reason = "proposal for " + at(height_, p.attempt) + " from " + addr(p.proposer) +
                 ", the producer is " + (prod ? crypto::encode_address(*prod) : "nobody");
    return Verdict::kInvalid;
  }
  const ledger::Hash hash = p.block_hash();
  if (auto it = proposals_.find(p.attempt); it != proposals_.end()) {
    if (it->second.hash == hash) {
      out.reason = "proposal for " + at(height_, p.attempt) + " already received";
      return Verdict::kDuplicate;
    }
    out.reason = "second, conflicting proposal for " + at(height_, p.attempt) + " from " +
                 addr(p.proposer) + " (block " + short_hex(hash) + ", first was " +
                 short_hex(it->second.hash) + ")";
    // Correctly signed, it is the producer's equivocation, not the fault of the peer that relayed
    // it (an honest peer may have received this one first): ignored, not scored.
    if (checker_.verify(p.proposer, p.signing_bytes(), p.signature)) return Verdict::kDuplicate;
    return Verdict::kInvalid;
  }
  if (!checker_.verify(p.proposer, p.signing_bytes(), p.signature)) {
    out.reason =
        "bad signature on the proposal for " + at(height_, p.attempt) + " from " + addr(p.proposer);
    return Verdict::kInvalid;
  }
  proposals_.emplace(p.attempt, ProposalEntry{p, hash});
  const BlockCheck& c = check_block(p.block, hash, now);
  if (!c.ok()) {
    // Kept: witnesses PREPARE nil on it at once instead of waiting for the timeout.
    out.reason = "proposed block " + short_hex(hash) + " for " + at(height_, p.attempt) +
                 " is invalid: " + c.reason;
    return Verdict::kInvalid;
  }
  return Verdict::kAccepted;
}

Verdict Engine::handle_vote(const ledger::WitnessVote& v, Output& out) {
  const std::string& chain_id = chain_.config().chain_id;
  const char* type = ledger::vote_type_name(v.type);
  if (v.chain_id != chain_id) {
    out.reason =
        std::string(type) + " for chain '" + v.chain_id + "', this chain is '" + chain_id + "'";
    return Verdict::kInvalid;
  }
  if (v.height < height_) {
    out.reason = std::string(type) + " for final height " + std::to_string(v.height);
    return Verdict::kIgnoredOld;
  }
  if (v.height == height_ + 1) return buffer(ConsensusMessage{v}, v.voter, out);
  if (v.height > height_ + 1) {
    out.reason = std::string(type) + " for height " + std::to_string(v.height) + ", now at " +
                 std::to_string(height_);
    return Verdict::kIgnoredFuture;
  }
  if (v.attempt > attempt_ + options_.max_attempts_ahead) {
    out.reason = std::string(type) + " for attempt " + std::to_string(v.attempt) + ", now at " +
                 std::to_string(attempt_);
    return Verdict::kIgnoredFuture;
  }
  const KeyInfo& voter = key_info(v.voter);
  if (!voter.witness) {
    out.reason = std::string(type) + " from " + voter.address + ", not a witness at height " +
                 std::to_string(height_);
    return Verdict::kInvalid;
  }
  if (votes_.has(v.attempt, v.type, v.voter, v.block_hash)) {
    out.reason = std::string(type) + " from " + voter.address + " for " + at(height_, v.attempt) +
                 " already received";
    return Verdict::kDuplicate;
  }
  if (!checker_.verify(v.voter, v.signing_bytes(), v.signature)) {
    out.reason = "bad signature on the " + std::string(type) + " from " + voter.address + " for " +
                 at(height_, v.attempt);
    return Verdict::kInvalid;
  }
  VoteBook::Added added = votes_.add(v, v.is_nil() || block_by_hash(v.block_hash) != nullptr);
  if (added.result == VoteBook::AddResult::kEquivocation && added.evidence) {
    // The relaying peer is not the offender: the vote is accepted as evidence and worth relaying.
    std::string why = "equivocation: " + voter.address + " signed two " + type + " votes for " +
                      at(height_, v.attempt);
    (void)note_evidence(*added.evidence, out);  // not pooled: known, or one already pending
    out.reason = std::move(why);
  }
  return Verdict::kAccepted;
}

Verdict Engine::buffer(const ConsensusMessage& msg, const ledger::PublicKey& sender, Output& out) {
  auto& b = buffer_[sender];
  if (std::find(b.msgs.begin(), b.msgs.end(), msg) != b.msgs.end()) {
    out.reason = "message for height " + std::to_string(height_ + 1) + " already buffered";
    return Verdict::kDuplicate;
  }
  if (b.msgs.size() >= options_.max_buffered_per_sender ||
      buffered_count_ >= options_.max_buffered_total) {
    if (b.msgs.empty()) buffer_.erase(sender);
    out.reason = "buffer for height " + std::to_string(height_ + 1) + " is full";
    return Verdict::kIgnoredFuture;
  }
  b.msgs.push_back(msg);
  ++buffered_count_;
  out.reason = "kept for height " + std::to_string(height_ + 1);
  return Verdict::kBuffered;
}

Verdict Engine::note_evidence(const ledger::Evidence& e, Output& out) {
  const ledger::Hash id = e.offence_id();
  if (known_offences_.count(id) > 0) {
    out.reason = "offence already known";
    return Verdict::kDuplicate;
  }
  const ledger::Address offender = e.offender();
  if (std::any_of(pending_evidence_.begin(), pending_evidence_.end(),
                  [&](const ledger::Evidence& p) { return p.offender() == offender; })) {
    out.reason = "evidence against that witness is already pending";
    return Verdict::kDuplicate;
  }
  if (pending_evidence_.size() >= options_.max_pending_evidence) {
    out.reason = "the pending evidence pool is full (" +
                 std::to_string(options_.max_pending_evidence) + " entries)";
    return Verdict::kIgnoredFuture;
  }
  if (known_offences_.size() >= kMaxKnownOffences) known_offences_.clear();
  known_offences_.insert(id);
  pending_evidence_.push_back(e);
  out.evidence.push_back(e);
  return Verdict::kAccepted;
}

}  // namespace imet::consensus
