// Small filesystem helpers with Status errors: whole-file reads, crash-safe writes that never
// overwrite or that replace atomically, and an exclusive advisory lock on a file (used to lock
// data dirs).
// Thread-safety: functions are reentrant; FileLock is movable, not copyable, not shared.
// Invariants: write_file_new() either leaves no file at `path` (error) or a complete file with the
// given contents and mode that was fsynced before becoming visible; it never replaces an existing
// file. write_file_replace() leaves either the old file or the complete, fsynced new one. A held
// FileLock is released when destroyed (or when the process dies, by the kernel).
#pragma once

#include <string>

#include <sys/types.h>

#include "util/bytes.h"

namespace imet::util {

// Reads a whole file, refusing files larger than max_bytes.
Result<std::string> read_file(const std::string& path, size_t max_bytes = 16 << 20);

// Creates `path` with `contents` and permissions `mode`, atomically and without overwriting:
// writes a temporary file in the same directory, fsyncs it, hard-links it into place (fails with
// kAlreadyExists if `path` exists), fsyncs the directory.
Status write_file_new(const std::string& path, std::string_view contents, mode_t mode = 0600);

// Creates or replaces `path` with `contents` atomically: a temporary file in the same directory,
// fsynced, renamed over `path`, then the directory fsynced. Readers see the old or the new file.
Status write_file_replace(const std::string& path, std::string_view contents, mode_t mode = 0600);

// Creates a directory (and parents) with `mode` if missing; error if it exists and is not a
// directory.
Status ensure_dir(const std::string& path, mode_t mode = 0700);

class FileLock {
 public:
  // Opens/creates `path` and takes an exclusive non-blocking flock. On success writes the pid into
  // the file. If another process holds it: kUnavailable, and `holder_pid` gets the pid it recorded.
  static Result<FileLock> acquire(const std::string& path, std::string* holder_pid = nullptr);
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace imet::util
