#include "node/chain.h"

#include <algorithm>

#include "ledger/consensus_apply.h"
#include "ledger/delegates.h"
#include "ledger/schedule.h"
#include "ledger/smt/tree.h"
#include "ledger/state_root.h"

namespace imet::node {

namespace {
ledger::ChainTip as_tip(const store::TipRecord& t) {
  return {t.height, t.hash, t.time_ms};
}
}  // namespace

std::vector<bool> Chain::KnownSignatureVerifier::verify(
    std::span<const ledger::Transaction> txs) const {
  std::vector<bool> out(txs.size(), true);
  std::vector<ledger::Transaction> unknown;
  std::vector<size_t> where;
  const bool have_ids = ids.size() == txs.size();
  for (size_t i = 0; i < txs.size(); ++i) {
    if (chain_.verified_.count(have_ids ? ids[i] : txs[i].id()) != 0) continue;
    unknown.push_back(txs[i]);
    where.push_back(i);
  }
  if (unknown.empty()) return out;
  chain_.signature_checks_ += unknown.size();
  std::vector<bool> checked = chain_.inner_verifier_->verify(unknown);
  for (size_t k = 0; k < where.size(); ++k)
    out[where[k]] = checked[k];
  return out;
}

bool Chain::TipCertChecker::verify(const ledger::PublicKey& pk, util::ByteSpan msg,
                                   const ledger::Signature& sig) const {
  const auto& cert = chain_.tip_cert_;
  const util::Bytes& known = chain_.tip_cert_msg_;
  if (cert && msg.size() == known.size() && msg.size() >= pk.size()) {
    const size_t key_at = msg.size() - pk.size();
    auto it = std::lower_bound(cert->commits.begin(), cert->commits.end(),
                               ledger::CommitSig{pk, ledger::Signature{}});
    if (it != cert->commits.end() && it->voter == pk && it->signature == sig &&
        std::equal(msg.begin(), msg.begin() + static_cast<std::ptrdiff_t>(key_at), known.begin()) &&
        std::equal(pk.begin(), pk.end(), msg.begin() + static_cast<std::ptrdiff_t>(key_at))) {
      return true;  // checked when the certificate was committed
    }
  }
  return chain_.certs_.verify(pk, msg, sig);
}

Chain::Chain(store::KvStore& kv, ledger::ChainConfig config, store::TipRecord tip, Options options)
    : config_(std::move(config)),
      store_(kv, options.state_cache_entries),
      tip_(tip),
      mempool_(config_, options.mempool_limits.value_or(ledger::Mempool::Limits{})),
      admission_(options.admission, config_.params.slot_ms, mempool_.limits().max_txs),
      certs_(options.certificate_checker ? *options.certificate_checker
                                         : ledger::direct_signature_checker()) {
  if (options.serial_verifier) {
    inner_verifier_ = std::make_unique<ledger::SerialVerifier>(certs_);
  } else {
    inner_verifier_ = std::make_unique<ParallelVerifier>();
  }
  mempool_.set_gap_free_from(admission_.limit() / 2);
}

util::Result<std::unique_ptr<Chain>> Chain::open(store::KvStore& kv,
                                                 const ledger::Genesis& genesis) {
  return open(kv, genesis, Options{});
}

util::Result<std::unique_ptr<Chain>> Chain::open(store::KvStore& kv, const ledger::Genesis& genesis,
                                                 Options options) {
  IMET_TRY(genesis.validate());
  store::ChainStore probe(kv);
  IMET_ASSIGN_OR_RETURN(std::optional<store::TipRecord> tip, probe.tip());
  if (!tip) {
    IMET_ASSIGN_OR_RETURN(store::TipRecord t, probe.init(genesis));
    tip = t;
  } else {
    IMET_ASSIGN_OR_RETURN(std::optional<ledger::Block> first, probe.block_at(1));
    // The genesis hash is block 1's parent (or the tip itself at height 0).
    ledger::Hash stored_genesis = first ? first->header.prev_hash : tip->hash;
    if (stored_genesis != genesis.hash()) {
      return util::failed_precondition("the database holds another chain (genesis " +
                                       util::to_hex(stored_genesis) + ", this genesis file is " +
                                       util::to_hex(genesis.hash()) +
                                       "); use the matching genesis file or another data dir");
    }
  }
  ledger::ChainConfig config{genesis.chain_id, genesis.genesis_time_ms, genesis.params};
  return std::unique_ptr<Chain>(new Chain(kv, std::move(config), *tip, options));
}

ledger::TxResult Chain::submit(const ledger::Transaction& tx, const ledger::Hash& tx_id,
                               bool signature_checked) {
  ledger::TxResult r = mempool_.add(tx, tx_id, store_.state(), tip_.height + 1, signature_checked);
  // "duplicate" means the very same transaction is pending: it is not refused.
  if (r && r->reason != ledger::Reject::kDuplicate) remember_rejection(tx_id, *r, 0);
  if (!r) remember_verified(tx_id);  // admission verified the signature
  return r;
}

std::vector<ledger::Hash> Chain::ids_of(const std::vector<ledger::Transaction>& txs) {
  std::vector<ledger::Hash> ids;
  ids.reserve(txs.size());
  for (const ledger::Transaction& tx : txs)
    ids.push_back(tx.id());
  return ids;
}

void Chain::remember_verified(const ledger::Hash& id) {
  if (!verified_.insert(id).second) return;
  verified_order_.push_back(id);
  while (verified_order_.size() > kMaxVerifiedIds) {
    verified_.erase(verified_order_.front());
    verified_order_.pop_front();
  }
}

void Chain::remember_rejection(const ledger::Hash& id, const ledger::TxError& e, uint64_t height) {
  auto [it, inserted] = rejections_.insert_or_assign(id, Rejection{e, height});
  if (inserted) rejection_order_.push_back(id);
  while (rejection_order_.size() > kMaxRejections) {
    rejections_.erase(rejection_order_.front());
    rejection_order_.pop_front();
  }
}

std::optional<Chain::Rejection> Chain::rejection(const ledger::Hash& tx_id) const {
  auto it = rejections_.find(tx_id);
  if (it == rejections_.end()) return std::nullopt;
  return it->second;
}

ledger::ChainTip Chain::final_tip() const {
  return as_tip(tip_);
}

util::Result<ledger::RoundSchedule> Chain::next_schedule() const {
  return ledger::next_schedule(store_.state(), as_tip(tip_), config_.params);
}

util::Result<const Chain::ProducerCache*> Chain::producer_cache() const {
  ProducerCache& c = producers_;
  const uint64_t height = tip_.height + 1;
  if (c.valid && c.tip_hash == tip_.hash && !c.recheck) return &c;
  const bool carried = c.valid && c.tip_hash == tip_.hash;  // and c.recheck
  c.valid = false;
  c.recheck = false;
  std::vector<ledger::Address> changed = std::move(c.changed);
  c.changed.clear();
  IMET_ASSIGN_OR_RETURN(ledger::RoundSchedule now, next_schedule());
  const auto& witnesses = now.witnesses;
  if (carried && ledger::same_order(now, c.schedule)) {
    for (const ledger::Address& a : changed) {
      auto it = std::find(witnesses.begin(), witnesses.end(), a);
      if (it == witnesses.end()) continue;
      IMET_ASSIGN_OR_RETURN(bool jailed,
                            ledger::witness_jailed(store_.state(), a, height, now.round));
      c.jailed[static_cast<size_t>(it - witnesses.begin())] = jailed ? 1 : 0;
    }
  } else {
    c.jailed.assign(witnesses.size(), 0);
    for (size_t i = 0; i < witnesses.size(); ++i) {
      IMET_ASSIGN_OR_RETURN(
          bool jailed, ledger::witness_jailed(store_.state(), witnesses[i], height, now.round));
      c.jailed[i] = jailed ? 1 : 0;
    }
    c.schedule = std::move(now);
  }
  c.unjailed.clear();
  for (size_t i = 0; i < c.schedule.witnesses.size(); ++i) {
    if (c.jailed[i] == 0) c.unjailed.push_back(&c.schedule.witnesses[i]);
  }
  c.tip_hash = tip_.hash;
  c.valid = true;
  return &c;
}

util::Result<std::optional<ledger::Address>> Chain::producer(uint32_t attempt) const {
  IMET_ASSIGN_OR_RETURN(const ProducerCache* c, producer_cache());
  return std::optional<ledger::Address>(
      ledger::producer_among(c->schedule, c->unjailed, tip_.height + 1, attempt));
}

util::Result<std::optional<ledger::FinalityCertificate>> Chain::certificate(uint64_t height) const {
  return store_.certificate(height);
}

util::Result<ledger::smt::UpdateResult> Chain::root(const ledger::StateOverlay& overlay) {
  ledger::smt::SparseMerkleTree tree(store_.nodes());
  return tree.apply(tip_.height, tip_.height + 1, ledger::state_updates(overlay.changes()));
}

util::Status Chain::validate(const ledger::Block& block) {
  const ledger::Hash hash = block.header.hash();
  if (prepared_.count(hash) != 0) return {};
  auto overlay = std::make_unique<ledger::StateOverlay>(&store_.state());
  ++executions_;
  std::vector<ledger::Hash> ids = ids_of(block.txs);
  verifier_.ids = ids;
  IMET_ASSIGN_OR_RETURN(const ProducerCache* producers, producer_cache());
  const ledger::KnownUnjailed known{&producers->schedule, producers->unjailed, tip_.height + 1};
  auto e = ledger::apply_block(*overlay, block, as_tip(tip_), config_, verifier_, &known);
  verifier_.ids = {};
  if (e) return util::invalid_argument("invalid block: " + e->message);
  IMET_ASSIGN_OR_RETURN(ledger::smt::UpdateResult r, root(*overlay));
  if (r.root_hash != block.header.state_root) {
    return util::invalid_argument("invalid block: state root " +
                                  util::to_hex(block.header.state_root) + " does not match " +
                                  util::to_hex(r.root_hash));
  }
  if (prepared_.size() >= kMaxPrepared) prepared_.erase(prepared_.begin());
  prepared_[hash] = Prepared{std::move(overlay), std::move(r.batch), std::move(ids)};
  return {};
}

util::Status Chain::commit(const ledger::Block& block, const ledger::FinalityCertificate& cert) {
  const ledger::Hash hash = block.header.hash();
  if (cert.height != block.header.height || cert.block_hash != hash) {
    return util::invalid_argument("the certificate is for height " + std::to_string(cert.height) +
                                  " block " + util::to_hex(cert.block_hash) + ", not block " +
                                  util::to_hex(hash) + " at height " +
                                  std::to_string(block.header.height));
  }
  IMET_TRY(validate(block));
  const Prepared& p = prepared_.at(hash);
  // The block's own state holds the schedule in force at its height: the certificate's voters.
  IMET_ASSIGN_OR_RETURN(ledger::RoundSchedule s, ledger::current_schedule(*p.overlay));
  util::Status v = cert.verify(config_.chain_id, s.witnesses, certs_);
  if (!v.ok()) return util::invalid_argument("invalid certificate: " + v.message());
  return commit_prepared(block, cert, p);
}

util::Status Chain::commit_prepared(const ledger::Block& block,
                                    const ledger::FinalityCertificate& cert,
                                    const Prepared& prepared) {
  IMET_TRY(
      store_.commit(block, cert, prepared.overlay->changes(), prepared.nodes, prepared.tx_ids));
  if (producers_.valid && producers_.tip_hash == tip_.hash) {
    producers_.recheck = true;
    producers_.tip_hash = block.header.hash();
    for (const auto& [key, value] : prepared.overlay->changes()) {
      if (auto who = ledger::keys::delegate_of(key)) producers_.changed.push_back(*who);
    }
  }
  tip_ = {block.header.height, block.header.hash(), block.header.time_ms, block.header.state_root};
  tip_cert_ = cert;  // commit() verified it
  tip_cert_msg_ = cert.vote_of(config_.chain_id, 0).signing_bytes();
  for (const ledger::Hash& id : prepared.tx_ids)
    verified_.erase(id);
  admission_.on_final_block(block.txs.size(), block.header.time_ms);
  prepared_.clear();  // every cached execution was on the old tip (`prepared` dies here)
  mempool_.on_block(store_.state(), tip_.height + 1);
  // Above half the admission limit the backlog is real: a nonce gap there would hold room that
  // executable transactions need (ledger/mempool.h).
  mempool_.set_gap_free_from(admission_.limit() / 2);
  return {};
}

util::Status Chain::check_evidence(const ledger::Evidence& evidence) const {
  IMET_ASSIGN_OR_RETURN(std::optional<ledger::SettledOffence> done,
                        ledger::get_record<ledger::SettledOffence>(
                            store_.state(), ledger::keys::offence(evidence.offence_id())));
  if (done) {
    return util::already_exists("the offence of " + crypto::encode_address(evidence.offender()) +
                                " at height " + std::to_string(evidence.a.height) +
                                " was already slashed at height " + std::to_string(done->height));
  }
  return ledger::check_evidence(store_.state(), evidence, tip_.height + 1, config_);
}

util::Result<ledger::Block> Chain::build(const crypto::SigningKey& producer, uint64_t time_ms,
                                         uint32_t attempt,
                                         const std::vector<ledger::Evidence>& evidence) {
  if (time_ms <= tip_.time_ms) {
    return util::failed_precondition("block time must be after the tip's");
  }
  IMET_ASSIGN_OR_RETURN(ledger::RoundSchedule sched, next_schedule());
  std::optional<ledger::FinalityCertificate> last_cert;
  if (tip_.height > 0) {
    IMET_ASSIGN_OR_RETURN(last_cert, store_.certificate(tip_.height));
    if (!last_cert) {
      return util::corruption("no finality certificate stored for the tip at height " +
                              std::to_string(tip_.height));
    }
  }
  // Evidence the chain no longer accepts (already slashed, too old, offender gone) or given twice
  // is left out rather than failing the block.
  std::vector<ledger::Evidence> usable;
  std::set<ledger::Hash> offences;
  for (const ledger::Evidence& ev : evidence) {
    if (usable.size() >= ledger::kMaxBlockEvidence) break;
    if (!ledger::check_evidence(store_.state(), ev, tip_.height + 1, config_, tip_checker_).ok()) {
      continue;
    }
    if (!offences.insert(ev.offence_id()).second) continue;
    usable.push_back(ev);
  }
  std::vector<ledger::Transaction> candidates =
      mempool_.select(store_.state(), config_.params.max_block_txs);
  auto overlay = std::make_unique<ledger::StateOverlay>(&store_.state());
  IMET_ASSIGN_OR_RETURN(
      ledger::BuiltBlock built,
      ledger::build_block(*overlay, candidates, as_tip(tip_), config_, producer.public_key(),
                          time_ms, sched.round, attempt, last_cert, usable, tip_checker_));
  IMET_ASSIGN_OR_RETURN(ledger::smt::UpdateResult r, root(*overlay));
  ledger::Block block = std::move(built.block);
  block.header.state_root = r.root_hash;
  block.header.sign(producer);
  if (prepared_.size() >= kMaxPrepared) prepared_.erase(prepared_.begin());
  std::vector<ledger::Hash> ids = ids_of(block.txs);
  prepared_[block.header.hash()] = Prepared{std::move(overlay), std::move(r.batch), std::move(ids)};
  // A transaction that did not apply is dropped (it would fail again), except one that only waits
  // for an earlier nonce of its sender that was dropped: a replacement may still fill the gap.
  for (const auto& [id, e] : built.rejected) {
    remember_rejection(id, e, block.header.height);
    if (e.reason != ledger::Reject::kNonceTooHigh) mempool_.remove(id);
  }
  return block;
}

util::Result<ledger::Block> Chain::produce(const crypto::SigningKey& producer, uint64_t time_ms) {
  IMET_ASSIGN_OR_RETURN(ledger::RoundSchedule sched, next_schedule());
  if (sched.size() != 1) {
    return util::failed_precondition(
        "produce() certifies its own blocks, which needs a 1-witness schedule; this round has " +
        std::to_string(sched.size()) + " witnesses: run the consensus engine");
  }
  IMET_ASSIGN_OR_RETURN(ledger::Block block, build(producer, time_ms, 0, {}));
  ledger::WitnessVote vote;
  vote.chain_id = config_.chain_id;
  vote.type = ledger::VoteType::kCommit;
  vote.height = block.header.height;
  vote.attempt = 0;
  vote.block_hash = block.header.hash();
  vote.sign(producer);
  ledger::FinalityCertificate cert;
  cert.height = vote.height;
  cert.attempt = 0;
  cert.block_hash = vote.block_hash;
  cert.commits.push_back({vote.voter, vote.signature});
  IMET_TRY(commit(block, cert));
  return block;
}

}  // namespace imet::node
