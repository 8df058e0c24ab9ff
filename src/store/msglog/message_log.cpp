// MessageLog: opening, the error latch, segment creation and the writer (append, flush, sync,
// seal, roll, maintenance and retention). Recovery: message_log_recovery.cpp; readers and proofs:
// message_log_read.cpp.
#include "store/msglog/message_log.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include "store/msglog/message_log_io.h"
#include "util/log.h"

namespace imet::store::msglog {

using detail::errno_text;
using detail::fsync_dir;
using detail::pwrite_all;

MessageLog::MessageLog(std::string dir, const Options& options, util::FileLock lock)
    : dir_(std::move(dir)),
      options_(options),
      clock_(options.clock != nullptr ? *options.clock : util::SystemClock::instance()),
      lock_(std::move(lock)) {}

MessageLog::~MessageLog() {
  if (fd_ >= 0) {
    if (failed_.ok()) {
      if (util::Status st = flush(); !st.ok()) {
        util::log::error("message log: flush at close failed",
                         {{"dir", dir_}, {"error", st.message()}});
      }
    }
    ::close(fd_);
  }
}

util::Result<std::unique_ptr<MessageLog>> MessageLog::open(const std::string& dir,
                                                           const Options& options) {
  if (options.first_seq == 0) {
    return util::invalid_argument("message log '" + dir +
                                  "': Options::first_seq must be at least 1 (0 means no record)");
  }
  IMET_TRY(util::ensure_dir(dir));
  auto lock = util::FileLock::acquire(dir + "/LOCK");
  if (!lock.ok()) return lock.status().with_context("message log '" + dir + "'");
  std::unique_ptr<MessageLog> log(new MessageLog(dir, options, std::move(lock).value()));
  IMET_TRY(log->recover());
  return log;
}

util::Status MessageLog::fail(util::Status st) {
  failed_ = util::Status(st.code(),
                         "message log is stopped after an earlier error (reopen it to "
                         "recover): " +
                             st.message());
  util::log::error("message log: write failed", {{"dir", dir_}, {"error", st.message()}});
  return st;
}

util::Status MessageLog::create_segment(uint64_t first_seq) {
  Segment seg;
  seg.first_seq = first_seq;
  seg.path = dir_ + "/" + segment_file_name(first_seq);
  seg.idx_path = dir_ + "/" + index_file_name(first_seq);
  const int fd = ::open(seg.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return util::io_error("cannot create message log segment '" + seg.path +
                          "': " + errno_text(errno));
  }
  const auto header = encode_segment_header(first_seq);
  util::Status st = pwrite_all(fd, header.data(), header.size(), 0);
  if (st.ok() && ::fdatasync(fd) != 0) st = util::io_error(errno_text(errno));
  if (st.ok()) st = fsync_dir(dir_);
  if (!st.ok()) {
    ::close(fd);
    return st.with_context("cannot create message log segment '" + seg.path + "'");
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  write_offset_ = kSegmentHeaderBytes;
  open_first_seq_ = first_seq;
  open_count_ = 0;
  open_first_ts_ = 0;
  open_last_ts_ = 0;
  block_offset_ = kSegmentHeaderBytes;
  frontier_ = MerkleFrontier();
  unhashed_.clear();
  open_block_offsets_.clear();
  next_seq_ = first_seq;
  seg.bytes = kSegmentHeaderBytes;
  seg.partial_block_offset = kSegmentHeaderBytes;
  std::lock_guard lk(mu_);
  segments_.push_back(std::move(seg));
  flushed_seq_ = first_seq;
  synced_seq_ = first_seq;
  return {};
}

// ---- writer ----

util::Result<uint64_t> MessageLog::append(const RecordView& record) {
  if (!failed_.ok()) return failed_;
  IMET_TRY(validate(record));
  const size_t n = frame_size(record);
  if (open_count_ > 0) {
    const bool full = write_offset_ + buf_len_ + n > options_.segment_max_bytes;
    const bool many =
        options_.segment_max_records != 0 && open_count_ >= options_.segment_max_records;
    const bool old = options_.segment_max_age.count() > 0 &&
                     record.timestamp_ms - open_first_ts_ >= options_.segment_max_age.count();
    if (full || many || old) IMET_TRY(seal_open_segment());
  }
  if (buf_len_ + n > buf_cap_) {
    const size_t cap = std::max({buf_cap_ * 2, buf_len_ + n, options_.write_buffer_bytes + 4096});
    std::unique_ptr<uint8_t[]> grown(new uint8_t[cap]);
    if (buf_len_ != 0) std::memcpy(grown.get(), buf_.get(), buf_len_);
    buf_ = std::move(grown);
    buf_cap_ = cap;
  }
  const uint64_t seq = next_seq_;
  if (open_count_ % kBlockLeaves == 0) {
    block_offset_ = write_offset_ + buf_len_;
    open_block_offsets_.push_back(block_offset_);
  }
  encode_frame_unhashed(record, seq, buf_.get() + buf_len_);  // hashed by flush()
  unhashed_.push_back(buf_len_);
  buf_len_ += n;
  if (open_count_ == 0) open_first_ts_ = record.timestamp_ms;
  open_last_ts_ = record.timestamp_ms;
  ++open_count_;
  ++next_seq_;
  if (buf_len_ >= options_.write_buffer_bytes) IMET_TRY(flush());
  return seq;
}

void MessageLog::hash_pending() {
  if (unhashed_.empty()) return;
  const size_t n = unhashed_.size();
  hash_inputs_.resize(n);
  hash_leaves_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* frame = buf_.get() + unhashed_[i];
    hash_inputs_[i] = {util::ByteSpan(frame + kFrameHeaderBytes, get_u32(frame)), 0x00, true};
  }
  crypto::blake2b_256_many(hash_inputs_, hash_leaves_);
  for (size_t i = 0; i < n; ++i)
    set_frame_check(buf_.get() + unhashed_[i], hash_leaves_[i]);
  unhashed_.clear();
  done_blocks_.clear();
  frontier_.push_many(hash_leaves_, &done_blocks_);
  if (done_blocks_.empty()) return;
  std::lock_guard lk(mu_);
  for (size_t i = 0; i < done_blocks_.size(); ++i)
    segments_.back().blocks.push_back({open_block_offsets_[i], done_blocks_[i]});
  open_block_offsets_.erase(
      open_block_offsets_.begin(),
      open_block_offsets_.begin() + static_cast<ptrdiff_t>(done_blocks_.size()));
}

util::Status MessageLog::flush() {
  if (!failed_.ok()) return failed_;
  if (buf_len_ == 0) return {};
  hash_pending();
  if (util::Status st = pwrite_all(fd_, buf_.get(), buf_len_, write_offset_); !st.ok()) {
    return fail(util::io_error("cannot write message log segment '" + dir_ + "/" +
                               segment_file_name(open_first_seq_) + "' at offset " +
                               std::to_string(write_offset_) + ": " + st.message()));
  }
  write_offset_ += buf_len_;
  buf_len_ = 0;
  if (buf_cap_ > 4 * options_.write_buffer_bytes + 4096) {
    buf_.reset();
    buf_cap_ = 0;
  }
  std::lock_guard lk(mu_);
  Segment& seg = segments_.back();
  seg.count = open_count_;
  seg.bytes = write_offset_;
  seg.first_ts = open_first_ts_;
  seg.last_ts = open_last_ts_;
  seg.frontier = frontier_;
  seg.partial_block_offset = block_offset_;
  flushed_seq_ = next_seq_;
  return {};
}

util::Status MessageLog::sync() {
  IMET_TRY(flush());
  return sync_flushed();
}

util::Status MessageLog::sync_flushed() {
  if (!failed_.ok()) return failed_;
  uint64_t flushed = 0;
  {
    std::lock_guard lk(mu_);
    if (synced_seq_ == flushed_seq_) return {};
    flushed = flushed_seq_;
  }
  if (::fdatasync(fd_) != 0) {
    return fail(util::io_error("cannot fdatasync message log segment '" + dir_ + "/" +
                               segment_file_name(open_first_seq_) + "': " + errno_text(errno)));
  }
  std::lock_guard lk(mu_);
  synced_seq_ = flushed;
  return {};
}

util::Status MessageLog::seal_open_segment() {
  if (!failed_.ok()) return failed_;
  if (open_count_ == 0) return {};
  IMET_TRY(sync());
  SealedIndex index;
  index.first_seq = open_first_seq_;
  index.count = open_count_;
  index.bytes = write_offset_;
  index.first_timestamp_ms = open_first_ts_;
  index.last_timestamp_ms = open_last_ts_;
  index.root = frontier_.root();
  std::string idx_path;
  {
    std::lock_guard lk(mu_);
    index.blocks = segments_.back().blocks;
    idx_path = segments_.back().idx_path;
  }
  if (open_count_ % kBlockLeaves != 0) {
    index.blocks.push_back({block_offset_, frontier_.partial_block_root()});
  }
  if (util::Status st = util::write_file_new(idx_path, encode_index(index)); !st.ok()) {
    return fail(st.with_context("cannot seal message log segment"));
  }
  {
    std::lock_guard lk(mu_);
    Segment& seg = segments_.back();
    seg.sealed = true;
    seg.root = index.root;
    seg.blocks.clear();
    seg.blocks.shrink_to_fit();
    seg.frontier = MerkleFrontier();
  }
  util::log::info("message log: sealed segment", {{"segment", idx_path},
                                                  {"first_seq", index.first_seq},
                                                  {"records", index.count},
                                                  {"bytes", index.bytes},
                                                  {"root", util::to_hex(index.root)}});
  if (util::Status st = create_segment(open_first_seq_ + open_count_); !st.ok()) {
    return fail(st);
  }
  return apply_retention();
}

util::Status MessageLog::roll() {
  return seal_open_segment();
}

util::Status MessageLog::maintain() {
  if (!failed_.ok()) return failed_;
  const int64_t now = clock_.now_unix_ms();
  if (options_.segment_max_age.count() > 0 && open_count_ > 0 &&
      now - open_first_ts_ >= options_.segment_max_age.count()) {
    return seal_open_segment();  // applies retention too
  }
  return apply_retention();
}

util::Status MessageLog::apply_retention() {
  if (options_.retention_bytes == 0 && options_.retention_age.count() <= 0) return {};
  const int64_t now = clock_.now_unix_ms();
  std::vector<std::pair<std::string, std::string>> doomed;
  {
    std::lock_guard lk(mu_);
    uint64_t total = 0;
    for (const Segment& s : segments_)
      total += s.bytes;
    size_t drop = 0;
    while (drop + 1 < segments_.size() && segments_[drop].sealed) {
      const Segment& s = segments_[drop];
      const bool too_big = options_.retention_bytes != 0 && total > options_.retention_bytes;
      const bool too_old =
          options_.retention_age.count() > 0 && s.last_ts < now - options_.retention_age.count();
      if (!too_big && !too_old) break;
      total -= s.bytes;
      doomed.emplace_back(s.path, s.idx_path);
      ++drop;
    }
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(drop));
  }
  util::Status result;
  for (const auto& [path, idx] : doomed) {
    // Data first: an index left alone at the front is recognised at open as a finished deletion.
    for (const std::string& p : {path, idx}) {
      if (::unlink(p.c_str()) != 0 && errno != ENOENT && result.ok()) {
        result = util::io_error("cannot delete '" + p + "' (retention): " + errno_text(errno));
      }
    }
    util::log::info("message log: retention removed a segment", {{"segment", path}});
  }
  if (!result.ok()) {
    util::log::warn("message log: retention failed", {{"error", result.message()}});
  }
  return result;
}

uint64_t MessageLog::flushed_seq() const {
  std::lock_guard lk(mu_);
  return flushed_seq_;
}

uint64_t MessageLog::synced_seq() const {
  std::lock_guard lk(mu_);
  return synced_seq_;
}

}  // namespace imet::store::msglog
