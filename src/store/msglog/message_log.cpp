#include "store/msglog/message_log.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

namespace imet::store::msglog {

namespace {

namespace fs = std::filesystem;

std::string errno_text(int err) {
  return std::strerror(err);
}

util::Status pwrite_all(int fd, const uint8_t* data, size_t n, uint64_t offset) {
  size_t done = 0;
  while (done < n) {
    const ssize_t w = ::pwrite(fd, data + done, n - done, static_cast<off_t>(offset + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      return util::io_error(errno_text(errno));
    }
    done += static_cast<size_t>(w);
  }
  return {};
}

util::Status fsync_dir(const std::string& dir) {
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return util::io_error("cannot open directory '" + dir + "': " + errno_text(errno));
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  if (rc != 0) return util::io_error("cannot fsync directory '" + dir + "': " + errno_text(err));
  return {};
}

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
                       std::optional<uint64_t> limit, ScanState* out) {
  IMET_ASSIGN_OR_RETURN(SegmentReader reader, SegmentReader::open(path));
  out->file_size = reader.file_size();
  IMET_ASSIGN_OR_RETURN(const uint64_t first, reader.read_header());
  if (first != expected_first_seq) {
    return util::corruption("message log segment '" + path + "' header says it starts at seq " +
                            std::to_string(first) + " but its name says " +
                            std::to_string(expected_first_seq));
  }
  out->first_seq = first;
  if (limit) reader.seek(kSegmentHeaderBytes, first, limit);
  Frame frame;
  for (;;) {
    if (out->frontier.count() % kBlockLeaves == 0) out->partial_block_offset = reader.offset();
    std::string why;
    const SegmentReader::Next next = reader.next(&frame, &why);
    if (next == SegmentReader::Next::kEnd) break;
    if (next == SegmentReader::Next::kBad) {
      out->stop_reason = why;
      break;
    }
    crypto::Hash256 block_root;
    if (out->frontier.push(frame.leaf, &block_root)) {
      out->blocks.push_back({out->partial_block_offset, block_root});
    }
    if (out->count == 0) out->first_ts = frame.timestamp_ms;
    out->last_ts = frame.timestamp_ms;
    ++out->count;
    out->valid_bytes = reader.offset();
  }
  return {};
}

}  // namespace

util::Status verify_record(const Record& record, const SegmentInfo& segment,
                           const crypto::MerkleProof& proof) {
  if (record.seq < segment.first_seq || record.seq - segment.first_seq >= segment.count) {
    return util::invalid_argument("record seq " + std::to_string(record.seq) +
                                  " is outside the segment [" + std::to_string(segment.first_seq) +
                                  ", " + std::to_string(segment.end_seq()) + ")");
  }
  if (proof.index != record.seq - segment.first_seq) {
    return util::invalid_argument("proof is for leaf " + std::to_string(proof.index) +
                                  " but record seq " + std::to_string(record.seq) + " is leaf " +
                                  std::to_string(record.seq - segment.first_seq));
  }
  if (proof.leaf_count != segment.count) {
    return util::invalid_argument("proof is for " + std::to_string(proof.leaf_count) +
                                  " leaves but the segment holds " + std::to_string(segment.count) +
                                  " records");
  }
  if (util::Status st = validate(RecordView::of(record)); !st.ok()) return st;
  if (!crypto::merkle_verify(segment.root, record_leaf_hash(record), proof)) {
    return util::invalid_argument("Merkle proof of record " + std::to_string(record.seq) +
                                  " does not lead to the segment root");
  }
  return {};
}

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

// ---- recovery ----

util::Status MessageLog::check_sealed(Segment& seg) {
  auto problem = [&](const std::string& what) {
    if (seg.problem.empty()) seg.problem = what;
  };
  auto data = util::read_file(seg.idx_path, size_t{256} << 20);
  std::optional<SealedIndex> index;
  if (!data.ok()) {
    problem("cannot read index '" + seg.idx_path + "': " + data.status().message());
  } else {
    auto decoded = decode_index(util::as_bytes(*data), seg.idx_path);
    if (!decoded.ok()) {
      problem(decoded.status().message());
    } else if (decoded->first_seq != seg.first_seq) {
      problem(seg.idx_path + ": index says the segment starts at seq " +
              std::to_string(decoded->first_seq));
    } else {
      index = std::move(decoded).value();
    }
  }
  struct stat st {};
  if (::stat(seg.path.c_str(), &st) != 0) {
    problem("cannot stat '" + seg.path + "': " + errno_text(errno));
  } else if (index && static_cast<uint64_t>(st.st_size) != index->bytes) {
    problem(seg.path + ": file is " + std::to_string(st.st_size) + " bytes but its index says " +
            std::to_string(index->bytes));
  }
  if (index && seg.problem.empty()) {
    auto reader = SegmentReader::open(seg.path);
    if (!reader.ok()) {
      problem(reader.status().message());
    } else if (auto first = reader->read_header(); !first.ok()) {
      problem(first.status().message());
    } else if (*first != seg.first_seq) {
      problem(seg.path + ": header says the segment starts at seq " + std::to_string(*first));
    }
  }
  if (index) {
    seg.count = index->count;
    seg.bytes = index->bytes;
    seg.first_ts = index->first_timestamp_ms;
    seg.last_ts = index->last_timestamp_ms;
    seg.root = index->root;
  } else {
    // Without a usable index, learn the range from the data so sequence numbers stay dense.
    ScanState scan;
    if (scan_file(seg.path, seg.first_seq, std::nullopt, &scan).ok()) {
      seg.count = scan.count;
      seg.bytes = scan.valid_bytes;
      seg.first_ts = scan.first_ts;
      seg.last_ts = scan.last_ts;
      seg.root = scan.frontier.root();
    }
  }
  if (!seg.problem.empty()) {
    ++recovery_.damaged_segments;
    util::log::error("message log: sealed segment is damaged",
                     {{"segment", seg.path}, {"problem", seg.problem}});
  }
  return {};
}

util::Status MessageLog::recover_open_segment(Segment& seg) {
  struct stat st {};
  if (::stat(seg.path.c_str(), &st) != 0) {
    return util::io_error("cannot stat '" + seg.path + "': " + errno_text(errno));
  }
  if (static_cast<uint64_t>(st.st_size) < kSegmentHeaderBytes) {
    // create_segment() syncs the header before any record is written: a shorter file is a
    // creation cut short by a crash and holds no record. Start it again.
    util::log::warn("message log: re-creating a segment whose creation was interrupted",
                    {{"segment", seg.path}, {"bytes", static_cast<uint64_t>(st.st_size)}});
    if (::unlink(seg.path.c_str()) != 0) {
      return util::io_error("cannot remove '" + seg.path + "': " + errno_text(errno));
    }
    recovery_.truncated_bytes = static_cast<uint64_t>(st.st_size);
    recovery_.truncation_reason = "segment header incomplete";
    return {};  // fd_ stays -1: recover() creates the segment again
  }
  ScanState scan;
  if (util::Status s = scan_file(seg.path, seg.first_seq, std::nullopt, &scan); !s.ok()) {
    return util::corruption(
        s.message() + "; this is the open segment of the message log: move the file out of '" +
        dir_ + "' to start a new segment after inspecting it");
  }
  const int fd = ::open(seg.path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return util::io_error("cannot open '" + seg.path + "' for writing: " + errno_text(errno));
  }
  if (scan.valid_bytes < scan.file_size) {
    const uint64_t dropped = scan.file_size - scan.valid_bytes;
    if (::ftruncate(fd, static_cast<off_t>(scan.valid_bytes)) != 0 || ::fdatasync(fd) != 0) {
      const int err = errno;
      ::close(fd);
      return util::io_error("cannot truncate the torn tail of '" + seg.path +
                            "': " + errno_text(err));
    }
    recovery_.truncated_bytes = dropped;
    recovery_.truncation_reason = scan.stop_reason;
    util::log::warn("message log: dropped a torn tail", {{"segment", seg.path},
                                                         {"offset", scan.valid_bytes},
                                                         {"bytes", dropped},
                                                         {"reason", scan.stop_reason}});
  }
  recovery_.records_recovered = scan.count;
  fd_ = fd;
  write_offset_ = scan.valid_bytes;
  open_first_seq_ = seg.first_seq;
  open_count_ = scan.count;
  open_first_ts_ = scan.first_ts;
  open_last_ts_ = scan.last_ts;
  block_offset_ = scan.partial_block_offset;
  frontier_ = scan.frontier;
  next_seq_ = seg.first_seq + scan.count;

  seg.count = scan.count;
  seg.bytes = scan.valid_bytes;
  seg.first_ts = scan.first_ts;
  seg.last_ts = scan.last_ts;
  seg.frontier = scan.frontier;
  seg.blocks = std::move(scan.blocks);
  seg.partial_block_offset = scan.partial_block_offset;
  return {};
}

util::Status MessageLog::recover() {
  std::map<uint64_t, std::pair<bool, bool>> found;  // first seq -> (has .log, has .idx)
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (auto s = parse_segment_file_name(name)) {
      found[*s].first = true;
    } else if (auto i = parse_index_file_name(name)) {
      found[*i].second = true;
    } else if (name.rfind("seg-", 0) == 0 && name.find(".idx.tmp-") != std::string::npos) {
      // A seal cut short inside util::write_file_new; the segment is still unsealed.
      std::error_code remove_error;
      if (fs::remove(it->path(), remove_error)) ++recovery_.removed_leftovers;
    }
  }
  if (ec)
    return util::io_error("cannot list message log directory '" + dir_ + "': " + ec.message());

