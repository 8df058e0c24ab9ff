#include "store/memory_store.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <map>
#include <mutex>
#include <utility>

namespace imet::store {

namespace {

// Unsigned bytewise order; transparent so lookups take a ByteSpan without copying the key.
struct BytesLess {
  using is_transparent = void;
  bool operator()(util::ByteSpan a, util::ByteSpan b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  }
};

using Map = std::map<util::Bytes, util::Bytes, BytesLess>;

std::optional<util::Bytes> lookup(const Map& map, util::ByteSpan key) {
  auto it = map.find(key);
  if (it == map.end()) return std::nullopt;
  return it->second;
}

void apply_put(Map& map, util::ByteSpan key, util::ByteSpan value) {
  auto it = map.lower_bound(key);
  if (it != map.end() && std::ranges::equal(it->first, key)) {
    it->second.assign(value.begin(), value.end());
  } else {
    map.emplace_hint(it, util::Bytes(key.begin(), key.end()),
                     util::Bytes(value.begin(), value.end()));
  }
}

void apply_del(Map& map, util::ByteSpan key) {
  auto it = map.find(key);
  if (it != map.end()) map.erase(it);
}

}  // namespace

struct MemoryStore::Version {
  Version() = default;
  explicit Version(const Map& m) : map(m) {}

  Map map;
  // Number of live Pins. Incremented under the store's mutex or by a holder of another pin;
  // decremented with release order so a writer's acquire load of zero sees all reads finished.
  mutable std::atomic<size_t> pins{0};
};

// Shared, read-only access to a version that keeps it immutable while alive.
class MemoryStore::Pin {
 public:
  // Only under the store's mutex, or for a version the caller already pins.
  explicit Pin(std::shared_ptr<const Version> version) : version_(std::move(version)) {
    version_->pins.fetch_add(1, std::memory_order_relaxed);
  }
  Pin(const Pin&) = delete;
  Pin& operator=(const Pin&) = delete;
  ~Pin() { version_->pins.fetch_sub(1, std::memory_order_release); }

  const Map& map() const { return version_->map; }
  const std::shared_ptr<const Version>& version() const { return version_; }

 private:
  std::shared_ptr<const Version> version_;
};

class MemoryStore::Iterator final : public KvIterator {
 public:
  explicit Iterator(std::shared_ptr<const Version> version)
      : pin_(std::move(version)), it_(pin_.map().end()) {}

  void seek_to_first() override { it_ = pin_.map().begin(); }
  void seek(util::ByteSpan key) override { it_ = pin_.map().lower_bound(key); }
  bool valid() const override { return it_ != pin_.map().end(); }
  void next() override {
    assert(valid());
    ++it_;
  }
  util::ByteSpan key() const override {
    assert(valid());
    return it_->first;
  }
  util::ByteSpan value() const override {
    assert(valid());
    return it_->second;
  }
  util::Status status() const override { return {}; }

 private:
  Pin pin_;
  Map::const_iterator it_;
};

class MemoryStore::Snapshot final : public KvSnapshot {
 public:
  explicit Snapshot(std::shared_ptr<const Version> version) : pin_(std::move(version)) {}

  util::Result<std::optional<util::Bytes>> get(util::ByteSpan key) const override {
    return lookup(pin_.map(), key);
  }
  std::unique_ptr<KvIterator> iterator() const override {
    return std::make_unique<Iterator>(pin_.version());
  }

 private:
  Pin pin_;
};

MemoryStore::MemoryStore() : current_(std::make_shared<Version>()) {}

MemoryStore::~MemoryStore() = default;

util::Result<std::optional<util::Bytes>> MemoryStore::get(util::ByteSpan key) const {
  std::shared_lock lock(mutex_);
  return lookup(current_->map, key);
}

std::unique_ptr<KvIterator> MemoryStore::iterator() const {
  std::shared_lock lock(mutex_);
  return std::make_unique<Iterator>(current_);
}

std::unique_ptr<KvSnapshot> MemoryStore::snapshot() const {
  std::shared_lock lock(mutex_);
  return std::make_unique<Snapshot>(current_);
}

size_t MemoryStore::size() const {
  std::shared_lock lock(mutex_);
  return current_->map.size();
}

std::unique_ptr<MemoryStore> MemoryStore::clone() const {
  auto copy = std::make_unique<MemoryStore>();
  std::shared_lock lock(mutex_);
  copy->current_ = std::make_shared<Version>(current_->map);
  return copy;
}

MemoryStore::Version& MemoryStore::writable_version_locked() {
  if (current_->pins.load(std::memory_order_acquire) != 0) {
    current_ = std::make_shared<Version>(current_->map);
  }
  return *current_;
}

util::Status MemoryStore::put(util::ByteSpan key, util::ByteSpan value, WriteOptions) {
  std::unique_lock lock(mutex_);
  apply_put(writable_version_locked().map, key, value);
  return {};
}

util::Status MemoryStore::del(util::ByteSpan key, WriteOptions) {
  std::unique_lock lock(mutex_);
  // Deleting an absent key must not force a copy of a pinned version.
  if (current_->map.find(key) == current_->map.end()) return {};
  apply_del(writable_version_locked().map, key);
  return {};
}

util::Status MemoryStore::write(const WriteBatch& batch, WriteOptions) {
  if (batch.empty()) return {};
  std::unique_lock lock(mutex_);
  Map& map = writable_version_locked().map;
  for (const WriteBatch::Op& op : batch.ops()) {
    switch (op.type) {
      case WriteBatch::OpType::kPut:
        apply_put(map, op.key, op.value);
        break;
      case WriteBatch::OpType::kDelete:
        apply_del(map, op.key);
        break;
    }
  }
  return {};
}

}  // namespace imet::store
