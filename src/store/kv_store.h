// KvStore: the ordered key-value storage interface every persistent component (block store, state
// store, retained messages, ...) codes against, plus WriteBatch, KvIterator, KvSnapshot and the
// prefix-scan helpers. Implementations: MemoryStore (store/memory_store.h, tests and simulation)
// and RocksStore (store/rocks_store.h, the node's disk).
//
// Ordering: keys are arbitrary byte strings (empty allowed, 0x00 allowed anywhere) ordered bytewise
// as unsigned bytes, shorter-is-smaller on a common prefix (memcmp order): "" < "\x00" < "\x01" <
// "\x7f" < "\x80" < "\xff" < "\xff\x00". Values are arbitrary byte strings (empty allowed).
//
// Thread-safety: every KvStore and KvSnapshot member function may be called concurrently from any
// number of threads. A KvIterator is a cursor owned by one thread at a time (not thread-safe), but
// distinct iterators may be used concurrently with each other and with writes to the store.
//
// Invariants / guarantees every implementation provides:
// - write(batch) is atomic: readers see all of the batch or none of it; its operations apply in
//   order, so a later op on the same key wins.
// - A KvSnapshot is an immutable point-in-time view: later writes never change what it returns.
// - A KvIterator iterates one consistent point-in-time view taken when it was created (from the
//   live store) or the snapshot's view (from a snapshot); concurrent writes never show through.
// - Snapshots and iterators may outlive the store object they came from; they keep the underlying
//   data alive (for RocksStore that includes the open database and its LOCK, see rocks_store.h).
// - Expected failures (I/O, corruption, a locked database) come back as util::Status; no exception
//   crosses this interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "util/bytes.h"
#include "util/result.h"
#include "util/status.h"

namespace imet::store {

// An ordered list of puts and deletes applied atomically by KvStore::write. Owns copies of the keys
// and values, so the caller's buffers may be reused immediately.
// Thread-safety: a value type; not safe to mutate from two threads at once.
class WriteBatch {
 public:
  enum class OpType : uint8_t { kPut, kDelete };
  struct Op {
    OpType type;
    util::Bytes key;
    util::Bytes value;  // empty for kDelete
  };

  void put(util::ByteSpan key, util::ByteSpan value);
  void del(util::ByteSpan key);

  // Number of operations (a put and a delete of the same key count as two).
  size_t size() const { return ops_.size(); }
  bool empty() const { return ops_.empty(); }
  void clear();
  // Sum of key and value sizes of all operations, for callers that cap batch size.
  size_t payload_bytes() const { return payload_bytes_; }
  // The operations in the order they were added.
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
  size_t payload_bytes_ = 0;
};

struct WriteOptions {
  // true: the write is on stable storage (the write-ahead log is fsynced) before the call returns,
  // so it survives a machine crash. false: it survives a process crash only. No effect on
  // MemoryStore.
  bool sync = false;
};

// A cursor over one consistent view of the keys, in bytewise order. Starts unpositioned
// (valid() == false); call seek_to_first() or seek() first.
// key() and value() may be called only while valid(); the spans they return stay valid until the
// next call that moves the iterator (seek*, next) or its destruction.
// When valid() turns false, status() tells whether the end was reached (OK) or an error stopped the
// iteration (non-OK); callers must check it.
class KvIterator {
 public:
  virtual ~KvIterator();
  KvIterator(const KvIterator&) = delete;
  KvIterator& operator=(const KvIterator&) = delete;

  virtual void seek_to_first() = 0;
  // Positions at the first key >= `key`.
  virtual void seek(util::ByteSpan key) = 0;
  virtual bool valid() const = 0;
  // Precondition: valid().
  virtual void next() = 0;
  // Precondition: valid().
  virtual util::ByteSpan key() const = 0;
  // Precondition: valid().
  virtual util::ByteSpan value() const = 0;
  virtual util::Status status() const = 0;

 protected:
  KvIterator() = default;
};

// Read access shared by the live store and its snapshots.
class KvReader {
 public:
  virtual ~KvReader();
  KvReader(const KvReader&) = delete;
  KvReader& operator=(const KvReader&) = delete;

  // nullopt if the key is absent; an error status only for a failed read (I/O, corruption).
  virtual util::Result<std::optional<util::Bytes>> get(util::ByteSpan key) const = 0;
  // A new unpositioned iterator over a consistent view (see the file comment).
  virtual std::unique_ptr<KvIterator> iterator() const = 0;

 protected:
  KvReader() = default;
};

// A consistent, immutable point-in-time view of a store. Stays valid and unchanged while the store
// is written, and even after the store object is destroyed.
class KvSnapshot : public KvReader {};

class KvStore : public KvReader {
 public:
  virtual util::Status put(util::ByteSpan key, util::ByteSpan value, WriteOptions options = {}) = 0;
  // Deleting an absent key is not an error.
  virtual util::Status del(util::ByteSpan key, WriteOptions options = {}) = 0;
  // Applies all operations of `batch` atomically, in order; an empty batch is a no-op.
  virtual util::Status write(const WriteBatch& batch, WriteOptions options = {}) = 0;
  // A point-in-time view of the current contents.
  virtual std::unique_ptr<KvSnapshot> snapshot() const = 0;
};

// ---- helpers over any KvReader (live store or snapshot) ----

// true if `key` begins with `prefix` (every key begins with the empty prefix).
bool starts_with(util::ByteSpan key, util::ByteSpan prefix);

// The smallest key greater than every key that begins with `prefix`: the prefix with trailing 0xff
// bytes dropped and its last byte incremented. nullopt when no such bound exists (prefix empty or
// all 0xff): every key >= prefix then begins with it or follows none.
std::optional<util::Bytes> prefix_upper_bound(util::ByteSpan prefix);

// Calls fn(key, value) for every key beginning with `prefix`, in key order, until fn returns false.
// All calls see one consistent view. The spans passed to fn are valid only during the call.
// Returns the iterator's error if iteration failed, OK otherwise (also when fn stopped early).
util::Status scan_prefix(const KvReader& reader, util::ByteSpan prefix,
                         const std::function<bool(util::ByteSpan key, util::ByteSpan value)>& fn);

inline constexpr size_t kNoLimit = std::numeric_limits<size_t>::max();

// The first `limit` (key, value) pairs whose key begins with `prefix`, in key order. To learn
// whether more exist, ask for limit + 1.
util::Result<std::vector<std::pair<util::Bytes, util::Bytes>>> scan_prefix_all(
    const KvReader& reader, util::ByteSpan prefix, size_t limit = kNoLimit);

}  // namespace imet::store
