// MessageLog: a node's access-point message log (SPEC 4 and 7). Every message the broker accepts is
// appended as a Record with a dense sequence number to an append-only, segmented log of plain
// files in one directory. Each segment has a Merkle root over its records' leaf hashes (RFC 6962
// over BLAKE2b, crypto/merkle.h), kept current incrementally while records are appended; when a
// segment is sealed its root goes into a small index file, to be anchored on chain (`anchor`) so
// anyone can check with prove()/verify_record() that a message passed through this node. Retention
// deletes whole sealed segments by age or total size. File formats: store/msglog/record.h and
// store/msglog/segment_format.h; design notes: docs/design/message-log.md.
//
// Costs: append() encodes into an in-memory buffer (no syscall, no allocation once the buffer has
// grown); flush() hashes the records appended since the last flush together (their leaf hashes,
// then the Merkle node hashes level by level, several per SIMD pass: crypto/blake2b_many.h) and
// writes the whole buffer with one pwrite; sync() = flush() + fdatasync. The buffer is also flushed
// when it exceeds Options::write_buffer_bytes.
//
// Crash recovery (open): the last segment is scanned; a torn or corrupt tail is truncated (logged
// with the number of bytes dropped) and the in-memory state (next seq, Merkle frontier, blocks) is
// rebuilt. Sealed segments are checked cheaply (index checksum, sizes, header); with
// Options::verify_sealed_on_open, or on demand with verify_segment(), their records are re-read and
// the root recomputed. A damaged sealed segment never stops the log: it is marked (SegmentInfo::
// problem), logged, and read()/prove() on it return kCorruption naming the file and offset.
//
// Thread-safety: ONE writer thread calls append/flush/sync/roll/maintain/apply_retention (they must
// not run concurrently with each other), and next_seq(). Any number of threads may call segments(),
// read(), prove(), verify_segment(), flushed_seq() and synced_seq() concurrently with the writer:
// the segment table is
// guarded by a mutex that the writer takes only once per flush, per completed 256-record block and
// per seal; readers copy what they need under it and then read files with their own descriptors
// (pread). Readers see records once they are flushed.
//
// Invariants: sequence numbers are dense across segments (segment k+1 starts at segment k's end)
// unless retention removed the oldest ones; a sealed segment's .idx exists only after its data was
// fdatasync'ed; the open segment is always the last one; after a write error the log refuses
// further writes (sticky error) until reopened, so a gap can never be papered over.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "crypto/blake2b_many.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "store/msglog/record.h"
#include "store/msglog/segment_format.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/result.h"
#include "util/status.h"

namespace imet::store::msglog {

struct Options {
  // A segment is sealed before an append would take it past any of these (a record larger than
  // segment_max_bytes gets a segment to itself). 0 disables the record and age limits.
  uint64_t segment_max_bytes = uint64_t{64} << 20;
  uint64_t segment_max_records = 0;
  // Age = record timestamp (or maintain()'s clock) minus the segment's first record timestamp.
  std::chrono::milliseconds segment_max_age{std::chrono::hours(1)};
  // Retention (0 = unlimited): delete the oldest sealed segments while the log's total size exceeds
  // retention_bytes, and sealed segments whose last record is older than retention_age. The open
  // segment is never deleted.
  uint64_t retention_bytes = 0;
  std::chrono::milliseconds retention_age{0};
  // flush() automatically once this many bytes are buffered.
  size_t write_buffer_bytes = size_t{1} << 20;
  // Re-read every sealed segment at open and check its records against its index root.
  bool verify_sealed_on_open = false;
  // The sequence number of the first record of a new, empty log (>= 1; 0 means "no record").
  uint64_t first_seq = 1;
  // Time source for maintain() (age-based sealing and retention). nullptr: the system clock.
  const util::Clock* clock = nullptr;
};

struct SegmentInfo {
  uint64_t first_seq = 0;
  uint64_t count = 0;  // records (for the open segment: flushed records)
  uint64_t bytes = 0;  // file size (open segment: flushed bytes)
  int64_t first_timestamp_ms = 0;
  int64_t last_timestamp_ms = 0;
  crypto::Hash256 root{};  // Merkle root over `count` records
  bool sealed = false;
  std::string path;
  std::string problem;  // non-empty: the segment is damaged (what and where)

  uint64_t end_seq() const { return first_seq + count; }
};

struct RecordProof {
  SegmentInfo segment;  // the segment (root and count) the proof is against
  crypto::MerkleProof proof;
};

// What open() found and repaired.
struct RecoveryReport {
  uint64_t truncated_bytes = 0;  // torn tail dropped from the last segment
  std::string truncation_reason;
  uint64_t records_recovered = 0;  // records found in the open segment
  size_t damaged_segments = 0;
  size_t removed_leftovers = 0;  // index/temporary files of half-finished deletions and seals
};

// Checks that `record` (with its seq) is in `segment` at the position `proof` claims:
// proof.index == record.seq - segment.first_seq, proof.leaf_count == segment.count, and the audit
// path leads from the record's leaf hash to segment.root. kInvalidArgument says which part failed.
util::Status verify_record(const Record& record, const SegmentInfo& segment,
                           const crypto::MerkleProof& proof);

class MessageLog {
 public:
  // Opens (creating if needed) the log in `dir`, recovering after a crash. kUnavailable if another
  // MessageLog (in any process) has it open; kCorruption only if the open segment cannot be
  // recovered at all (e.g. its header is damaged: the message says which file to move away).
  static util::Result<std::unique_ptr<MessageLog>> open(const std::string& dir,
                                                        const Options& options);
  ~MessageLog();  // flushes (no fdatasync); errors are logged
  MessageLog(const MessageLog&) = delete;
  MessageLog& operator=(const MessageLog&) = delete;

