#include "ledger/smt/node_store.h"

namespace imet::ledger::smt {

NodeReader::~NodeReader() = default;

util::Result<size_t> prune(NodeStore& store, Version oldest_kept, size_t chunk) {
  if (chunk == 0) chunk = 1;
  size_t removed = 0;
  while (true) {
    IMET_ASSIGN_OR_RETURN(std::vector<StaleNode> stale, store.stale_nodes(oldest_kept, chunk));
    if (stale.empty()) break;
    IMET_TRY(store.remove_stale(stale));
    removed += stale.size();
    if (stale.size() < chunk) break;
  }
  return removed;
}

void OverlayNodeReader::add(const NodeBatch& batch) {
  for (const auto& [key, node] : batch.nodes)
    nodes_.insert_or_assign(key, node);
}

util::Result<std::optional<Node>> OverlayNodeReader::get(const NodeKey& key) const {
  if (auto it = nodes_.find(key); it != nodes_.end()) return std::optional<Node>(it->second);
  return base_.get(key);
}

}  // namespace imet::ledger::smt