  std::optional<uint64_t> first_log;
  std::optional<uint64_t> last_log;
  for (const auto& [seq, what] : found) {
    if (what.first) {
      if (!first_log) first_log = seq;
      last_log = seq;
    }
  }

  uint64_t resume_seq = options_.first_seq;
  std::vector<Segment> segs;
  for (const auto& [seq, what] : found) {
    Segment seg;
    seg.first_seq = seq;
    seg.path = dir_ + "/" + segment_file_name(seq);
    seg.idx_path = dir_ + "/" + index_file_name(seq);
    if (!what.first) {
      // An index without its data: retention removes the .log first, so at the front this is a
      // deletion cut short. Elsewhere the data file is missing.
      auto data = util::read_file(seg.idx_path, size_t{256} << 20);
      std::optional<SealedIndex> index;
      if (data.ok()) {
        if (auto d = decode_index(util::as_bytes(*data), seg.idx_path); d.ok()) index = *d;
      }
      if (index) resume_seq = std::max(resume_seq, index->first_seq + index->count);
      if (!first_log || seq < *first_log) {
        ::unlink(seg.idx_path.c_str());
        ++recovery_.removed_leftovers;
        continue;
      }
      seg.sealed = true;
      seg.problem = "data file '" + seg.path + "' is missing";
      if (index) {
        seg.count = index->count;
        seg.first_ts = index->first_timestamp_ms;
        seg.last_ts = index->last_timestamp_ms;
        seg.root = index->root;
      }
      ++recovery_.damaged_segments;
      util::log::error("message log: sealed segment is damaged",
                       {{"segment", seg.path}, {"problem", seg.problem}});
      segs.push_back(std::move(seg));
      continue;
    }
    const bool last = seq == *last_log;
    if (what.second) {
      seg.sealed = true;
      IMET_TRY(check_sealed(seg));
      segs.push_back(std::move(seg));
      continue;
    }
    if (!last) {
      // An unsealed segment before the last one: seals happen before the next segment is created,
      // so this is damage from outside. Recover what is readable and report it.
      ScanState scan;
      seg.sealed = true;
      if (util::Status s = scan_file(seg.path, seq, std::nullopt, &scan); !s.ok()) {
        seg.problem = s.message();
      } else {
        seg.count = scan.count;
        seg.bytes = scan.valid_bytes;
        seg.first_ts = scan.first_ts;
        seg.last_ts = scan.last_ts;
        seg.root = scan.frontier.root();
        seg.problem = "segment '" + seg.path + "' has no index although a later segment exists" +
                      (scan.stop_reason.empty()
                           ? std::string()
                           : " (and a bad frame at offset " + std::to_string(scan.valid_bytes) +
                                 ": " + scan.stop_reason + ")");
      }
      ++recovery_.damaged_segments;
      util::log::error("message log: sealed segment is damaged",
                       {{"segment", seg.path}, {"problem", seg.problem}});
      segs.push_back(std::move(seg));
      continue;
    }
    IMET_TRY(recover_open_segment(seg));
    if (fd_ < 0) {
      // Its creation was cut short: it was removed and is created again below.
      resume_seq = std::max(resume_seq, seq);
      continue;
    }
    segs.push_back(std::move(seg));
  }

