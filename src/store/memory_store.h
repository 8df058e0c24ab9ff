// MemoryStore: an in-memory KvStore (an ordered std::map) for unit tests, the deterministic
// simulator and ephemeral nodes. Nothing is persisted; WriteOptions::sync has no effect.
//
// Design: the store owns the current "version" of the map. Snapshots and iterators pin a version
// (O(1), no copying) and read it without locking. A write mutates the current version in place if
// nothing pins it; otherwise it first copies the map into a fresh version (copy-on-write), so a
// pinned version is never modified and readers of it never see later writes.
//
// Complexity (n = keys in the store, b = operations in a batch):
//   get                    O(log n)
//   put / del              O(log n); O(n) for the first write while a snapshot or iterator taken
//                          since the last copy is still alive (the copy-on-write)
//   write(batch)           O(b log n), plus the same one-off O(n) copy
//   snapshot / iterator    O(1)
//   clone                  O(n)
//   iterator seek / next   O(log n) / amortized O(1)
// Memory: one map per distinct pinned version; a version is freed when its last pin goes away.
//
// Thread-safety: all KvStore/KvSnapshot members are safe to call concurrently. Lock discipline:
// mutex_ guards current_ (the pointer and, for in-place writes, the map it points to). Writers
// hold it exclusively; get() and the creation of snapshots/iterators hold it shared. A version
// with a non-zero pin count is immutable and is read without the lock. Pins are only created
// under mutex_ or from an existing pin, so a writer that sees zero pins (under the exclusive lock)
// knows no reader can appear until it releases the lock.
// Invariants: current_ is never null; a version whose pin count is non-zero is never modified.
#pragma once

#include <memory>
#include <optional>
#include <shared_mutex>

#include "store/kv_store.h"

namespace imet::store {

class MemoryStore final : public KvStore {
 public:
  MemoryStore();
  ~MemoryStore() override;

  util::Result<std::optional<util::Bytes>> get(util::ByteSpan key) const override;
  std::unique_ptr<KvIterator> iterator() const override;

  util::Status put(util::ByteSpan key, util::ByteSpan value, WriteOptions options = {}) override;
  util::Status del(util::ByteSpan key, WriteOptions options = {}) override;
  util::Status write(const WriteBatch& batch, WriteOptions options = {}) override;
  std::unique_ptr<KvSnapshot> snapshot() const override;

  // Number of keys currently stored. O(1).
  size_t size() const;

  // A new store holding a copy of this one's current contents. O(n).
  std::unique_ptr<MemoryStore> clone() const;

 private:
  // Defined in memory_store.cpp.
  struct Version;
  class Pin;
  class Iterator;
  class Snapshot;

  // Returns the current version, first replacing it by a private copy if anything pins it.
  // Requires mutex_ held exclusively.
  Version& writable_version_locked();

  mutable std::shared_mutex mutex_;
  std::shared_ptr<Version> current_;  // guarded by mutex_
};

}  // namespace imet::store
