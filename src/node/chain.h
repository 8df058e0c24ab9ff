// Chain: the node's ledger service and the consensus engine's consensus::ChainView. Owns the chain
// configuration (from genesis), the ChainStore on the node database, the mempool and the signature
// verifier. The engine drives it: validate() a proposed block (the result is cached by block hash:
// the executed state changes and tree nodes), build() a block when this node produces, commit() a
// block with its finality certificate (reusing the cached execution). produce() is the dev chain's
// shortcut: build, self-certify (one COMMIT by the producer is a quorum of a 1-witness schedule)
// and commit, every slot, without the engine.
// Signatures: a transaction admitted by submit() had its signature checked; its id is remembered
// (bounded) and block validation does not verify that signature again (the id covers it).
// Thread-safety: not thread-safe; the node calls it from one strand (the simulation from its one
// thread). Invariants: the in-memory tip equals the store's tip after every successful call; a
// failed call commits nothing; cached validations are all of blocks on the current tip (the cache
// is cleared whenever the tip moves); the cached producer answers are those of the current tip.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "consensus/chain_view.h"
#include "ledger/mempool.h"
#include "ledger/smt/tree.h"
#include "node/admission_limit.h"
#include "node/parallel_verifier.h"
#include "store/chain_store.h"

namespace imet::node {

class Chain final : public consensus::ChainView {
 public:
  static constexpr size_t kMaxRejections = 10'000;
  static constexpr size_t kMaxVerifiedIds = 200'000;  // remembered admitted-signature tx ids
  static constexpr size_t kMaxPrepared = 8;           // cached validated blocks on the tip
  struct Rejection {
    ledger::TxError error;
    uint64_t height = 0;  // the block being built when it was dropped; 0: refused at submission
  };
  struct Options {
    // Verify block signatures on the calling thread instead of a ParallelVerifier pool (the
    // simulation runs many Chains in one process and must not start threads per Chain), through
    // certificate_checker.
    bool serial_verifier = false;
    // Checks the signatures of finality certificates (commit(), a block's parent certificate,
    // build()), of evidence votes (validate(), build()) and of block producers (validate()), and
    // with serial_verifier those of a block's transactions; null:
    // ledger::direct_signature_checker(). Must outlive the Chain. The simulation passes its
    // process-wide memo (tests/sim/memo_checker.h).
    const ledger::SignatureChecker* certificate_checker = nullptr;
    // Entries of the state cache in front of the store (store::ChainStore); 0 for none (the
    // simulation's in-memory stores gain nothing from it).
    size_t state_cache_entries = store::ChainStore::kCacheEntries;
    // Mempool limits (default: ledger::Mempool::Limits{}).
    std::optional<ledger::Mempool::Limits> mempool_limits = std::nullopt;
    // Admission control for client transactions (node/admission_limit.h, node/tx_admission.h).
    AdmissionLimit::Options admission = {};
  };
  // Admission figures for /v1/status: refusals since start.
  struct AdmissionStats {
    uint64_t refused_busy = 0;  // client transactions refused over the admission limit
    uint64_t refused_full = 0;  // transactions refused by the mempool's hard cap (any origin)
  };

  // Opens the chain in `kv`, initialising it from `genesis` on first use. A database holding
  // another chain (genesis hash differs) is refused.
  static util::Result<std::unique_ptr<Chain>> open(store::KvStore& kv,
                                                   const ledger::Genesis& genesis);
  static util::Result<std::unique_ptr<Chain>> open(store::KvStore& kv,
                                                   const ledger::Genesis& genesis, Options options);

  const store::TipRecord& tip() const { return tip_; }
  store::ChainStore& store() { return store_; }

