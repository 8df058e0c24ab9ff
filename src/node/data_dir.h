// DataDir: the node's data directory, created with mode 0700 and locked for the life of the
// process so that two imetd never share one. Layout: imetd.lock, node_key.json, db/ (RocksDB),
// imetd.log.
// Thread-safety: immutable after open(); safe to read from any thread.
// Invariants: while a DataDir object lives, this process holds the exclusive lock on
// <dir>/imetd.lock; the kernel releases it if the process dies, so a crash never leaves a stale
// lock behind.
#pragma once

#include <string>

#include "util/fs.h"

namespace imet::node {

class DataDir {
 public:
  // Creates the directory if needed and takes the lock. A directory already locked by another
  // process gives kUnavailable with a message naming that process's pid.
  static util::Result<DataDir> open(const std::string& path);

  const std::string& path() const { return path_; }
  std::string node_key_path() const { return path_ + "/node_key.json"; }
  std::string db_path() const { return path_ + "/db"; }

 private:
  DataDir(std::string path, util::FileLock lock) : path_(std::move(path)), lock_(std::move(lock)) {}
  std::string path_;
  util::FileLock lock_;
};

}  // namespace imet::node
