// CachedReader: a KvReader in front of a KvStore that keeps the latest values of selected keys
// (those `cacheable` accepts) in a hash map, so hot keys are not looked up in RocksDB's memtable
// and files again and again. ChainStore uses it for the ledger state and the state-tree nodes:
// every block reads the accounts and tree paths the previous blocks wrote.
// Writes do not go through it: whoever writes the underlying store calls note_written(batch)
// after the write succeeded, with the same batch. A value read from the store is cached only if
// no note_written() ran during the read, so a slow reader never caches a value that a concurrent
// write has replaced. When the map exceeds `capacity` entries it is emptied (hot keys come back at
// once); deleted keys are cached as absent.
// Thread-safety: get() may run concurrently from any thread; note_written() from the single writer
// (concurrently with get()). Invariants: a cached entry equals the store's value as of the last
// note_written() that touched the key, or as read when no write intervened; iterator() is the
// store's own (uncached, consistent).
#pragma once

#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/kv_store.h"

namespace imet::store {

class CachedReader final : public KvReader {
 public:
  using Filter = std::function<bool(util::ByteSpan key)>;
  // `base` must outlive the reader.
  CachedReader(const KvReader& base, size_t capacity, Filter cacheable)
      : base_(base), capacity_(capacity), cacheable_(std::move(cacheable)) {}

  util::Result<std::optional<util::Bytes>> get(util::ByteSpan key) const override {
    if (!cacheable_(key)) return base_.get(key);
    const std::string_view k = view(key);
    uint64_t gen;
    {
      std::shared_lock lock(mu_);
      if (auto it = map_.find(k); it != map_.end()) return it->second;
      gen = generation_;
    }
    auto got = base_.get(key);
    if (!got.ok()) return got;
    std::unique_lock lock(mu_);
    if (generation_ == gen) insert(std::string(k), *got);
    return got;
  }

  std::unique_ptr<KvIterator> iterator() const override { return base_.iterator(); }

  // After `batch` was written to the store: its cacheable keys take their new values.
  void note_written(const WriteBatch& batch) {
    std::unique_lock lock(mu_);
    ++generation_;
    for (const WriteBatch::Op& op : batch.ops()) {
      if (!cacheable_(op.key)) continue;
      std::optional<util::Bytes> v;
      if (op.type == WriteBatch::OpType::kPut) v.emplace(op.value.begin(), op.value.end());
      insert(std::string(view(op.key)), std::move(v));
    }
  }

  size_t size() const {
    std::shared_lock lock(mu_);
    return map_.size();
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  static std::string_view view(util::ByteSpan b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  // Call with mu_ held exclusively.
  void insert(std::string key, std::optional<util::Bytes> value) const {
    if (map_.size() >= capacity_ && map_.find(key) == map_.end()) map_.clear();
    map_.insert_or_assign(std::move(key), std::move(value));
  }

  const KvReader& base_;
  const size_t capacity_;
  const Filter cacheable_;
  mutable std::shared_mutex mu_;
  mutable std::unordered_map<std::string, std::optional<util::Bytes>, Hash, std::equal_to<>> map_;
  mutable uint64_t generation_ = 0;  // bumped by every note_written()
};

}  // namespace imet::store
