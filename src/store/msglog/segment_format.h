// On-disk pieces of the message log besides the record frame (store/msglog/record.h): segment file
// names, the segment file header, the sealed-segment index file, the incremental Merkle frontier
// that keeps a segment's root current as records are appended, and a buffered sequential reader of
// segment files used by recovery, verification, read() and prove().
//
// Files in the log directory:
//   seg-<first seq, 20 digits>.log   header (32 bytes) followed by record frames
//   seg-<first seq, 20 digits>.idx   present iff the segment is sealed (see SealedIndex)
//   LOCK                             flock held while a MessageLog has the directory open
// Segment header: magic "IMETMLOG" | version u32 = 1 | header_len u32 = 32 | first_seq u64
//                 | check u64 (first 8 bytes of BLAKE2b-256 of the 24 bytes before it).
//
// Merkle blocks: a segment's leaves are grouped in aligned blocks of kBlockLeaves (256). In the
// RFC 6962 tree every aligned block (and the trailing partial block) is a subtree, and the root of
// the segment equals crypto::merkle_root over the block roots. The index stores every block's
// root and file offset, so a proof needs only one block's records plus the stored block roots.
//
// Thread-safety: free functions are pure; MerkleFrontier and SegmentReader are values used by one
// thread at a time.
// Invariants: MerkleFrontier::root() == crypto::merkle_root(all leaves pushed) at every point;
// decode_index accepts exactly what encode_index produces (checksum, sizes, block count, root).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "crypto/hash.h"
#include "util/bytes.h"
#include "util/result.h"

namespace imet::store::msglog {

inline constexpr size_t kSegmentHeaderBytes = 32;
inline constexpr unsigned kBlockLevel = 8;
inline constexpr uint64_t kBlockLeaves = uint64_t{1} << kBlockLevel;

std::string segment_file_name(uint64_t first_seq);  // "seg-00000000000000000001.log"
std::string index_file_name(uint64_t first_seq);    // "seg-00000000000000000001.idx"
// Parses "seg-<20 digits>.log" / ".idx"; nullopt for any other name.
std::optional<uint64_t> parse_segment_file_name(const std::string& name);
std::optional<uint64_t> parse_index_file_name(const std::string& name);

util::ByteArray<kSegmentHeaderBytes> encode_segment_header(uint64_t first_seq);
// Returns first_seq, or kCorruption describing what is wrong (magic, version, check).
util::Result<uint64_t> decode_segment_header(util::ByteSpan header);

struct BlockEntry {
  uint64_t offset = 0;  // file offset of the block's first frame
  crypto::Hash256 root{};

  bool operator==(const BlockEntry&) const = default;
};

// Contents of a sealed segment's .idx file.
struct SealedIndex {
  uint64_t first_seq = 0;
  uint64_t count = 0;
  uint64_t bytes = 0;  // segment file size, header included
  int64_t first_timestamp_ms = 0;
  int64_t last_timestamp_ms = 0;
  crypto::Hash256 root{};
  std::vector<BlockEntry> blocks;  // ceil(count / kBlockLeaves) entries

  bool operator==(const SealedIndex&) const = default;
};

std::string encode_index(const SealedIndex& index);
// Strict: kCorruption naming `what` (usually the file path) and the defect.
util::Result<SealedIndex> decode_index(util::ByteSpan data, const std::string& what);

// The right edge of an RFC 6962 tree being built leaf by leaf: the roots of the perfect subtrees
// that make up the leaves so far (one per set bit of count, largest first). Amortized one node hash
// per leaf; root() costs O(log count).
class MerkleFrontier {
 public:
  // Adds a leaf. Returns true and sets *block_root when the leaf completes an aligned block of
  // kBlockLeaves leaves (that block's subtree root).
  bool push(const crypto::Hash256& leaf, crypto::Hash256* block_root);
  // Adds many leaves: the same tree as push() one by one, but the node hashes of each level are
  // computed together (crypto::blake2b_256_many). The roots of the aligned blocks the leaves
  // complete are appended to *block_roots in order.
  void push_many(std::span<const crypto::Hash256> leaves,
                 std::vector<crypto::Hash256>* block_roots);
  uint64_t count() const { return count_; }
  // crypto::merkle_root of all leaves (BLAKE2b-256("") when empty).
  crypto::Hash256 root() const;
  // Root of the trailing partial block (count % kBlockLeaves leaves); precondition: that is > 0.
  crypto::Hash256 partial_block_root() const;

 private:
  // Folds nodes_[from, n_) right to left.
  crypto::Hash256 fold(size_t from) const;

  uint64_t count_ = 0;
  size_t n_ = 0;
  std::array<crypto::Hash256, 64> nodes_{};
};

// One frame read from a segment file; body is valid until the next call on the reader.
struct Frame {
  uint64_t offset = 0;  // of the frame header
  uint64_t seq = 0;
  int64_t timestamp_ms = 0;
  util::ByteSpan body;
  crypto::Hash256 leaf{};
};

// Buffered sequential reader of one segment file (pread on its own descriptor).
class SegmentReader {
 public:
  enum class Next { kRecord, kEnd, kBad };

  // Opens `path` read-only. kNotFound if it does not exist.
  static util::Result<SegmentReader> open(const std::string& path);
  SegmentReader(SegmentReader&& other) noexcept;
  SegmentReader& operator=(SegmentReader&& other) noexcept;
  SegmentReader(const SegmentReader&) = delete;
  SegmentReader& operator=(const SegmentReader&) = delete;
  ~SegmentReader();

  uint64_t file_size() const { return file_size_; }
  const std::string& path() const { return path_; }
  // Reads and checks the header; on success the reader is positioned at the first frame.
  util::Result<uint64_t> read_header();
  // Positions at `offset`, expecting the frame of record `seq` there, and reads no further than
  // `limit` (a file offset; the file size by default).
  void seek(uint64_t offset, uint64_t seq, std::optional<uint64_t> limit = std::nullopt);
  // kRecord: *frame is the next record (checksum, strict body check and expected seq verified).
  // kEnd: the limit was reached exactly at a frame boundary. kBad: a torn or corrupt frame at
  // offset(); *why says what (the reader stays there).
  Next next(Frame* frame, std::string* why);
  // File offset of the next frame.
  uint64_t offset() const { return pos_; }
  uint64_t expected_seq() const { return seq_; }

 private:
  SegmentReader(int fd, std::string path, uint64_t size);
  // Makes [pos, pos + n) available in the buffer; false on an I/O error (sets *why).
  bool fill(uint64_t pos, size_t n, std::string* why);

  int fd_ = -1;
  std::string path_;
  uint64_t file_size_ = 0;
  uint64_t limit_ = 0;
  uint64_t pos_ = 0;
  uint64_t seq_ = 0;
  util::Bytes buf_;
  uint64_t buf_pos_ = 0;  // file offset of buf_[0]
  size_t buf_len_ = 0;
};

}  // namespace imet::store::msglog
