// Chain: the node's ledger service. Owns the chain configuration (from genesis), the ChainStore on
// the node database, the mempool and the signature verifier. produce() builds, roots, signs and
// commits the next block (the dev chain's single delegate does this every slot); apply() validates
// and commits a block from elsewhere (used by sync and consensus later).
// Thread-safety: not thread-safe; the node calls it from one strand. Invariants: the in-memory tip
// equals the store's tip after every successful call; a failed call commits nothing.
#pragma once

#include <deque>
#include <map>
#include <memory>

#include "ledger/mempool.h"
#include "node/parallel_verifier.h"
#include "store/chain_store.h"

namespace imet::node {

class Chain {
 public:
  static constexpr size_t kMaxRejections = 10'000;
  struct Rejection {
    ledger::TxError error;
    uint64_t height = 0;  // the block being built when it was dropped; 0: refused at submission
  };

  // Opens the chain in `kv`, initialising it from `genesis` on first use. A database holding
  // another chain (genesis hash differs) is refused.
  static util::Result<std::unique_ptr<Chain>> open(store::KvStore& kv,
                                                   const ledger::Genesis& genesis);

  const store::TipRecord& tip() const { return tip_; }
  const ledger::ChainConfig& config() const { return config_; }
  store::ChainStore& store() { return store_; }

  ledger::TxResult submit(const ledger::Transaction& tx);
  bool is_pending(const ledger::Hash& tx_id) const { return mempool_.contains(tx_id); }
  size_t pending_count() const { return mempool_.size(); }
  // Why `tx_id` was refused or dropped, if it was recently.
  std::optional<Rejection> rejection(const ledger::Hash& tx_id) const;
  // Builds the next block from the mempool at `time_ms` (must be after the tip's time), signs it
  // with `producer` and commits it.
  util::Result<ledger::Block> produce(const crypto::SigningKey& producer, uint64_t time_ms);
  // Validates `block` against the tip (signatures, transactions, state root) and commits it.
  util::Status apply(const ledger::Block& block);

 private:
  Chain(store::KvStore& kv, ledger::ChainConfig config, store::TipRecord tip);
  util::Status commit(const ledger::Block& block, const ledger::StateOverlay& overlay,
                      const ledger::smt::NodeBatch& nodes);
  void remember_rejection(const ledger::Hash& id, const ledger::TxError& e, uint64_t height);

  ledger::ChainConfig config_;
  store::ChainStore store_;
  store::TipRecord tip_;
  ledger::Mempool mempool_;
  ParallelVerifier verifier_;
  std::map<ledger::Hash, Rejection> rejections_;
  std::deque<ledger::Hash> rejection_order_;  // oldest first; bounds rejections_
};

}  // namespace imet::node
