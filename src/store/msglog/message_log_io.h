// Internal helpers of MessageLog (message_log*.cpp only; not part of the msglog interface): POSIX
// write/sync helpers with util::Status errors, and the full scan of a segment file used by
// recovery and verification.
// Thread-safety: the functions hold no state; scan_file reads the file through its own
// SegmentReader. Invariants: scan_file stops at the first bad frame and reports why in
// ScanState::stop_reason, never past `limit`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/msglog/segment_format.h"
#include "util/status.h"

namespace imet::store::msglog::detail {

std::string errno_text(int err);
// Writes all `n` bytes at `offset`, retrying short writes and EINTR.
util::Status pwrite_all(int fd, const uint8_t* data, size_t n, uint64_t offset);
// fsyncs a directory (so a created or renamed file's entry is durable).
util::Status fsync_dir(const std::string& dir);

// Everything a full scan of a segment file learns.
struct ScanState {
  uint64_t first_seq = 0;
  uint64_t count = 0;
  uint64_t valid_bytes = kSegmentHeaderBytes;  // end of the last good frame
  uint64_t file_size = 0;
  int64_t first_ts = 0;
  int64_t last_ts = 0;
  MerkleFrontier frontier;
  std::vector<BlockEntry> blocks;  // completed blocks
  uint64_t partial_block_offset = kSegmentHeaderBytes;
  std::string stop_reason;  // empty: the scan reached the limit at a frame boundary
};

// Scans `path` (up to `limit` bytes if given). Header and I/O problems are errors; a bad frame
// stops the scan with stop_reason set.
util::Status scan_file(const std::string& path, uint64_t expected_first_seq,
                       std::optional<uint64_t> limit, ScanState* out);

}  // namespace imet::store::msglog::detail