  // ---- writer ----
  // Buffers the record (seals the open segment first if a limit says so) and returns its seq.
  // kInvalidArgument for a record validate() rejects; the sticky error after a failed write.
  util::Result<uint64_t> append(const RecordView& record);
  util::Result<uint64_t> append(const Record& record) { return append(RecordView::of(record)); }
  // Writes buffered records to the segment file (one pwrite).
  util::Status flush();
  // flush() and fdatasync: every appended record is on stable storage when this returns OK.
  util::Status sync();
  // fdatasync of what was flushed so far (no flush). The one writer-side call that may run on
  // another thread, while the writer thread waits for it (the group committer overlaps it with the
  // KvStore's synced write).
  util::Status sync_flushed();
  // Seals the open segment now if it holds any record (e.g. before anchoring its root).
  util::Status roll();
  // Periodic work: seals the open segment if it is older than segment_max_age by the clock, then
  // applies retention. Call every few seconds from the writer thread.
  util::Status maintain();
  // Deletes sealed segments beyond the retention limits.
  util::Status apply_retention();
  // The seq the next append() will get (writer thread only).
  uint64_t next_seq() const { return next_seq_; }
  // Records below this seq have been handed to the OS.
  uint64_t flushed_seq() const;
  // Records below this seq are on stable storage.
  uint64_t synced_seq() const;

  // ---- readers (any thread) ----
  // All segments, oldest first; the last one is the open segment with its current (flushed) root.
  std::vector<SegmentInfo> segments() const;
  // The record with this seq. kNotFound if it was removed by retention or is not flushed yet;
  // kCorruption (naming the file and offset) if its segment is damaged.
  util::Result<Record> read(uint64_t seq) const;
  // Inclusion proof of record `seq` in its segment (for the open segment: against the flushed
  // records' current root).
  util::Result<RecordProof> prove(uint64_t seq) const;
  // Re-reads a segment (by its first seq) and checks every frame, the sequence numbers, the block
  // roots and the root against its index. On failure the segment is marked damaged.
  util::Status verify_segment(uint64_t first_seq) const;
  const RecoveryReport& recovery() const { return recovery_; }
  const std::string& dir() const { return dir_; }

 private:
  struct Segment {
    uint64_t first_seq = 0;
    uint64_t count = 0;  // published (flushed) records
    uint64_t bytes = 0;  // published file size
    int64_t first_ts = 0;
    int64_t last_ts = 0;
    crypto::Hash256 root{};  // sealed segments
    bool sealed = false;
    std::string path;
    std::string idx_path;
    std::string problem;
    // Open segment only: frontier at `count`, completed blocks, offset of the partial block.
    MerkleFrontier frontier;
    std::vector<BlockEntry> blocks;
    uint64_t partial_block_offset = 0;
  };

  MessageLog(std::string dir, const Options& options, util::FileLock lock);

  util::Status recover();
  util::Status recover_open_segment(Segment& seg);
  util::Status check_sealed(Segment& seg);
  util::Status create_segment(uint64_t first_seq);
  util::Status seal_open_segment();
  util::Status fail(util::Status st);
  // Hashes the buffered frames not hashed yet (many at once), sets their checks and adds them to
  // the frontier; records the blocks they complete.
  void hash_pending();
  SegmentInfo info_of(const Segment& seg) const;
  // Locates `seq`: copies the segment's info and the block entries needed; NotFound/Corruption.
  struct Located {
    SegmentInfo info;
    std::vector<BlockEntry> blocks;  // every block of the segment (partial one included)
    uint64_t block = 0;
  };
  util::Result<Located> locate(uint64_t seq) const;
  // Reads the frames of block loc.block; their leaf hashes go to *leaves, and the record `want`
  // (if non-zero) is decoded into *record.
  util::Status read_block(const Located& loc, uint64_t want, std::vector<crypto::Hash256>* leaves,
                          Record* record) const;
  void mark_damaged(uint64_t first_seq, const std::string& problem) const;

  const std::string dir_;
  const Options options_;
  const util::Clock& clock_;
  util::FileLock lock_;
  RecoveryReport recovery_;

  // Writer-only state (the open segment).
  int fd_ = -1;
  uint64_t next_seq_ = 0;
  uint64_t write_offset_ = 0;  // bytes in the file
  uint64_t open_first_seq_ = 0;
  uint64_t open_count_ = 0;  // including buffered records
  int64_t open_first_ts_ = 0;
  int64_t open_last_ts_ = 0;
  uint64_t block_offset_ = 0;  // file offset of the current block's first frame
  MerkleFrontier frontier_;    // of the hashed records (all of them after hash_pending())
  // Buffered frames not hashed yet (offsets in buf_), and the file offsets of the blocks whose
  // root the frontier has not produced yet (oldest first).
  std::vector<size_t> unhashed_;
  std::vector<uint64_t> open_block_offsets_;
  std::vector<crypto::Blake2bInput> hash_inputs_;
  std::vector<crypto::Hash256> hash_leaves_;
  std::vector<crypto::Hash256> done_blocks_;
  std::unique_ptr<uint8_t[]> buf_;
  size_t buf_len_ = 0;
  size_t buf_cap_ = 0;
  util::Status failed_;

  // Shared with readers.
  mutable std::mutex mu_;
  mutable std::vector<Segment> segments_;  // guarded by mu_; sorted by first_seq; last = open
  uint64_t flushed_seq_ = 0;               // guarded by mu_
  uint64_t synced_seq_ = 0;                // guarded by mu_
};

}  // namespace imet::store::msglog
