// MessageLog readers: segment listing, record lookup and reading, Merkle proofs and segment
// verification, and the free function verify_record.
#include <algorithm>
#include <utility>

#include <unistd.h>

#include "store/msglog/message_log.h"
#include "store/msglog/message_log_io.h"
#include "util/log.h"

namespace imet::store::msglog {

using detail::scan_file;
using detail::ScanState;

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
