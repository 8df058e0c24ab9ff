// Where the state tree keeps its nodes. The tree itself is pure: it reads nodes through
// NodeReader and returns what an update writes as a NodeBatch (new nodes plus the stale-node
// records that let old versions be pruned later). NodeStore adds writing and pruning; the ledger
// layer provides MemoryNodeStore (ledger/smt/memory_node_store.h, tests and simulation) and the
// store layer a KvStore-backed one (store/smt_node_store.h, the node's disk).
//
// Versioning and pruning: a node is written once, under a NodeKey naming the version that wrote
// it, and never changed. When the update to version v replaces or drops a node stored at an older
// version, the update reports it as StaleNode{stale_since = v, key}: the node belongs to the
// trees of versions < v and to none from v on. So to keep every version >= K readable, delete
// exactly the nodes with stale_since <= K (prune(store, K)). Versions < K then answer kNotFound.
// This requires a linear history: every update's base is the latest version applied.
//
// Thread-safety: interfaces; each implementation documents its own. OverlayNodeReader is not
// thread-safe (one owner), and reads its base only through const get().
// Invariants: a NodeBatch's nodes all carry the batch's version, its stale nodes all older
// versions, and no key appears twice in it; NodeStore::write applies a batch atomically.
#pragma once

#include <compare>
#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ledger/smt/node.h"
#include "ledger/smt/types.h"
#include "util/result.h"
#include "util/status.h"

namespace imet::ledger::smt {

class NodeReader {
 public:
  virtual ~NodeReader();
  NodeReader(const NodeReader&) = delete;
  NodeReader& operator=(const NodeReader&) = delete;

  // The node stored under `key`; nullopt if there is none. An error only for a failed read
  // (I/O, corruption).
  virtual util::Result<std::optional<Node>> get(const NodeKey& key) const = 0;

 protected:
  NodeReader() = default;
};

// A node that no version >= stale_since needs (see the file comment). Ordered by stale_since,
// then key: the order pruning consumes them in.
struct StaleNode {
  Version stale_since = 0;
  NodeKey key;

  friend bool operator==(const StaleNode&, const StaleNode&) = default;
  friend auto operator<=>(const StaleNode&, const StaleNode&) = default;
};

// Everything one update writes.
struct NodeBatch {
  std::vector<std::pair<NodeKey, Node>> nodes;  // new nodes, all at the update's version
  std::vector<StaleNode> stale;                 // older nodes this version no longer uses
};

class NodeStore : public NodeReader {
 public:
  // Stores batch.nodes and records batch.stale in the stale-node index, atomically.
  virtual util::Status write(const NodeBatch& batch) = 0;
  // Stale-node records with stale_since <= up_to, in StaleNode order, at most `limit` of them.
  virtual util::Result<std::vector<StaleNode>> stale_nodes(Version up_to, size_t limit) const = 0;
  // Deletes the given nodes and their stale-node records, atomically. Entries that are not (or no
  // longer) present are ignored.
  virtual util::Status remove_stale(std::span<const StaleNode> stale) = 0;
};

// Deletes every node that no version >= oldest_kept needs, `chunk` nodes per remove_stale call.
// Returns how many nodes were deleted. Versions < oldest_kept are no longer readable afterwards.
util::Result<size_t> prune(NodeStore& store, Version oldest_kept, size_t chunk = 4096);

// A NodeReader that shows not-yet-written batches on top of a base reader, so updates can be
// chained (execute block h+2 on an uncommitted h+1) and the batches written, or dropped, later.
class OverlayNodeReader final : public NodeReader {
 public:
  explicit OverlayNodeReader(const NodeReader& base) : base_(base) {}

  // Makes batch.nodes visible. (Stale records need no overlay: stale nodes stay readable until
  // pruned.)
  void add(const NodeBatch& batch);
  void clear() { nodes_.clear(); }
  size_t size() const { return nodes_.size(); }

  util::Result<std::optional<Node>> get(const NodeKey& key) const override;

 private:
  const NodeReader& base_;
  std::unordered_map<NodeKey, Node, NodeKeyHash> nodes_;
};

}  // namespace imet::ledger::smt
