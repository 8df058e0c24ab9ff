#include "store/msglog/segment_format.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/blake2b_many.h"
#include "crypto/merkle.h"
#include "store/msglog/record.h"

namespace imet::store::msglog {

namespace {

constexpr char kSegmentMagic[8] = {'I', 'M', 'E', 'T', 'M', 'L', 'O', 'G'};
constexpr char kIndexMagic[8] = {'I', 'M', 'E', 'T', 'M', 'I', 'D', 'X'};
constexpr uint32_t kVersion = 1;
constexpr size_t kIndexFixedBytes = 96;
constexpr size_t kIndexBlockBytes = 40;
constexpr size_t kReadChunk = size_t{1} << 20;

std::string numbered_name(uint64_t first_seq, const char* ext) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "seg-%020llu.%s", static_cast<unsigned long long>(first_seq), ext);
  return buf;
}

std::optional<uint64_t> parse_numbered(const std::string& name, const char* ext) {
  const std::string suffix = std::string(".") + ext;
  if (name.size() != 4 + 20 + suffix.size()) return std::nullopt;
  if (name.compare(0, 4, "seg-") != 0 || name.compare(24, suffix.size(), suffix) != 0) {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (size_t i = 4; i < 24; ++i) {
    const char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace

std::string segment_file_name(uint64_t first_seq) {
  return numbered_name(first_seq, "log");
}
std::string index_file_name(uint64_t first_seq) {
  return numbered_name(first_seq, "idx");
}
std::optional<uint64_t> parse_segment_file_name(const std::string& name) {
  return parse_numbered(name, "log");
}
std::optional<uint64_t> parse_index_file_name(const std::string& name) {
  return parse_numbered(name, "idx");
}

util::ByteArray<kSegmentHeaderBytes> encode_segment_header(uint64_t first_seq) {
  util::ByteArray<kSegmentHeaderBytes> h{};
  std::memcpy(h.data(), kSegmentMagic, 8);
  put_u32(h.data() + 8, kVersion);
  put_u32(h.data() + 12, static_cast<uint32_t>(kSegmentHeaderBytes));
  put_u64(h.data() + 16, first_seq);
  const crypto::Hash256 check = crypto::blake2b_256({h.data(), 24});
  std::memcpy(h.data() + 24, check.data(), 8);
  return h;
}

util::Result<uint64_t> decode_segment_header(util::ByteSpan header) {
  if (header.size() < kSegmentHeaderBytes) {
    return util::corruption("segment header is " + std::to_string(header.size()) +
                            " bytes, expected 32");
  }
  if (std::memcmp(header.data(), kSegmentMagic, 8) != 0) {
    return util::corruption("segment header has the wrong magic (not an IMET message log segment)");
  }
  const crypto::Hash256 check = crypto::blake2b_256(header.first(24));
  if (std::memcmp(header.data() + 24, check.data(), 8) != 0) {
    return util::corruption("segment header checksum mismatch");
  }
  const uint32_t version = get_u32(header.data() + 8);
  if (version != kVersion) {
    return util::corruption("segment format version " + std::to_string(version) +
                            " is not supported (expected 1)");
  }
  if (get_u32(header.data() + 12) != kSegmentHeaderBytes) {
    return util::corruption("segment header length field is not 32");
  }
  return get_u64(header.data() + 16);
}

std::string encode_index(const SealedIndex& index) {
  std::string out(kIndexFixedBytes + kIndexBlockBytes * index.blocks.size() + 32, '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  std::memcpy(p, kIndexMagic, 8);
  put_u32(p + 8, kVersion);
  put_u32(p + 12, static_cast<uint32_t>(kBlockLeaves));
  put_u64(p + 16, index.first_seq);
  put_u64(p + 24, index.count);
  put_u64(p + 32, index.bytes);
  put_u64(p + 40, static_cast<uint64_t>(index.first_timestamp_ms));
  put_u64(p + 48, static_cast<uint64_t>(index.last_timestamp_ms));
  std::memcpy(p + 56, index.root.data(), 32);
  put_u64(p + 88, index.blocks.size());
  uint8_t* q = p + kIndexFixedBytes;
  for (const BlockEntry& b : index.blocks) {
    put_u64(q, b.offset);
    std::memcpy(q + 8, b.root.data(), 32);
    q += kIndexBlockBytes;
  }
  const crypto::Hash256 check = crypto::blake2b_256({p, static_cast<size_t>(q - p)});
  std::memcpy(q, check.data(), 32);
  return out;
}

util::Result<SealedIndex> decode_index(util::ByteSpan data, const std::string& what) {
  auto bad = [&](const std::string& why) { return util::corruption(what + ": " + why); };
  if (data.size() < kIndexFixedBytes + 32) {
    return bad("sealed-segment index is " + std::to_string(data.size()) + " bytes, too short");
  }
  const uint8_t* p = data.data();
  if (std::memcmp(p, kIndexMagic, 8) != 0) return bad("sealed-segment index has the wrong magic");
  const crypto::Hash256 check = crypto::blake2b_256(data.first(data.size() - 32));
  if (std::memcmp(data.data() + data.size() - 32, check.data(), 32) != 0) {
    return bad("sealed-segment index checksum mismatch");
  }
  if (get_u32(p + 8) != kVersion) return bad("unsupported index version");
  if (get_u32(p + 12) != kBlockLeaves) return bad("unsupported Merkle block size");
  SealedIndex index;
  index.first_seq = get_u64(p + 16);
  index.count = get_u64(p + 24);
  index.bytes = get_u64(p + 32);
  index.first_timestamp_ms = static_cast<int64_t>(get_u64(p + 40));
  index.last_timestamp_ms = static_cast<int64_t>(get_u64(p + 48));
  std::memcpy(index.root.data(), p + 56, 32);
  const uint64_t block_count = get_u64(p + 88);
  const uint64_t expected_blocks = (index.count + kBlockLeaves - 1) / kBlockLeaves;
  if (block_count != expected_blocks) {
    return bad("index lists " + std::to_string(block_count) + " Merkle blocks for " +
               std::to_string(index.count) + " records (expected " +
               std::to_string(expected_blocks) + ")");
  }
  if ((data.size() - kIndexFixedBytes - 32) / kIndexBlockBytes != block_count ||
      (data.size() - kIndexFixedBytes - 32) % kIndexBlockBytes != 0) {
    return bad("index size does not match its block count");
  }
  if (index.count == 0) return bad("a sealed segment must hold at least one record");
  if (index.first_seq == 0 || index.first_seq > UINT64_MAX - index.count) {
    return bad("index sequence range is invalid");
  }
  const uint8_t* q = p + kIndexFixedBytes;
  index.blocks.resize(block_count);
  std::vector<crypto::Hash256> roots(block_count);
  uint64_t prev = 0;
  for (uint64_t i = 0; i < block_count; ++i) {
    index.blocks[i].offset = get_u64(q);
    std::memcpy(index.blocks[i].root.data(), q + 8, 32);
    roots[i] = index.blocks[i].root;
    const uint64_t off = index.blocks[i].offset;
    if ((i == 0 && off != kSegmentHeaderBytes) || (i > 0 && off <= prev) || off >= index.bytes) {
      return bad("Merkle block " + std::to_string(i) + " has an impossible file offset " +
                 std::to_string(off));
    }
    prev = off;
    q += kIndexBlockBytes;
  }
  if (crypto::merkle_root(roots) != index.root) {
    return bad("segment root does not match the Merkle block roots");
  }
  return index;
}

// ---- MerkleFrontier ----

bool MerkleFrontier::push(const crypto::Hash256& leaf, crypto::Hash256* block_root) {
  crypto::Hash256 h = leaf;
  bool block_done = false;
  unsigned level = 0;
  for (uint64_t c = count_; (c & 1) != 0; c >>= 1) {
    h = crypto::merkle_node_hash(nodes_[--n_], h);
    if (++level == kBlockLevel) {
      *block_root = h;
      block_done = true;
    }
  }
  nodes_[n_++] = h;
  ++count_;
  return block_done;
}

void MerkleFrontier::push_many(std::span<const crypto::Hash256> leaves,
                               std::vector<crypto::Hash256>* block_roots) {
  constexpr size_t kBatchFrom = 4;  // fewer pairs than this in a level: one hash at a time
  if (leaves.size() < kBatchFrom) {
    for (const crypto::Hash256& leaf : leaves) {
      crypto::Hash256 block_root;
      if (push(leaf, &block_root)) block_roots->push_back(block_root);
    }
    return;
  }
  // The frontier node of each level (bit j of count_ set: nodes_ holds them highest level first).
  std::array<crypto::Hash256, 64> edge;
  {
    size_t i = 0;
    for (int j = 63; j >= 0; --j) {
      if ((count_ >> j) & 1) edge[static_cast<size_t>(j)] = nodes_[i++];
    }
  }
  const uint64_t new_count = count_ + leaves.size();
  thread_local std::vector<crypto::Hash256> level;
  thread_local std::vector<crypto::Hash256> parents;
  thread_local std::vector<crypto::Blake2bInput> inputs;
  level.clear();
  uint64_t first = count_;  // index within its level of the first new node
  if (first & 1) level.push_back(edge[0]);
  level.insert(level.end(), leaves.begin(), leaves.end());
  for (unsigned j = 0; !level.empty(); ++j) {
    // level = the nodes of level j from index (first & ~1) on; pair them up.
    const size_t pairs = level.size() / 2;
    parents.resize(pairs);
    if (pairs < kBatchFrom) {
      for (size_t p = 0; p < pairs; ++p)
        parents[p] = crypto::merkle_node_hash(level[2 * p], level[2 * p + 1]);
    } else {
      inputs.resize(pairs);
      for (size_t p = 0; p < pairs; ++p)
        inputs[p] = {util::ByteSpan(level[2 * p].data(), 64), 0x01, true};
      crypto::blake2b_256_many(inputs, parents);
    }
    if (j + 1 == kBlockLevel)
      block_roots->insert(block_roots->end(), parents.begin(), parents.end());
    if (level.size() % 2 != 0) edge[j] = level.back();
    first >>= 1;
    level.clear();
    if (pairs == 0) break;
    if (first & 1) level.push_back(edge[j + 1]);
    level.insert(level.end(), parents.begin(), parents.end());
  }
  count_ = new_count;
  n_ = 0;
  for (int j = 63; j >= 0; --j) {
    if ((count_ >> j) & 1) nodes_[n_++] = edge[static_cast<size_t>(j)];
  }
}

crypto::Hash256 MerkleFrontier::fold(size_t from) const {
  crypto::Hash256 r = nodes_[n_ - 1];
  for (size_t i = n_ - 1; i > from; --i)
    r = crypto::merkle_node_hash(nodes_[i - 1], r);
  return r;
}

crypto::Hash256 MerkleFrontier::root() const {
  if (n_ == 0) return crypto::blake2b_256({});
  return fold(0);
}

crypto::Hash256 MerkleFrontier::partial_block_root() const {
  // The nodes of the partial block are those for the set bits below kBlockLevel.
  const unsigned partial_nodes = static_cast<unsigned>(std::popcount(count_ & (kBlockLeaves - 1)));
  return fold(n_ - partial_nodes);
}

// ---- SegmentReader ----

SegmentReader::SegmentReader(int fd, std::string path, uint64_t size)
    : fd_(fd), path_(std::move(path)), file_size_(size), limit_(size) {}

SegmentReader::SegmentReader(SegmentReader&& other) noexcept
    : fd_(other.fd_),
      path_(std::move(other.path_)),
      file_size_(other.file_size_),
      limit_(other.limit_),
      pos_(other.pos_),
      seq_(other.seq_),
      buf_(std::move(other.buf_)),
      buf_pos_(other.buf_pos_),
      buf_len_(other.buf_len_) {
  other.fd_ = -1;
}

SegmentReader& SegmentReader::operator=(SegmentReader&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
    path_ = std::move(other.path_);
    file_size_ = other.file_size_;
    limit_ = other.limit_;
    pos_ = other.pos_;
    seq_ = other.seq_;
    buf_ = std::move(other.buf_);
    buf_pos_ = other.buf_pos_;
    buf_len_ = other.buf_len_;
  }
  return *this;
}

SegmentReader::~SegmentReader() {
  if (fd_ >= 0) ::close(fd_);
}

util::Result<SegmentReader> SegmentReader::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return util::not_found("message log segment '" + path + "' does not exist");
    return util::io_error("cannot open message log segment '" + path + "': " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return util::io_error("message log segment '" + path + "' is not a regular file");
  }
  return SegmentReader(fd, path, static_cast<uint64_t>(st.st_size));
}

bool SegmentReader::fill(uint64_t pos, size_t n, std::string* why) {
  if (pos >= buf_pos_ && pos + n <= buf_pos_ + buf_len_) return true;
  const size_t want = std::max(n, kReadChunk);
  if (buf_.size() < want) buf_.resize(want);
  buf_pos_ = pos;
  buf_len_ = 0;
  while (buf_len_ < n) {
    const ssize_t r =
        ::pread(fd_, buf_.data() + buf_len_, want - buf_len_, static_cast<off_t>(pos + buf_len_));
    if (r < 0) {
      if (errno == EINTR) continue;
      *why = "read error: " + std::string(std::strerror(errno));
      return false;
    }
    if (r == 0) {
      *why = "file ended early";
      return false;
    }
    buf_len_ += static_cast<size_t>(r);
  }
  return true;
}

util::Result<uint64_t> SegmentReader::read_header() {
  std::string why;
  if (file_size_ < kSegmentHeaderBytes) {
    return util::corruption("message log segment '" + path_ + "' is " + std::to_string(file_size_) +
                            " bytes, shorter than its header");
  }
  if (!fill(0, kSegmentHeaderBytes, &why)) {
    return util::io_error("message log segment '" + path_ + "': " + why);
  }
  auto first = decode_segment_header({buf_.data(), kSegmentHeaderBytes});
  if (!first.ok()) {
    return util::corruption("message log segment '" + path_ + "': " + first.status().message());
  }
  pos_ = kSegmentHeaderBytes;
  seq_ = *first;
  limit_ = file_size_;
  return *first;
}

void SegmentReader::seek(uint64_t offset, uint64_t seq, std::optional<uint64_t> limit) {
  pos_ = offset;
  seq_ = seq;
  limit_ = std::min(limit.value_or(file_size_), file_size_);
}

SegmentReader::Next SegmentReader::next(Frame* frame, std::string* why) {
  if (pos_ == limit_) return Next::kEnd;
  if (pos_ > limit_) {
    *why = "frame position is past the end of the segment";
    return Next::kBad;
  }
  const uint64_t remaining = limit_ - pos_;
  if (remaining < kFrameHeaderBytes) {
    *why = "torn frame header (" + std::to_string(remaining) + " of 8 bytes)";
    return Next::kBad;
  }
  if (!fill(pos_, kFrameHeaderBytes, why)) return Next::kBad;
  const FrameHeader header = parse_frame_header({buf_.data() + (pos_ - buf_pos_), 8});
  if (header.body_len < kBodyFixedBytes || header.body_len > kMaxBodyBytes) {
    *why = "frame length " + std::to_string(header.body_len) + " is impossible";
    return Next::kBad;
  }
  if (header.body_len > remaining - kFrameHeaderBytes) {
    *why = "torn frame (body of " + std::to_string(header.body_len) + " bytes, only " +
           std::to_string(remaining - kFrameHeaderBytes) + " present)";
    return Next::kBad;
  }
  const size_t total = kFrameHeaderBytes + header.body_len;
  if (!fill(pos_, total, why)) return Next::kBad;
  const util::ByteSpan body{buf_.data() + (pos_ - buf_pos_) + kFrameHeaderBytes, header.body_len};
  const crypto::Hash256 leaf = crypto::merkle_leaf_hash(body);
  if (frame_check(leaf) != header.check) {
    *why = "frame checksum mismatch";
    return Next::kBad;
  }
  if (util::Status st = check_body(body); !st.ok()) {
    *why = st.message();
    return Next::kBad;
  }
  const uint64_t seq = body_seq(body);
  if (seq != seq_) {
    *why = "record sequence " + std::to_string(seq) + " where " + std::to_string(seq_) +
           " was expected";
    return Next::kBad;
  }
  frame->offset = pos_;
  frame->seq = seq;
  frame->timestamp_ms = body_timestamp_ms(body);
  frame->body = body;
  frame->leaf = leaf;
  pos_ += total;
  ++seq_;
  return Next::kRecord;
}

}  // namespace imet::store::msglog
