// RocksStore implementation: the only file of the project that includes RocksDB headers.
#include "store/rocks_store.h"

#include <algorithm>
#include <cassert>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/status.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

namespace imet::store {

namespace {

namespace fs = std::filesystem;

// Batches of at least this many operations are written in key order (RocksStore::write).
constexpr size_t kSortedBatchOps = 64;

rocksdb::Slice to_slice(util::ByteSpan bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

util::ByteSpan to_span(const rocksdb::Slice& slice) {
  return {reinterpret_cast<const uint8_t*>(slice.data()), slice.size()};
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// RocksDB reports a held LOCK as an I/O error: "While lock file: <path>/LOCK: Resource temporarily
// unavailable" when another process holds it, "lock hold by current process ..." when this one
// does.
bool is_lock_held(const rocksdb::Status& s, std::string_view text) {
  return s.IsIOError() && (contains(text, "While lock file") || contains(text, "lock hold by"));
}

// Maps a RocksDB status to a util::Status whose message is "<what>: <explanation>: <rocksdb text>".
util::Status from_rocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return {};
  const std::string text = s.ToString();
  if (s.IsNotFound()) return util::not_found(what + ": " + text);
  if (s.IsCorruption()) {
    return util::corruption(what +
                            ": data failed an integrity check (restore the database from a " +
                            "backup or resynchronize it): " + text);
  }
  if (s.IsIOError()) {
    if (is_lock_held(s, text)) {
      return util::unavailable(what +
                               ": the store is in use: its LOCK file is held (is another process "
                               "using it, or is it already open in this one?): " +
                               text);
    }
    if (s.IsNoSpace()) return util::io_error(what + ": no space left on the device: " + text);
    if (contains(text, "Permission denied")) return util::permission_denied(what + ": " + text);
    if (s.IsPathNotFound()) return util::not_found(what + ": " + text);
    return util::io_error(what + ": " + text);
  }
  if (s.IsInvalidArgument()) {
    if (contains(text, "does not exist")) return util::not_found(what + ": " + text);
    if (contains(text, "error_if_exists")) return util::already_exists(what + ": " + text);
    return util::invalid_argument(what + ": " + text);
  }
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain() || s.IsShutdownInProgress()) {
    return util::unavailable(what + ": " + text);
  }
  if (s.IsNotSupported()) return util::failed_precondition(what + ": " + text);
  return util::internal_error(what + ": " + text);
}

util::Status from_error_code(const std::error_code& ec, const std::string& what) {
  if (ec == std::errc::permission_denied || ec == std::errc::operation_not_permitted) {
    return util::permission_denied(what + ": " + ec.message());
  }
  return util::io_error(what + ": " + ec.message());
}

rocksdb::WriteOptions to_rocks(WriteOptions options) {
  rocksdb::WriteOptions out;
  out.sync = options.sync;
  return out;
}

bool supports(const std::vector<rocksdb::CompressionType>& supported, rocksdb::CompressionType t) {
  return std::find(supported.begin(), supported.end(), t) != supported.end();
}

rocksdb::Options make_rocks_options(const RocksStore::Options& options) {
  rocksdb::Options out;
  out.create_if_missing = options.create_if_missing;
  out.error_if_exists = options.error_if_exists;
  out.paranoid_checks = options.paranoid_checks;
  out.max_open_files = options.max_open_files;
  out.write_buffer_size = options.write_buffer_bytes;
  out.IncreaseParallelism(std::max(options.background_threads, 2));
  out.max_background_jobs = std::max(options.background_threads, 2);
  out.level_compaction_dynamic_level_bytes = true;
  out.bytes_per_sync = size_t{1} << 20;
  out.keep_log_file_num = 4;  // RocksDB's own info logs (LOG, LOG.old.*)
  // The memtable remembers its last insert position per 3-byte key prefix ("s/…", "t/n", "c/t",
  // …); write() applies large batches in key order, so each insert starts next to the previous
  // one instead of searching the whole skip list (a block commit writes thousands of keys).
  out.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(3));

  rocksdb::CompressionType upper = rocksdb::kNoCompression;
  rocksdb::CompressionType bottom = rocksdb::kNoCompression;
  if (options.compression) {
    const std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
    if (supports(supported, rocksdb::kLZ4Compression)) {
      upper = rocksdb::kLZ4Compression;
    } else if (supports(supported, rocksdb::kSnappyCompression)) {
      upper = rocksdb::kSnappyCompression;
    }
    bottom = supports(supported, rocksdb::kZSTD) ? rocksdb::kZSTD : upper;
  }
  out.compression = upper;
  out.bottommost_compression = bottom;