  // Sequence continuity.
  for (size_t i = 1; i < segs.size(); ++i) {
    const uint64_t prev_end = segs[i - 1].first_seq + segs[i - 1].count;
    if (segs[i].first_seq < prev_end) {
      if (i + 1 == segs.size() && !segs[i].sealed) {
        return util::corruption("message log '" + dir_ + "': open segment '" + segs[i].path +
                                "' starts at seq " + std::to_string(segs[i].first_seq) +
                                " inside the previous segment (which ends at " +
                                std::to_string(prev_end) + ")");
      }
      if (segs[i].problem.empty()) {
        segs[i].problem =
            "overlaps the previous segment (which ends at seq " + std::to_string(prev_end) + ")";
        ++recovery_.damaged_segments;
      }
    } else if (segs[i].first_seq > prev_end) {
      util::log::error(
          "message log: sequence gap between segments",
          {{"dir", dir_}, {"missing_from", prev_end}, {"missing_to", segs[i].first_seq}});
    }
  }

  const bool have_open = !segs.empty() && !segs.back().sealed;
  {
    std::lock_guard lk(mu_);
    segments_ = std::move(segs);
    if (have_open) {
      flushed_seq_ = next_seq_;
      synced_seq_ = next_seq_;
    }
  }
  if (!have_open) {
    uint64_t next = resume_seq;
    {
      std::lock_guard lk(mu_);
      for (const Segment& s : segments_)
        next = std::max(next, s.first_seq + s.count);
    }
    IMET_TRY(create_segment(next));
  }
  if (recovery_.removed_leftovers > 0) {
    util::log::info("message log: removed leftovers of interrupted seals and deletions",
                    {{"dir", dir_}, {"files", recovery_.removed_leftovers}});
  }
  if (options_.verify_sealed_on_open) {
    std::vector<uint64_t> sealed;
    {
      std::lock_guard lk(mu_);
      for (const Segment& s : segments_)
        if (s.sealed && s.problem.empty()) sealed.push_back(s.first_seq);
    }
    for (uint64_t first : sealed) {
      if (util::Status st = verify_segment(first); !st.ok()) ++recovery_.damaged_segments;
    }
  }
  return {};
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
  if (frontier_.count() % kBlockLeaves == 0) block_offset_ = write_offset_ + buf_len_;
  const crypto::Hash256 leaf = encode_frame(record, seq, buf_.get() + buf_len_);
  buf_len_ += n;
  crypto::Hash256 block_root;
  if (frontier_.push(leaf, &block_root)) {
    std::lock_guard lk(mu_);
    segments_.back().blocks.push_back({block_offset_, block_root});
  }
  if (open_count_ == 0) open_first_ts_ = record.timestamp_ms;
  open_last_ts_ = record.timestamp_ms;
  ++open_count_;
  ++next_seq_;
  if (buf_len_ >= options_.write_buffer_bytes) IMET_TRY(flush());
  return seq;
}