  // Admits `tx` into the mempool. `signature_checked`: the caller verified its signature with
  // verify_signatures() (node/tx_admission.h does, for batches, outside the chain lock).
  ledger::TxResult submit(const ledger::Transaction& tx, bool signature_checked = false) {
    return submit(tx, tx.id(), signature_checked);
  }
  // The same with the id already computed (tx_id == tx.id()).
  ledger::TxResult submit(const ledger::Transaction& tx, const ledger::Hash& tx_id,
                          bool signature_checked);
  // Verifies the signatures of `txs` on the verifier pool. Thread-safe: it reads no chain state,
  // so callers run it without holding the node's chain lock.
  std::vector<bool> verify_signatures(std::span<const ledger::Transaction> txs) const {
    return inner_verifier_->verify(txs);
  }
  // Pending, or its signature already verified: submitting it again needs no signature check.
  bool knows(const ledger::Hash& tx_id) const {
    return mempool_.contains(tx_id) || verified_.count(tx_id) != 0;
  }
  bool is_pending(const ledger::Hash& tx_id) const { return mempool_.contains(tx_id); }
  // The pending transaction with this id, if any (valid until the mempool changes).
  const ledger::Transaction* pending(const ledger::Hash& tx_id) const {
    return mempool_.find(tx_id);
  }
  size_t pending_count() const { return mempool_.size(); }
  size_t pending_limit() const { return mempool_.limits().max_txs; }
  // The mempool would refuse `tx` as full before looking at its signature.
  bool refuses_as_full(const ledger::Transaction& tx) const { return mempool_.refuses_as_full(tx); }
  // Admission control for new client transactions: with `pending_count() + extra` pending, is
  // `tx` refused as busy? A replacement of a pending transaction (same sender and nonce) never is:
  // it does not grow the backlog, and it is how a client unsticks a transaction.
  bool over_admission_limit(const ledger::Transaction& tx, size_t extra) const {
    return admission_.refuses(pending_count() + extra) && !mempool_.replaces_pending(tx);
  }
  const AdmissionLimit& admission() const { return admission_; }
  AdmissionStats& admission_stats() { return admission_stats_; }
  const AdmissionStats& admission_stats() const { return admission_stats_; }
  // Why `tx_id` was refused or dropped, if it was recently.
  std::optional<Rejection> rejection(const ledger::Hash& tx_id) const;
  // Dev chain: builds the next block from the mempool at `time_ms` (must be after the tip's
  // time) as attempt 0, signs it with `producer`, certifies it with the producer's own COMMIT and
  // commits it. Fails (kFailedPrecondition) when the schedule has more than one witness.
  util::Result<ledger::Block> produce(const crypto::SigningKey& producer, uint64_t time_ms);

  // consensus::ChainView. producer() never answers nullopt: when every witness is jailed none is
  // skipped (ledger/schedule.h). build() leaves out evidence the chain no longer accepts (already
  // slashed, too old, not a delegate) or that repeats an offence, keeping the rest.
  const ledger::ChainConfig& config() const override { return config_; }
  ledger::ChainTip final_tip() const override;
  util::Result<ledger::RoundSchedule> next_schedule() const override;
  util::Result<std::optional<ledger::Address>> producer(uint32_t attempt) const override;
  util::Status validate(const ledger::Block& block) override;
  util::Result<ledger::Block> build(const crypto::SigningKey& producer, uint64_t time_ms,
                                    uint32_t attempt,
                                    const std::vector<ledger::Evidence>& evidence) override;
  util::Status check_evidence(const ledger::Evidence& evidence) const override;
  util::Status commit(const ledger::Block& block, const ledger::FinalityCertificate& cert) override;
  util::Result<std::optional<ledger::FinalityCertificate>> certificate(
      uint64_t height) const override;

  // How many blocks validate() actually executed (cache misses): tests check that commit() of a
  // validated block does not execute it again.
  uint64_t executions() const { return executions_; }
  // How many transaction signatures block validation verified (the others were known).
  uint64_t signature_checks() const { return signature_checks_; }

 private:
  // A block executed on the current tip: its state changes, state-tree nodes and tx ids.
  struct Prepared {
    std::unique_ptr<ledger::StateOverlay> overlay;
    ledger::smt::NodeBatch nodes;
    std::vector<ledger::Hash> tx_ids;
  };
  // Only verifies signatures of transactions whose id submit() has not seen verified. `ids`, when
  // set to the ids of the transactions being verified, saves hashing them again.
  class KnownSignatureVerifier final : public ledger::SignatureVerifier {
   public:
    explicit KnownSignatureVerifier(const Chain& chain) : chain_(chain) {}
    std::vector<bool> verify(std::span<const ledger::Transaction> txs) const override;
    std::span<const ledger::Hash> ids;
    const ledger::SignatureChecker& certificates() const override { return chain_.tip_checker_; }