  rocksdb::BlockBasedTableOptions table;
  if (options.block_cache_bytes > 0) {
    table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
    // Index and filter blocks count against the cache budget; L0's stay pinned (hot and small).
    table.cache_index_and_filter_blocks = true;
    table.pin_l0_filter_and_index_blocks_in_cache = true;
  } else {
    table.no_block_cache = true;
  }
  if (options.bloom_bits_per_key > 0) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(options.bloom_bits_per_key));
  }
  table.format_version = 5;
  out.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return out;
}

}  // namespace

// The open database. Owned jointly by the RocksStore and its snapshots and iterators; closed when
// the last of them goes away, after all RocksDB snapshots and iterators are released.
struct RocksStore::Db {
  Db(std::string p, std::unique_ptr<rocksdb::DB> d) : path(std::move(p)), db(std::move(d)) {}
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() {
    // Close() flushes nothing that the WAL does not already hold; a failure here cannot be
    // reported and leaves recovery to the next open.
    rocksdb::Status ignored = db->Close();
    (void)ignored;
  }

  std::string context(std::string_view operation) const {
    return "RocksDB at '" + path + "': " + std::string(operation);
  }

  const std::string path;
  const std::unique_ptr<rocksdb::DB> db;
};

// A RocksDB snapshot, released when the last KvSnapshot or iterator using it goes away.
struct RocksStore::SnapshotHandle {
  explicit SnapshotHandle(std::shared_ptr<Db> d)
      : db(std::move(d)), snapshot(db->db->GetSnapshot()) {}
  SnapshotHandle(const SnapshotHandle&) = delete;
  SnapshotHandle& operator=(const SnapshotHandle&) = delete;
  ~SnapshotHandle() { db->db->ReleaseSnapshot(snapshot); }

  const std::shared_ptr<Db> db;
  const rocksdb::Snapshot* const snapshot;
};

class RocksStore::Iterator final : public KvIterator {
 public:
  // Without a snapshot handle, RocksDB pins an implicit snapshot at creation.
  Iterator(std::shared_ptr<Db> db, std::shared_ptr<const SnapshotHandle> snapshot)
      : db_(std::move(db)), snapshot_(std::move(snapshot)) {
    rocksdb::ReadOptions read;
    if (snapshot_) read.snapshot = snapshot_->snapshot;
    it_.reset(db_->db->NewIterator(read));
  }

  void seek_to_first() override { it_->SeekToFirst(); }
  void seek(util::ByteSpan key) override { it_->Seek(to_slice(key)); }
  bool valid() const override { return it_->Valid(); }
  void next() override {
    assert(valid());
    it_->Next();
  }
  util::ByteSpan key() const override {
    assert(valid());
    return to_span(it_->key());
  }
  util::ByteSpan value() const override {
    assert(valid());
    return to_span(it_->value());
  }
  util::Status status() const override {
    return from_rocks(it_->status(), db_->context("iteration failed"));
  }

 private:
  // Destruction order matters: the RocksDB iterator goes first, then the snapshot, then the DB.
  std::shared_ptr<Db> db_;
  std::shared_ptr<const SnapshotHandle> snapshot_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

namespace {

util::Result<std::optional<util::Bytes>> read_key(rocksdb::DB& db, const rocksdb::ReadOptions& read,
                                                  util::ByteSpan key, const std::string& context) {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db.Get(read, db.DefaultColumnFamily(), to_slice(key), &value);
  if (s.IsNotFound()) return std::optional<util::Bytes>();
  if (!s.ok()) return from_rocks(s, context);
  util::ByteSpan span = to_span(value);
  return std::optional<util::Bytes>(util::Bytes(span.begin(), span.end()));
}

}  // namespace

class RocksStore::Snapshot final : public KvSnapshot {
 public:
  explicit Snapshot(std::shared_ptr<const SnapshotHandle> handle) : handle_(std::move(handle)) {}

  util::Result<std::optional<util::Bytes>> get(util::ByteSpan key) const override {
    rocksdb::ReadOptions read;
    read.snapshot = handle_->snapshot;
    return read_key(*handle_->db->db, read, key, handle_->db->context("get failed"));
  }
  std::unique_ptr<KvIterator> iterator() const override {
    return std::make_unique<Iterator>(handle_->db, handle_);
  }

