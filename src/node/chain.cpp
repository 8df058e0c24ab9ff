#include "node/chain.h"

#include "ledger/smt/tree.h"
#include "ledger/state_root.h"

namespace imet::node {

namespace {
ledger::ChainTip as_tip(const store::TipRecord& t) {
  return {t.height, t.hash, t.time_ms};
}
}  // namespace

Chain::Chain(store::KvStore& kv, ledger::ChainConfig config, store::TipRecord tip)
    : config_(std::move(config)), store_(kv), tip_(tip), mempool_(config_, {}) {}

util::Result<std::unique_ptr<Chain>> Chain::open(store::KvStore& kv,
                                                 const ledger::Genesis& genesis) {
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
  return std::unique_ptr<Chain>(new Chain(kv, std::move(config), *tip));
}

ledger::TxResult Chain::submit(const ledger::Transaction& tx) {
  ledger::TxResult r = mempool_.add(tx, store_.state(), tip_.height + 1);
  // "duplicate" means the very same transaction is pending: it is not refused.
  if (r && r->reason != ledger::Reject::kDuplicate) remember_rejection(tx.id(), *r, 0);
  return r;
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

util::Status Chain::commit(const ledger::Block& block, const ledger::StateOverlay& overlay,
                           const ledger::smt::NodeBatch& nodes) {
  IMET_TRY(store_.commit(block, overlay.changes(), nodes));
  tip_ = {block.header.height, block.header.hash(), block.header.time_ms, block.header.state_root};
  mempool_.on_block(store_.state(), tip_.height + 1);
  return {};
}

util::Result<ledger::Block> Chain::produce(const crypto::SigningKey& producer, uint64_t time_ms) {
  if (time_ms <= tip_.time_ms) {
    return util::failed_precondition("block time must be after the tip's");
  }
  std::vector<ledger::Transaction> candidates =
      mempool_.select(store_.state(), config_.params.max_block_txs);
  ledger::StateOverlay overlay(&store_.state());
  IMET_ASSIGN_OR_RETURN(ledger::BuiltBlock built,
                        ledger::build_block(overlay, candidates, as_tip(tip_), config_,
                                            producer.public_key(), time_ms, 0, 0));
  ledger::smt::SparseMerkleTree tree(store_.nodes());
  IMET_ASSIGN_OR_RETURN(
      ledger::smt::UpdateResult root,
      tree.apply(tip_.height, tip_.height + 1, ledger::state_updates(overlay.changes())));
  ledger::Block block = std::move(built.block);
  block.header.state_root = root.root_hash;
  block.header.sign(producer);
  IMET_TRY(commit(block, overlay, root.batch));
  // A transaction that did not apply is dropped (it would fail again), except one that only waits
  // for an earlier nonce of its sender that was dropped: a replacement may still fill the gap.
  for (const auto& [id, e] : built.rejected) {
    remember_rejection(id, e, block.header.height);
    if (e.reason != ledger::Reject::kNonceTooHigh) mempool_.remove(id);
  }
  return block;
}

util::Status Chain::apply(const ledger::Block& block) {
  ledger::StateOverlay overlay(&store_.state());
  if (auto e = ledger::apply_block(overlay, block, as_tip(tip_), config_, verifier_)) {
    return util::invalid_argument("invalid block: " + e->message);
  }
  ledger::smt::SparseMerkleTree tree(store_.nodes());
  IMET_ASSIGN_OR_RETURN(
      ledger::smt::UpdateResult root,
      tree.apply(tip_.height, tip_.height + 1, ledger::state_updates(overlay.changes())));
  if (root.root_hash != block.header.state_root) {
    return util::invalid_argument("invalid block: state root " +
                                  util::to_hex(block.header.state_root) + " does not match " +
                                  util::to_hex(root.root_hash));
  }
  return commit(block, overlay, root.batch);
}

}  // namespace imet::node
