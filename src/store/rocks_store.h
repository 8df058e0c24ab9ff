// RocksStore: the persistent KvStore, a RocksDB database in one directory (default column family,
// bytewise comparator, so key order is the unsigned memcmp order KvStore promises).
//
// Opening: RocksStore::open(path, options) creates the directory (and missing parents) when
// create_if_missing is set. RocksDB holds an exclusive lock on <path>/LOCK while the database is
// open, so a second open of the same path, from this or another process, fails with kUnavailable
// ("... is in use ..."). Every error message names the path and the cause.
//
// Lifetime: the database stays open while the RocksStore or any snapshot or iterator created from
// it is alive (they share ownership of it). Destroying the RocksStore alone therefore does not
// release the LOCK if snapshots or iterators still exist; destroy them first before reopening.
//
// Durability: a write returns after it is in the write-ahead log; with WriteOptions::sync the log
// is also fsynced first. Writes of a crashed process are recovered from the log on the next open.
//
// Thread-safety: all KvStore/KvSnapshot members are safe to call concurrently (RocksDB is
// internally synchronized). Iterators are single-threaded cursors, as for every KvIterator.
// Invariants: a RocksStore object always refers to an open database (open() returns nothing
// otherwise). RocksDB types do not appear in this header; only rocks_store.cpp includes RocksDB.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "store/kv_store.h"

namespace imet::store {

class RocksStore final : public KvStore {
 public:
  struct Options {
    // Create the database (and its directory and missing parents) if absent. If false, opening a
    // path without a database fails with kNotFound.
    bool create_if_missing = true;
    // Fail with kAlreadyExists if a database is already there.
    bool error_if_exists = false;
    // Shared LRU cache for uncompressed data blocks.
    size_t block_cache_bytes = size_t{64} << 20;
    // Memtable size before it is flushed to an SST file.
    size_t write_buffer_bytes = size_t{32} << 20;
    // Bloom filter bits per key for point lookups (about 1% false positives at 10); 0 disables.
    double bloom_bits_per_key = 10.0;
    // Compress data blocks: LZ4 for upper levels and ZSTD for the bottommost one when the
    // RocksDB build supports them (Snappy otherwise).
    bool compression = true;
    // Verify checksums aggressively and refuse to open a database with detected corruption.
    bool paranoid_checks = true;
    // Background flush/compaction threads.
    int background_threads = 2;
    // Open SST file handles kept (-1: unlimited).
    int max_open_files = 512;
  };

  // Opens (or creates) the database at `path`. Errors: kUnavailable if another RocksStore or
  // process has it open; kNotFound if absent and !create_if_missing; kInvalidArgument if `path` is
  // not a directory; kCorruption for damaged files; kPermissionDenied / kIoError for the OS.
  static util::Result<std::unique_ptr<RocksStore>> open(const std::string& path,
                                                        const Options& options);
  static util::Result<std::unique_ptr<RocksStore>> open(const std::string& path) {
    return open(path, Options{});
  }

  ~RocksStore() override;

  util::Result<std::optional<util::Bytes>> get(util::ByteSpan key) const override;
  std::unique_ptr<KvIterator> iterator() const override;

  util::Status put(util::ByteSpan key, util::ByteSpan value, WriteOptions options = {}) override;
  util::Status del(util::ByteSpan key, WriteOptions options = {}) override;
  util::Status write(const WriteBatch& batch, WriteOptions options = {}) override;
  std::unique_ptr<KvSnapshot> snapshot() const override;

  // Writes the memtable to an SST file and waits for it (tests, benchmarks, before backups).
  util::Status flush();

  const std::string& path() const;

 private:
  // Defined in rocks_store.cpp. Db is the open database, shared with snapshots and iterators.
  struct Db;
  struct SnapshotHandle;
  class Iterator;
  class Snapshot;

  explicit RocksStore(std::shared_ptr<Db> db);

  std::shared_ptr<Db> db_;  // never null
};

}  // namespace imet::store
