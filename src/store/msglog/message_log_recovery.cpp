// MessageLog recovery at open: checks sealed segments against their index files, cuts a torn tail
// of the open segment, removes leftovers and rebuilds the in-memory segment list.
#include <algorithm>
#include <filesystem>
#include <map>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/msglog/message_log.h"
#include "store/msglog/message_log_io.h"
#include "util/log.h"

namespace imet::store::msglog {

namespace fs = std::filesystem;
using detail::errno_text;
using detail::scan_file;
using detail::ScanState;

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
  unhashed_.clear();
  open_block_offsets_.clear();
  if (scan.count % kBlockLeaves != 0) open_block_offsets_.push_back(scan.partial_block_offset);
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

}  // namespace imet::store::msglog
