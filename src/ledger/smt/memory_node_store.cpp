#include "ledger/smt/memory_node_store.h"

namespace imet::ledger::smt {

util::Result<std::optional<Node>> MemoryNodeStore::get(const NodeKey& key) const {
  if (auto it = nodes_.find(key); it != nodes_.end()) return std::optional<Node>(it->second);
  return std::optional<Node>();
}

util::Status MemoryNodeStore::write(const NodeBatch& batch) {
  for (const auto& [key, node] : batch.nodes)
    nodes_.insert_or_assign(key, node);
  stale_.insert(batch.stale.begin(), batch.stale.end());
  return util::Status::ok_status();
}

util::Result<std::vector<StaleNode>> MemoryNodeStore::stale_nodes(Version up_to,
                                                                  size_t limit) const {
  std::vector<StaleNode> out;
  for (auto it = stale_.begin(); it != stale_.end() && out.size() < limit; ++it) {
    if (it->stale_since > up_to) break;
    out.push_back(*it);
  }
  return out;
}

util::Status MemoryNodeStore::remove_stale(std::span<const StaleNode> stale) {
  for (const StaleNode& s : stale) {
    nodes_.erase(s.key);
    stale_.erase(s);
  }
  return util::Status::ok_status();
}

}  // namespace imet::ledger::smt