util::Status MessageLog::flush() {
  if (!failed_.ok()) return failed_;
  if (buf_len_ == 0) return {};
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

// ---- readers ----

SegmentInfo MessageLog::info_of(const Segment& seg) const {
  SegmentInfo info;
  info.first_seq = seg.first_seq;
  info.count = seg.count;
  info.bytes = seg.bytes;
  info.first_timestamp_ms = seg.first_ts;
  info.last_timestamp_ms = seg.last_ts;
  info.root = seg.sealed ? seg.root : seg.frontier.root();
  info.sealed = seg.sealed;
  info.path = seg.path;
  info.problem = seg.problem;
  return info;
}

std::vector<SegmentInfo> MessageLog::segments() const {
  std::lock_guard lk(mu_);
  std::vector<SegmentInfo> out;
  out.reserve(segments_.size());
  for (const Segment& s : segments_)
    out.push_back(info_of(s));
  return out;
}

void MessageLog::mark_damaged(uint64_t first_seq, const std::string& problem) const {
  std::lock_guard lk(mu_);
  for (Segment& s : segments_) {
    if (s.first_seq == first_seq && s.problem.empty()) {
      s.problem = problem;
      util::log::error("message log: segment is damaged",
                       {{"segment", s.path}, {"problem", problem}});
    }
  }
}

util::Result<MessageLog::Located> MessageLog::locate(uint64_t seq) const {
  Located loc;
  {
    std::lock_guard lk(mu_);
    if (segments_.empty() || seq < segments_.front().first_seq) {
      return util::not_found(
          "message log record " + std::to_string(seq) + " is not kept (removed by retention" +
          (segments_.empty()
               ? std::string(")")
               : "; the oldest kept is " + std::to_string(segments_.front().first_seq) + ")"));
    }
    auto it = std::upper_bound(segments_.begin(), segments_.end(), seq,
                               [](uint64_t s, const Segment& seg) { return s < seg.first_seq; });
    const Segment& seg = *std::prev(it);
    if (seq >= seg.first_seq + seg.count) {
      if (seq >= flushed_seq_) {
        return util::not_found(
            "message log record " + std::to_string(seq) +
            " is not written yet (next flushed seq: " + std::to_string(flushed_seq_) + ")");
      }
      return util::not_found("message log record " + std::to_string(seq) +
                             " is in no segment (a segment file is missing)");
    }
    if (!seg.problem.empty()) {
      return util::corruption("message log segment '" + seg.path + "' is damaged: " + seg.problem);
    }
    loc.info = info_of(seg);
    if (!seg.sealed) {
      const uint64_t complete = seg.count / kBlockLeaves;
      loc.blocks.assign(seg.blocks.begin(), seg.blocks.begin() + static_cast<ptrdiff_t>(complete));
      if (seg.count % kBlockLeaves != 0) {
        loc.blocks.push_back({seg.partial_block_offset, seg.frontier.partial_block_root()});
      }
    }
  }
  loc.block = (seq - loc.info.first_seq) / kBlockLeaves;
  if (loc.info.sealed) {
    auto data =
        util::read_file(dir_ + "/" + index_file_name(loc.info.first_seq), size_t{256} << 20);
    if (!data.ok()) {
      if (data.status().code() == util::StatusCode::kNotFound) {
        return util::not_found("message log record " + std::to_string(seq) +
                               " is not kept (its segment was just removed by retention)");
      }
      return data.status();
    }
    auto index =
        decode_index(util::as_bytes(*data), dir_ + "/" + index_file_name(loc.info.first_seq));
    if (!index.ok()) {
      mark_damaged(loc.info.first_seq, index.status().message());
      return index.status();
    }
    if (index->count != loc.info.count || index->root != loc.info.root) {
      const std::string problem = "index changed on disk since the log was opened";
      mark_damaged(loc.info.first_seq, problem);
      return util::corruption("message log segment '" + loc.info.path + "': " + problem);
    }
    loc.blocks = std::move(index->blocks);
  }
  return loc;
}

util::Status MessageLog::read_block(const Located& loc, uint64_t want,
                                    std::vector<crypto::Hash256>* leaves, Record* record) const {
  const uint64_t start_seq = loc.info.first_seq + loc.block * kBlockLeaves;
  const uint64_t n = std::min<uint64_t>(kBlockLeaves, loc.info.count - loc.block * kBlockLeaves);
  auto reader = SegmentReader::open(loc.info.path);
  if (!reader.ok()) {
    if (reader.status().code() == util::StatusCode::kNotFound) {
      return util::not_found("message log record " + std::to_string(want) +
                             " is not kept (its segment was just removed by retention)");
    }
    return reader.status();
  }
  const uint64_t block_end =
      loc.block + 1 < loc.blocks.size() ? loc.blocks[loc.block + 1].offset : loc.info.bytes;
  reader->seek(loc.blocks[loc.block].offset, start_seq, block_end);
  Frame frame;
  for (uint64_t i = 0; i < n; ++i) {
    std::string why;
    const SegmentReader::Next next = reader->next(&frame, &why);
    if (next != SegmentReader::Next::kRecord) {
      if (next == SegmentReader::Next::kEnd) why = "block ends early";
      const std::string problem = "bad frame at offset " + std::to_string(reader->offset()) +
                                  " (record " + std::to_string(start_seq + i) + "): " + why;
      mark_damaged(loc.info.first_seq, problem);
      return util::corruption("message log segment '" + loc.info.path + "': " + problem);
    }
    if (leaves != nullptr) leaves->push_back(frame.leaf);
    if (record != nullptr && frame.seq == want) {
      IMET_ASSIGN_OR_RETURN(*record, decode_body(frame.body));
      if (leaves == nullptr) return {};
    }
  }
  return {};
}

util::Result<Record> MessageLog::read(uint64_t seq) const {
  IMET_ASSIGN_OR_RETURN(const Located loc, locate(seq));
  Record record;
  IMET_TRY(read_block(loc, seq, nullptr, &record));
  return record;
}

util::Result<RecordProof> MessageLog::prove(uint64_t seq) const {
  IMET_ASSIGN_OR_RETURN(const Located loc, locate(seq));
  std::vector<crypto::Hash256> leaves;
  leaves.reserve(kBlockLeaves);
  IMET_TRY(read_block(loc, 0, &leaves, nullptr));
  if (crypto::merkle_root(leaves) != loc.blocks[loc.block].root) {
    const std::string problem =
        "records of Merkle block " + std::to_string(loc.block) + " do not match its root";
    mark_damaged(loc.info.first_seq, problem);
    return util::corruption("message log segment '" + loc.info.path + "': " + problem);
  }
  std::vector<crypto::Hash256> roots;
  roots.reserve(loc.blocks.size());
  for (const BlockEntry& b : loc.blocks)
    roots.push_back(b.root);
  const uint64_t in_block = (seq - loc.info.first_seq) % kBlockLeaves;
  IMET_ASSIGN_OR_RETURN(crypto::MerkleProof inner, crypto::merkle_prove(leaves, in_block));
  IMET_ASSIGN_OR_RETURN(crypto::MerkleProof outer, crypto::merkle_prove(roots, loc.block));
  RecordProof out;
  out.segment = loc.info;
  out.proof.index = seq - loc.info.first_seq;
  out.proof.leaf_count = loc.info.count;
  out.proof.path = std::move(inner.path);
  out.proof.path.insert(out.proof.path.end(), outer.path.begin(), outer.path.end());
  return out;
}

util::Status MessageLog::verify_segment(uint64_t first_seq) const {
  SegmentInfo info;
  std::vector<BlockEntry> blocks;
  {
    std::lock_guard lk(mu_);
    auto it = std::find_if(segments_.begin(), segments_.end(),
                           [&](const Segment& s) { return s.first_seq == first_seq; });
    if (it == segments_.end()) {
      return util::not_found("message log has no segment starting at seq " +
                             std::to_string(first_seq));
    }
    if (!it->problem.empty()) {
      return util::corruption("message log segment '" + it->path + "' is damaged: " + it->problem);
    }
    info = info_of(*it);
    if (!it->sealed) {
      blocks.assign(it->blocks.begin(),
                    it->blocks.begin() + static_cast<ptrdiff_t>(it->count / kBlockLeaves));
      if (it->count % kBlockLeaves != 0) {
        blocks.push_back({it->partial_block_offset, it->frontier.partial_block_root()});
      }
    }
  }
  auto damaged = [&](const std::string& problem) {
    mark_damaged(first_seq, problem);
    return util::corruption("message log segment '" + info.path + "': " + problem);
  };
  if (info.sealed) {
    const std::string idx_path = dir_ + "/" + index_file_name(first_seq);
    auto data = util::read_file(idx_path, size_t{256} << 20);
    if (!data.ok()) return damaged("cannot read its index: " + data.status().message());
    auto index = decode_index(util::as_bytes(*data), idx_path);
    if (!index.ok()) return damaged(index.status().message());
    blocks = std::move(index->blocks);
  }
  ScanState scan;
  if (util::Status st = scan_file(info.path, first_seq, info.bytes, &scan); !st.ok()) {
    return damaged(st.message());
  }
  if (!scan.stop_reason.empty()) {
    return damaged("bad frame at offset " + std::to_string(scan.valid_bytes) + " (record " +
                   std::to_string(first_seq + scan.count) + "): " + scan.stop_reason);
  }
  if (scan.count != info.count || scan.valid_bytes != info.bytes) {
    return damaged("holds " + std::to_string(scan.count) + " records in " +
                   std::to_string(scan.valid_bytes) + " bytes, expected " +
                   std::to_string(info.count) + " in " + std::to_string(info.bytes));
  }
  if (scan.count % kBlockLeaves != 0) {
    scan.blocks.push_back({scan.partial_block_offset, scan.frontier.partial_block_root()});
  }
  if (scan.blocks != blocks) return damaged("Merkle block offsets or roots do not match");
  if (scan.frontier.root() != info.root) {
    return damaged("recomputed Merkle root " + util::to_hex(scan.frontier.root()) +
                   " differs from the recorded root " + util::to_hex(info.root));
  }
  return {};
}

}  // namespace imet::store::msglog