 private:
  std::shared_ptr<const SnapshotHandle> handle_;
};

RocksStore::RocksStore(std::shared_ptr<Db> db) : db_(std::move(db)) {}

RocksStore::~RocksStore() = default;

util::Result<std::unique_ptr<RocksStore>> RocksStore::open(const std::string& path,
                                                           const Options& options) {
  if (path.empty()) return util::invalid_argument("cannot open RocksDB: the path is empty");
  const std::string what = "cannot open RocksDB at '" + path + "'";

  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) {
    if (!options.create_if_missing) {
      return util::not_found(what + ": no such directory (create_if_missing is off)");
    }
    fs::create_directories(path, ec);
    if (ec) return from_error_code(ec, what + ": cannot create the directory");
  } else if (ec) {
    return from_error_code(ec, what);
  } else if (st.type() != fs::file_type::directory) {
    return util::invalid_argument(what + ": the path exists but is not a directory");
  }

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(make_rocks_options(options), path, &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  if (!s.ok()) return from_rocks(s, what);
  return std::unique_ptr<RocksStore>(new RocksStore(std::make_shared<Db>(path, std::move(db))));
}

const std::string& RocksStore::path() const {
  return db_->path;
}

util::Result<std::optional<util::Bytes>> RocksStore::get(util::ByteSpan key) const {
  return read_key(*db_->db, rocksdb::ReadOptions(), key, db_->context("get failed"));
}

std::unique_ptr<KvIterator> RocksStore::iterator() const {
  return std::make_unique<Iterator>(db_, nullptr);
}

std::unique_ptr<KvSnapshot> RocksStore::snapshot() const {
  return std::make_unique<Snapshot>(std::make_shared<const SnapshotHandle>(db_));
}

util::Status RocksStore::put(util::ByteSpan key, util::ByteSpan value, WriteOptions options) {
  return from_rocks(db_->db->Put(to_rocks(options), to_slice(key), to_slice(value)),
                    db_->context("put failed"));
}

util::Status RocksStore::del(util::ByteSpan key, WriteOptions options) {
  return from_rocks(db_->db->Delete(to_rocks(options), to_slice(key)),
                    db_->context("delete failed"));
}

util::Status RocksStore::write(const WriteBatch& batch, WriteOptions options) {
  if (batch.empty()) return {};
  // Large batches go in key order (stable: operations on one key keep their order, so the result
  // is the same) to make use of the memtable's insert hints (make_rocks_options).
  const std::vector<WriteBatch::Op>& ops = batch.ops();
  std::vector<const WriteBatch::Op*> order;
  order.reserve(ops.size());
  for (const WriteBatch::Op& op : ops)
    order.push_back(&op);
  if (ops.size() >= kSortedBatchOps) {
    std::stable_sort(
        order.begin(), order.end(),
        [](const WriteBatch::Op* a, const WriteBatch::Op* b) { return a->key < b->key; });
  }
  rocksdb::WriteBatch rb;
  for (const WriteBatch::Op* op_ptr : order) {
    const WriteBatch::Op& op = *op_ptr;
    rocksdb::Status s;
    switch (op.type) {
      case WriteBatch::OpType::kPut:
        s = rb.Put(to_slice(op.key), to_slice(op.value));
        break;
      case WriteBatch::OpType::kDelete:
        s = rb.Delete(to_slice(op.key));
        break;
    }
    if (!s.ok()) return from_rocks(s, db_->context("building a write batch failed"));
  }
  return from_rocks(db_->db->Write(to_rocks(options), &rb), db_->context("batch write failed"));
}

util::Status RocksStore::flush() {
  return from_rocks(db_->db->Flush(rocksdb::FlushOptions()), db_->context("flush failed"));
}

}  // namespace imet::store

// ThreadSanitizer: Debian's RocksDB is not built with -fsanitize=thread, so TSan cannot see the
// atomics of its lock-free memtable and reports every concurrent read/write of it as a race.
// Those reports are about RocksDB's internals, not about our code; suppress them for every binary
// that links RocksStore. (TSan calls this hook at start-up; it exists only in TSan builds.)
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define IMET_STORE_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define IMET_STORE_TSAN 1
#endif
#ifdef IMET_STORE_TSAN
extern "C" const char* __tsan_default_suppressions();
extern "C" const char* __tsan_default_suppressions() {
  return "race:rocksdb::\n";
}
#endif