   private:
    const Chain& chain_;
  };

  // certs_, except for the signatures of the certificate this chain committed last (verified by
  // commit()): the next block carries it as its parent certificate, and build() puts it in, so
  // neither verifies it again.
  class TipCertChecker final : public ledger::SignatureChecker {
   public:
    explicit TipCertChecker(const Chain& chain) : chain_(chain) {}
    bool verify(const ledger::PublicKey& pk, util::ByteSpan msg,
                const ledger::Signature& sig) const override;

   private:
    const Chain& chain_;
  };
  static std::vector<ledger::Hash> ids_of(const std::vector<ledger::Transaction>& txs);

  Chain(store::KvStore& kv, ledger::ChainConfig config, store::TipRecord tip, Options options);
  util::Status commit_prepared(const ledger::Block& block, const ledger::FinalityCertificate& cert,
                               const Prepared& prepared);
  // Roots the overlay's changes as tree version tip + 1.
  util::Result<ledger::smt::UpdateResult> root(const ledger::StateOverlay& overlay);
  void remember_rejection(const ledger::Hash& id, const ledger::TxError& e, uint64_t height);
  void remember_verified(const ledger::Hash& id);

  ledger::ChainConfig config_;
  store::ChainStore store_;
  store::TipRecord tip_;
  ledger::Mempool mempool_;
  AdmissionLimit admission_;  // fed by commit_prepared() with every final block
  AdmissionStats admission_stats_;
  std::unique_ptr<ledger::SignatureVerifier> inner_verifier_;
  const ledger::SignatureChecker& certs_;
  TipCertChecker tip_checker_{*this};
  std::optional<ledger::FinalityCertificate> tip_cert_;  // verified by commit(); none after open()
  util::Bytes tip_cert_msg_;  // the COMMIT signing bytes of tip_cert_ (voter key last)
  KnownSignatureVerifier verifier_{*this};
  std::map<ledger::Hash, Prepared> prepared_;                      // by block hash, blocks on tip_
  std::unordered_set<ledger::Hash, crypto::DigestHash> verified_;  // signature verified
  std::deque<ledger::Hash> verified_order_;                        // oldest first; bounds verified_
  std::unordered_map<ledger::Hash, Rejection, crypto::DigestHash> rejections_;
  std::deque<ledger::Hash> rejection_order_;  // oldest first; bounds rejections_
  uint64_t executions_ = 0;
  mutable uint64_t signature_checks_ = 0;
  // producer()'s answers for one tip: the schedule at tip + 1, which of its witnesses are jailed
  // there, and the unjailed ones (pointers into schedule.witnesses), so that asking about several
  // attempts, several times, and validating blocks (ledger::KnownUnjailed) reads the delegate
  // records at most once per tip. Valid while `tip_hash` is tip_.hash (state only changes with the
  // tip). commit_prepared() carries it to the new tip with `recheck` set and the witnesses whose
  // delegate record the block wrote in `changed`: the next use re-reads the schedule (a new order,
  // i.e. a new round: start over) and only those records. That is exact because a record the
  // block at H did not write has jailed_height < H, so whether it is jailed at H + 1 in the same
  // round is whether it was at H. `schedule`'s DEC counters are those of when it was read (only
  // its order is used).
  struct ProducerCache {
    bool valid = false;
    bool recheck = false;
    ledger::Hash tip_hash{};
    ledger::RoundSchedule schedule;
    std::vector<uint8_t> jailed;  // per schedule.witnesses entry
    std::vector<const ledger::Address*> unjailed;
    std::vector<ledger::Address> changed;
  };
  // producers_ for the current tip, brought up to date first if needed.
  util::Result<const ProducerCache*> producer_cache() const;
  mutable ProducerCache producers_;
};

}  // namespace imet::node
