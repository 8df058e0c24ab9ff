// SmtNodeStore: the state tree's NodeStore (ledger/smt/node_store.h) on a KvStore, so the tree's
// nodes live in RocksDB with the rest of the node's data; SmtNodeReader reads them from any
// KvReader (for instance a KvSnapshot, for a consistent view while new blocks commit).
//
// Key layout, under a caller-chosen prefix P that no other data uses and that is not a prefix of
// another tree's P (end it with '/', e.g. "smt/state/"):
//   P 'n' version:u64be depth:u16be path[ceil(depth/8)]                 -> codec encoding of the
//   Node P 's' stale_since:u64be version:u64be depth:u16be path[ceil(depth/8)] -> empty (stale
//   index)
// Big-endian numbers make bytewise key order numeric order: the stale index is read in
// (stale_since, node) order by one forward scan, and a version's nodes are contiguous. The path
// holds the node's first `depth` key bits, the unused low bits of its last byte zero.
//
// Atomicity: write() and remove_stale() are one KvStore::write each. stage() and stage_remove()
// add the same operations to a caller's WriteBatch instead, so a block's tree nodes commit
// atomically with the block and its state values (recommended: then a crash never leaves a header
// whose state root is missing from disk).
// Errors: a stored value that does not decode as a canonical node, or a malformed stale-index key,
// is kCorruption naming the node; the KvStore's own errors pass through with context.
// Thread-safety: as the underlying KvStore / KvReader: every member may be called concurrently.
// Invariants: a node is stored under exactly one key (its NodeKey's encoding) and each recorded
// StaleNode under exactly one index key; remove_stale deletes both in one atomic write.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "ledger/smt/node_store.h"
#include "store/cached_reader.h"
#include "store/kv_store.h"
#include "util/bytes.h"
#include "util/result.h"
#include "util/status.h"

namespace imet::store {

class SmtNodeReader final : public ledger::smt::NodeReader {
 public:
  // `kv` must outlive the reader.
  SmtNodeReader(const KvReader& kv, util::Bytes prefix);

  util::Result<std::optional<ledger::smt::Node>> get(
      const ledger::smt::NodeKey& key) const override;

 private:
  const KvReader& kv_;
  util::Bytes prefix_;
};

class SmtNodeStore final : public ledger::smt::NodeStore {
 public:
  // `kv` must outlive the store. `cache` (optional, must outlive the store): a CachedReader over
  // `kv` that node reads go through; the store's own writes are noted in it. A caller that
  // commits stage()d operations itself notes them (ChainStore does).
  SmtNodeStore(KvStore& kv, util::Bytes prefix, CachedReader* cache = nullptr);

  util::Result<std::optional<ledger::smt::Node>> get(
      const ledger::smt::NodeKey& key) const override;
  util::Status write(const ledger::smt::NodeBatch& batch) override;
  util::Result<std::vector<ledger::smt::StaleNode>> stale_nodes(ledger::smt::Version up_to,
                                                                size_t limit) const override;
  util::Status remove_stale(std::span<const ledger::smt::StaleNode> stale) override;

  // What write(batch) / remove_stale(stale) would do, added to `out` for the caller to commit.
  void stage(const ledger::smt::NodeBatch& batch, WriteBatch& out) const;
  void stage_remove(std::span<const ledger::smt::StaleNode> stale, WriteBatch& out) const;

  // Number of stored nodes (a full scan: for tests, tools and monitoring).
  util::Result<size_t> count_nodes() const;

  // The KvStore keys of a node and of a stale-index entry (layout in the file comment).
  util::Bytes node_key(const ledger::smt::NodeKey& key) const;
  util::Bytes stale_key(const ledger::smt::StaleNode& stale) const;

 private:
  KvStore& kv_;
  CachedReader* cache_;
  util::Bytes prefix_;
};

}  // namespace imet::store
