// ChainStore: blocks, indexes, ledger state and state-tree nodes of one chain in one KvStore, so
// a block and everything it changes commit in ONE atomic, synced write (a crash — kill -9 — leaves
// either the whole block or none of it). Key layout:
//   c/meta/tip → TipRecord      c/h/<height, 8 bytes big-endian> → block hash
//   c/b/<hash> → Block          c/t/<tx id> → TxLocation
//   c/f/<height, 8 bytes big-endian> → FinalityCertificate of the block at that height
//   s/<typed key> → state record (ledger_state.h)      t/… → state-tree nodes (smt_node_store.h)
// Thread-safety: reads are safe from any thread (RocksDB); commit()/init() from one writer.
// Invariants: after init(), c/meta/tip always names a block whose state, tree version and
// finality certificate are fully written; the tree version of a block equals its height.
#pragma once

#include <memory>
#include <span>

#include "ledger/block.h"
#include "ledger/genesis.h"
#include "ledger/smt/node_store.h"
#include "store/cached_reader.h"
#include "store/kv_store.h"
#include "store/ledger_state.h"
#include "store/smt_node_store.h"

namespace imet::store {

struct TipRecord {
  uint64_t height = 0;
  ledger::Hash hash{};  // block hash; for height 0 the genesis hash
  uint64_t time_ms = 0;
  ledger::Hash state_root{};
  template <typename S>
  void serde(S& s) {
    s.u64(height, "height");
    s.fixed(hash, "hash");
    s.u64(time_ms, "time_ms");
    s.fixed(state_root, "state_root");
  }
  bool operator==(const TipRecord&) const = default;
};

struct TxLocation {
  uint64_t height = 0;
  uint32_t index = 0;
  template <typename S>
  void serde(S& s) {
    s.u64(height, "height");
    s.u32(index, "index");
  }
};

class ChainStore {
 public:
  // Latest values of state entries and tree nodes kept in memory (CachedReader), in entries.
  static constexpr size_t kCacheEntries = 200'000;

  // `cache_entries` 0: no cache (every read goes to `kv`; for a store that is itself in memory).
  explicit ChainStore(KvStore& kv, size_t cache_entries = kCacheEntries);

  util::Result<std::optional<TipRecord>> tip() const;
  // Writes the genesis state as tree version 0 and the tip at height 0. kAlreadyExists if the
  // store already holds a chain.
  util::Result<TipRecord> init(const ledger::Genesis& genesis);
  // Commits `block` (already validated; header.state_root is the root of `nodes`) with its
  // finality certificate, state changes and tree nodes, and moves the tip, in one synced write.
  // The certificate must name the block (height and hash): kInvalidArgument otherwise.
  // `tx_ids`: the ids of block.txs in order if the caller has them (else they are computed).
  util::Status commit(const ledger::Block& block, const ledger::FinalityCertificate& cert,
                      const ledger::StateOverlay::Changes& changes,
                      const ledger::smt::NodeBatch& nodes,
                      std::span<const ledger::Hash> tx_ids = {});
  // The certificate stored with the block at `height` (nullopt for genesis or above the tip).
  util::Result<std::optional<ledger::FinalityCertificate>> certificate(uint64_t height) const;

  util::Result<std::optional<ledger::Block>> block_at(uint64_t height) const;
  util::Result<std::optional<ledger::Block>> block_by_hash(const ledger::Hash& hash) const;
  util::Result<std::optional<TxLocation>> tx_location(const ledger::Hash& tx_id) const;

  // State entries whose typed key starts with `prefix` (e.g. {'d'} for every delegate), in key
  // order, at most `limit`; keys are returned without the store's "s/" prefix.
  util::Result<std::vector<std::pair<util::Bytes, util::Bytes>>> scan_state(util::ByteSpan prefix,
                                                                            size_t limit) const;

  const ledger::StateReader& state() const { return state_; }
  ledger::smt::NodeStore& nodes() { return nodes_; }

 private:
  util::Status write(const WriteBatch& wb);  // synced, then noted in cache_

  KvStore& kv_;
  CachedReader cache_;  // state values and tree nodes; every write of this store is noted
  KvStateReader state_;
  SmtNodeStore nodes_;
};

}  // namespace imet::store
