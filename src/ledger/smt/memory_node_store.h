// MemoryNodeStore: the in-memory NodeStore of the state tree, for tests, simulation and
// benchmarks (the node's disk-backed one is store/smt_node_store.h).
// Thread-safety: not thread-safe; callers synchronize (concurrent const get() calls are safe
// while nothing writes).
// Invariants: write() and remove_stale() are all-or-nothing (they cannot fail); the stale index
// holds each recorded StaleNode once, in StaleNode order.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>
#include <vector>

#include "ledger/smt/node_store.h"

namespace imet::ledger::smt {

class MemoryNodeStore final : public NodeStore {
 public:
  MemoryNodeStore() = default;

  util::Result<std::optional<Node>> get(const NodeKey& key) const override;
  util::Status write(const NodeBatch& batch) override;
  util::Result<std::vector<StaleNode>> stale_nodes(Version up_to, size_t limit) const override;
  util::Status remove_stale(std::span<const StaleNode> stale) override;

  size_t node_count() const { return nodes_.size(); }
  size_t stale_count() const { return stale_.size(); }
  // Calls fn(key, node) for every stored node, in no particular order.
  template <typename F>
  void for_each(F&& fn) const {
    for (const auto& [key, node] : nodes_)
      fn(key, node);
  }

 private:
  std::unordered_map<NodeKey, Node, NodeKeyHash> nodes_;
  std::set<StaleNode> stale_;
};

}  // namespace imet::ledger::smt
