// MessageLog on a real directory: append/flush/read, reopen, segment rolling by records, bytes and
// age, Merkle roots of segments checked against crypto::merkle_root of independently computed
// leaf hashes, proofs (valid and tampered), recovery from a torn tail cut at every byte offset,
// garbage tails, damaged sealed segments, retention by size and age, the directory lock, a sticky
// error after a failed write, and readers running concurrently with the writer.
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include "store/msglog/message_log.h"
#include "temp_dir.h"
#include "util/clock.h"

namespace imet::store::msglog {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using util::StatusCode;

bool has_text(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

Record make_record(uint64_t i, size_t payload_bytes = 64) {
  Record r;
  r.timestamp_ms = 1'000'000 + static_cast<int64_t>(i);
  r.tier = static_cast<uint8_t>(1 + i % 3);
  r.qos = static_cast<uint8_t>(i % 3);
  r.retain = i % 5 == 0;
  r.client_id = "client-" + std::to_string(i % 7);
  r.topic = "sensors/" + std::to_string(i) + "/temp";
  r.payload.resize(payload_bytes);
  for (size_t k = 0; k < payload_bytes; ++k)
    r.payload[k] = static_cast<uint8_t>(i * 31 + k);
  if (i % 2 == 0) r.properties = {0x26, static_cast<uint8_t>(i)};
  return r;
}

Record with_seq(Record r, uint64_t seq) {
  r.seq = seq;
  return r;
}

std::unique_ptr<MessageLog> open_ok(const std::string& dir, const Options& options = {}) {
  auto log = MessageLog::open(dir, options);
  EXPECT_TRUE(log.ok()) << log.status().to_string();
  return log.ok() ? std::move(log).value() : nullptr;
}

// Appends records i in [from, to) and returns their seqs.
std::vector<uint64_t> append_range(MessageLog& log, uint64_t from, uint64_t to,
                                   size_t payload = 64) {
  std::vector<uint64_t> seqs;
  for (uint64_t i = from; i < to; ++i) {
    auto seq = log.append(make_record(i, payload));
    EXPECT_TRUE(seq.ok()) << seq.status().to_string();
    seqs.push_back(seq.ok() ? *seq : 0);
  }
  return seqs;
}

// The root a segment must have, computed without the log: merkle_root over the leaf hashes of its
// records rebuilt from make_record.
crypto::Hash256 expected_root(uint64_t first_seq, uint64_t count, uint64_t first_index,
                              size_t payload = 64) {
  std::vector<crypto::Hash256> leaves;
  for (uint64_t k = 0; k < count; ++k) {
    leaves.push_back(
        record_leaf_hash(with_seq(make_record(first_index + k, payload), first_seq + k)));
  }
  return crypto::merkle_root(leaves);
}

TEST(MessageLog, AppendAssignsDenseSeqsAndReadsBackAfterFlush) {
  TempDir dir;
  auto log = open_ok(dir.path());
  ASSERT_TRUE(log);
  EXPECT_EQ(log->next_seq(), 1u);
  const auto seqs = append_range(*log, 0, 10);
  for (uint64_t k = 0; k < 10; ++k)
    EXPECT_EQ(seqs[k], k + 1);
  // Buffered records are not visible to readers yet.
  EXPECT_EQ(log->read(1).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(has_text(log->read(1).status().message(), "not written yet"));
  ASSERT_TRUE(log->flush().ok());
  EXPECT_EQ(log->flushed_seq(), 11u);
  for (uint64_t k = 0; k < 10; ++k) {
    auto r = log->read(k + 1);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(*r, with_seq(make_record(k), k + 1));
  }
  EXPECT_EQ(log->read(11).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log->read(0).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(log->sync().ok());
  EXPECT_EQ(log->synced_seq(), 11u);
}

TEST(MessageLog, RejectsInvalidRecordsWithoutConsumingASeq) {
  TempDir dir;
  auto log = open_ok(dir.path());
  Record bad = make_record(1);
  bad.tier = 9;
  auto r = log->append(bad);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(has_text(r.status().message(), "tier 9"));
  EXPECT_EQ(*log->append(make_record(2)), 1u);
}

TEST(MessageLog, ReopenContinuesTheSequenceAndKeepsRecords) {
  TempDir dir;
  {
    auto log = open_ok(dir.path());
    append_range(*log, 0, 100);
    ASSERT_TRUE(log->sync().ok());
  }
  auto log = open_ok(dir.path());
  EXPECT_EQ(log->next_seq(), 101u);
  EXPECT_EQ(log->recovery().records_recovered, 100u);
  EXPECT_EQ(log->recovery().truncated_bytes, 0u);
  EXPECT_EQ(*log->read(50), with_seq(make_record(49), 50));
  EXPECT_EQ(*log->append(make_record(100)), 101u);
  ASSERT_TRUE(log->flush().ok());
  EXPECT_EQ(*log->read(101), with_seq(make_record(100), 101));
  auto segs = log->segments();
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(segs[0].root, expected_root(1, 101, 0));
}

TEST(MessageLog, DestructorFlushesBufferedRecords) {
  TempDir dir;
  {
    auto log = open_ok(dir.path());
    append_range(*log, 0, 5);
  }
  auto log = open_ok(dir.path());
  EXPECT_EQ(log->next_seq(), 6u);
}

TEST(MessageLog, FirstSeqZeroIsRefused) {
  TempDir dir;
  Options o;
  o.first_seq = 0;
  auto log = MessageLog::open(dir.path(), o);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(has_text(log.status().message(), "first_seq"));
  o.first_seq = 1000;
  auto ok = open_ok(dir.path(), o);
  EXPECT_EQ(ok->next_seq(), 1000u);
}

TEST(MessageLog, SecondOpenOfTheSameDirectoryIsRefused) {
  TempDir dir;
  auto log = open_ok(dir.path());
  auto again = MessageLog::open(dir.path(), Options{});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(has_text(again.status().message(), dir.path()));
}

TEST(MessageLog, SegmentsRollByRecordCountWithRootsOverTheirRecords) {
  TempDir dir;
  Options o;
  o.segment_max_records = 300;  // more than one Merkle block per segment
  auto log = open_ok(dir.path(), o);
  append_range(*log, 0, 1000);
  ASSERT_TRUE(log->flush().ok());
  auto segs = log->segments();
  ASSERT_EQ(segs.size(), 4u);
  for (size_t s = 0; s < 4; ++s) {
    EXPECT_EQ(segs[s].first_seq, 1 + 300 * s);
    EXPECT_EQ(segs[s].count, s < 3 ? 300u : 100u);
    EXPECT_EQ(segs[s].sealed, s < 3);
    EXPECT_TRUE(segs[s].problem.empty());
    EXPECT_EQ(segs[s].root, expected_root(segs[s].first_seq, segs[s].count, 300 * s)) << s;
    EXPECT_EQ(segs[s].first_timestamp_ms, make_record(300 * s).timestamp_ms);
    EXPECT_EQ(segs[s].last_timestamp_ms, make_record(300 * s + segs[s].count - 1).timestamp_ms);
    EXPECT_EQ(fs::exists(dir.sub(index_file_name(segs[s].first_seq))), s < 3);
    EXPECT_EQ(fs::file_size(segs[s].path), segs[s].bytes);
  }
  for (uint64_t seq : {1u, 256u, 257u, 300u, 301u, 899u, 901u, 1000u}) {
    auto r = log->read(seq);
    ASSERT_TRUE(r.ok()) << seq << ": " << r.status().to_string();
    EXPECT_EQ(*r, with_seq(make_record(seq - 1), seq));
  }
  // Sealed roots survive a reopen (they come from the index files).
  log.reset();
  log = open_ok(dir.path(), o);
  auto again = log->segments();
  ASSERT_EQ(again.size(), 4u);
  for (size_t s = 0; s < 4; ++s)
    EXPECT_EQ(again[s].root, segs[s].root);
  for (size_t s = 0; s < 3; ++s)
    EXPECT_TRUE(log->verify_segment(segs[s].first_seq).ok());
  EXPECT_TRUE(log->verify_segment(segs[3].first_seq).ok());
}

TEST(MessageLog, SegmentsRollByBytesAndAge) {
  TempDir dir;
  Options o;
  o.segment_max_bytes = 4096;
  o.segment_max_age = std::chrono::milliseconds(0);
  auto log = open_ok(dir.path(), o);
  append_range(*log, 0, 200, 100);
  ASSERT_TRUE(log->flush().ok());
  for (const SegmentInfo& s : log->segments()) {
    EXPECT_LE(s.bytes, 4096u);
    EXPECT_GT(s.count, 0u);
  }
  EXPECT_GT(log->segments().size(), 5u);
  // A record larger than the limit gets a segment of its own.
  const size_t before = log->segments().size();
  ASSERT_TRUE(log->append(make_record(1, 10000)).ok());
  ASSERT_TRUE(log->append(make_record(2, 10)).ok());
  ASSERT_TRUE(log->flush().ok());
  auto segs = log->segments();
  EXPECT_EQ(segs.size(), before + 2);
  EXPECT_EQ(segs[segs.size() - 2].count, 1u);
  log.reset();

  TempDir dir2;
  Options a;
  a.segment_max_age = std::chrono::milliseconds(10);
  log = open_ok(dir2.path(), a);
  for (int64_t t : {0, 5, 9, 10, 15, 25}) {
    Record r = make_record(1);
    r.timestamp_ms = t;
    ASSERT_TRUE(log->append(r).ok());
  }
  ASSERT_TRUE(log->flush().ok());
  segs = log->segments();
  ASSERT_EQ(segs.size(), 3u);  // {0,5,9} {10,15} {25}
  EXPECT_EQ(segs[0].count, 3u);
  EXPECT_EQ(segs[1].count, 2u);
  EXPECT_EQ(segs[2].count, 1u);
}

TEST(MessageLog, MaintainSealsAnOldOpenSegmentByTheClock) {
  TempDir dir;
  util::ManualClock clock(1000);
  Options o;
  o.segment_max_age = std::chrono::milliseconds(500);
  o.clock = &clock;
  auto log = open_ok(dir.path(), o);
  Record r = make_record(1);
  r.timestamp_ms = 1000;
  ASSERT_TRUE(log->append(r).ok());
  ASSERT_TRUE(log->maintain().ok());
  EXPECT_EQ(log->segments().size(), 1u);
  clock.advance_ms(500);
  ASSERT_TRUE(log->maintain().ok());
  auto segs = log->segments();
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_TRUE(segs[0].sealed);
  EXPECT_EQ(segs[1].first_seq, 2u);
  // An empty open segment is never sealed.
  clock.advance_ms(5000);
  ASSERT_TRUE(log->maintain().ok());
  EXPECT_EQ(log->segments().size(), 2u);
  ASSERT_TRUE(log->roll().ok());
  EXPECT_EQ(log->segments().size(), 2u);
}

TEST(MessageLog, ProofsVerifyForEveryRecordAndFailWhenTampered) {
  TempDir dir;
  Options o;
  o.segment_max_records = 600;
  auto log = open_ok(dir.path(), o);
  append_range(*log, 0, 1400);  // two sealed segments and an open one of 200
  ASSERT_TRUE(log->flush().ok());
  for (uint64_t seq = 1; seq <= 1400; ++seq) {
    auto p = log->prove(seq);
    ASSERT_TRUE(p.ok()) << seq << ": " << p.status().to_string();
    const Record rec = with_seq(make_record(seq - 1), seq);
    ASSERT_TRUE(verify_record(rec, p->segment, p->proof).ok()) << seq;
    if (seq % 97 != 0) continue;
    // Tampering with the record, the index, the count or the path fails.
    Record changed = rec;
    changed.payload[0] ^= 1;
    EXPECT_FALSE(verify_record(changed, p->segment, p->proof).ok());
    changed = rec;
    changed.tier = static_cast<uint8_t>(rec.tier % 3 + 1);
    EXPECT_FALSE(verify_record(changed, p->segment, p->proof).ok());
    crypto::MerkleProof bad = p->proof;
    bad.index ^= 1;
    EXPECT_TRUE(has_text(verify_record(rec, p->segment, bad).message(), "is leaf"));
    bad = p->proof;
    bad.leaf_count += 1;
    EXPECT_TRUE(has_text(verify_record(rec, p->segment, bad).message(), "leaves"));
    bad = p->proof;
    ASSERT_FALSE(bad.path.empty());
    bad.path[bad.path.size() / 2][3] ^= 0x10;
    EXPECT_TRUE(has_text(verify_record(rec, p->segment, bad).message(), "does not lead"));
    SegmentInfo other = p->segment;
    other.root[0] ^= 1;
    EXPECT_FALSE(verify_record(rec, other, p->proof).ok());
  }
  // A proof from the open segment is against its root at that moment: after more appends the old
  // proof still verifies against the old root, and a new proof against the new one.
  auto before = log->prove(1300);
  ASSERT_TRUE(before.ok());
  append_range(*log, 1400, 1500);
  ASSERT_TRUE(log->flush().ok());
  auto after = log->prove(1300);
  ASSERT_TRUE(after.ok());
  const Record rec = with_seq(make_record(1299), 1300);
  EXPECT_TRUE(verify_record(rec, before->segment, before->proof).ok());
  EXPECT_TRUE(verify_record(rec, after->segment, after->proof).ok());
  EXPECT_NE(before->segment.root, after->segment.root);
  EXPECT_EQ(after->segment.root, expected_root(1201, 300, 1200));
}

// ---- crash recovery ----

// Copies the log directory (without LOCK) so each cut starts from the same files.
void copy_dir(const std::string& from, const std::string& to) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(from)) {
    if (e.path().filename() == "LOCK") continue;
    fs::copy_file(e.path(), fs::path(to) / e.path().filename());
  }
}

TEST(MessageLog, RecoversFromATornTailCutAtEveryByteOffset) {
  TempDir dir;
  const std::string src = dir.sub("src");
  std::vector<uint64_t> ends;  // file size after each record
  std::string seg_name;
  {
    auto log = open_ok(src);
    for (uint64_t i = 0; i < 12; ++i) {
      ASSERT_TRUE(log->append(make_record(i)).ok());
      ASSERT_TRUE(log->flush().ok());
      ends.push_back(log->segments().back().bytes);
    }
    seg_name = fs::path(log->segments().back().path).filename().string();
  }
  const uint64_t full = ends.back();
  const uint64_t from = ends[8];  // cut anywhere in the last three records
  for (uint64_t cut = from; cut <= full; ++cut) {
    const std::string d = dir.sub("cut" + std::to_string(cut));
    copy_dir(src, d);
    fs::resize_file(fs::path(d) / seg_name, cut);
    auto log = open_ok(d);
    ASSERT_TRUE(log) << cut;
    const uint64_t kept =
        static_cast<uint64_t>(std::upper_bound(ends.begin(), ends.end(), cut) - ends.begin());
    EXPECT_EQ(log->next_seq(), kept + 1) << cut;
    EXPECT_EQ(log->recovery().truncated_bytes, cut - ends[kept - 1]) << cut;
    EXPECT_EQ(fs::file_size(fs::path(d) / seg_name), ends[kept - 1]);
    EXPECT_EQ(log->segments().back().root, expected_root(1, kept, 0)) << cut;
    // The log continues cleanly after the repaired tail.
    Record r = make_record(500);
    auto seq = log->append(r);
    ASSERT_TRUE(seq.ok());
    EXPECT_EQ(*seq, kept + 1);
    ASSERT_TRUE(log->sync().ok());
    log.reset();
    log = open_ok(d);
    EXPECT_EQ(log->recovery().truncated_bytes, 0u);
    EXPECT_EQ(log->next_seq(), kept + 2);
    EXPECT_EQ(*log->read(kept + 1), with_seq(r, kept + 1));
    EXPECT_TRUE(log->verify_segment(1).ok());
    log.reset();
    fs::remove_all(d);
  }
}

TEST(MessageLog, TruncatesGarbageAndCorruptTailsAndLogsWhy) {
  TempDir dir;
  const std::string src = dir.sub("src");
  std::string seg;
  uint64_t size = 0;
  {
    auto log = open_ok(src);
    append_range(*log, 0, 20);
    ASSERT_TRUE(log->sync().ok());
    seg = log->segments().back().path;
    size = log->segments().back().bytes;
  }
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    const std::string d = dir.sub("g" + std::to_string(round));
    copy_dir(src, d);
    const std::string path = (fs::path(d) / fs::path(seg).filename()).string();
    std::ofstream out(path, std::ios::binary | std::ios::app);
    const size_t n = 1 + rng() % 300;
    for (size_t k = 0; k < n; ++k)
      out.put(static_cast<char>(rng()));
    out.close();
    auto log = open_ok(d);
    EXPECT_EQ(log->next_seq(), 21u);
    EXPECT_EQ(log->recovery().truncated_bytes, n);
    EXPECT_FALSE(log->recovery().truncation_reason.empty());
    EXPECT_EQ(fs::file_size(path), size);
  }
  // A flipped byte in the last record drops that record only.
  const std::string d = dir.sub("flip");
  copy_dir(src, d);
  const std::string path = (fs::path(d) / fs::path(seg).filename()).string();
  {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(size - 3));
    f.put('\x55');
  }
  auto log = open_ok(d);
  EXPECT_EQ(log->next_seq(), 20u);
  EXPECT_TRUE(has_text(log->recovery().truncation_reason, "checksum"));
}

TEST(MessageLog, RecreatesASegmentWhoseCreationWasInterrupted) {
  TempDir dir;
  {
    Options o;
    o.segment_max_records = 5;
    auto log = open_ok(dir.path(), o);
    append_range(*log, 0, 5);
    ASSERT_TRUE(log->roll().ok());  // seals seq 1..5 and creates the open segment at seq 6
  }
  // The open segment (seq 6) exists; cut it inside its header as a crash during creation would.
  const std::string open_seg = dir.sub(segment_file_name(6));
  ASSERT_TRUE(fs::exists(open_seg));
  fs::resize_file(open_seg, 10);
  auto log = open_ok(dir.path());
  EXPECT_EQ(log->next_seq(), 6u);
  EXPECT_EQ(fs::file_size(open_seg), kSegmentHeaderBytes);
  EXPECT_EQ(*log->append(make_record(9)), 6u);
}

TEST(MessageLog, CrashBetweenSealAndNextSegmentResumesAfterTheSealedOne) {
  TempDir dir;
  {
    auto log = open_ok(dir.path());
    append_range(*log, 0, 5);
    ASSERT_TRUE(log->roll().ok());
  }
  // As if the crash came after the index was written but before seg 6 was created; also leave a
  // temporary file of an interrupted index write behind.
  fs::remove(dir.sub(segment_file_name(6)));
  std::ofstream(dir.sub(index_file_name(6) + ".tmp-123-456")) << "partial";
  auto log = open_ok(dir.path());
  EXPECT_EQ(log->next_seq(), 6u);
  EXPECT_EQ(log->recovery().removed_leftovers, 1u);
  EXPECT_FALSE(fs::exists(dir.sub(index_file_name(6) + ".tmp-123-456")));
  auto segs = log->segments();
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_TRUE(segs[0].sealed);
  EXPECT_EQ(segs[0].root, expected_root(1, 5, 0));
  EXPECT_FALSE(segs[1].sealed);
  EXPECT_EQ(*log->append(make_record(5)), 6u);
}

TEST(MessageLog, UnsealedSegmentBeforeTheLastIsReported) {
  TempDir dir;
  Options o;
  o.segment_max_records = 10;
  {
    auto log = open_ok(dir.path(), o);
    append_range(*log, 0, 25);
  }
  fs::remove(dir.sub(index_file_name(11)));
  auto log = open_ok(dir.path(), o);
  auto segs = log->segments();
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_TRUE(has_text(segs[1].problem, "no index"));
  EXPECT_EQ(segs[1].count, 10u);
  EXPECT_EQ(log->recovery().damaged_segments, 1u);
  EXPECT_EQ(log->next_seq(), 26u);
  EXPECT_TRUE(log->read(5).ok());
  EXPECT_EQ(log->read(15).status().code(), StatusCode::kCorruption);
}

TEST(MessageLog, OpenSegmentWithADamagedHeaderIsReportedNotGuessed) {
  TempDir dir;
  {
    auto log = open_ok(dir.path());
    append_range(*log, 0, 3);
  }
  const std::string seg = dir.sub(segment_file_name(1));
  {
    std::fstream f(seg, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(0);
    f.put('X');
  }
  auto log = MessageLog::open(dir.path(), Options{});
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption);
  EXPECT_TRUE(has_text(log.status().message(), seg));
  EXPECT_TRUE(has_text(log.status().message(), "move the file"));
}

// ---- damaged sealed segments ----

class SealedDamage : public ::testing::Test {
 protected:
  void SetUp() override {
    o_.segment_max_records = 400;
    auto log = open_ok(dir_.path(), o_);
    append_range(*log, 0, 1000);
    ASSERT_TRUE(log->sync().ok());
  }
  void flip(const std::string& path, uint64_t offset) {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekg(static_cast<std::streamoff>(offset));
    const char c = static_cast<char>(f.get());
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(static_cast<char>(c ^ 0x01));
  }
  TempDir dir_;
  Options o_;
};

TEST_F(SealedDamage, FlippedRecordByteIsFoundByVerifyAndReads) {
  const std::string seg = dir_.sub(segment_file_name(401));
  flip(seg, fs::file_size(seg) / 2);
  auto log = open_ok(dir_.path(), o_);  // cheap checks pass: sizes still match
  ASSERT_TRUE(log);
  EXPECT_TRUE(log->verify_segment(1).ok());
  const util::Status st = log->verify_segment(401);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_TRUE(has_text(st.message(), seg));
  EXPECT_TRUE(has_text(st.message(), "offset"));
  auto segs = log->segments();
  EXPECT_FALSE(segs[1].problem.empty());
  // Reads there now report the damage; other segments are unaffected; appends go on.
  EXPECT_EQ(log->read(500).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(log->prove(600).status().code(), StatusCode::kCorruption);
  EXPECT_TRUE(log->read(10).ok());
  EXPECT_TRUE(log->prove(900).ok());
  EXPECT_TRUE(log->append(make_record(1000)).ok());
}

TEST_F(SealedDamage, ReadsFindTheDamageWithoutAnExplicitVerify) {
  const std::string seg = dir_.sub(segment_file_name(1));
  auto log = open_ok(dir_.path(), o_);
  // Damage after open: the first read of that block reports it with the offset.
  flip(seg, kSegmentHeaderBytes + 20);
  auto r = log->read(1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_TRUE(has_text(r.status().message(), "offset 32"));
  EXPECT_FALSE(log->segments()[0].problem.empty());
}

TEST_F(SealedDamage, VerifySealedOnOpenCountsDamagedSegments) {
  flip(dir_.sub(segment_file_name(1)), 5000);
  Options o = o_;
  o.verify_sealed_on_open = true;
  auto log = open_ok(dir_.path(), o);
  EXPECT_EQ(log->recovery().damaged_segments, 1u);
  EXPECT_FALSE(log->segments()[0].problem.empty());
  EXPECT_TRUE(log->segments()[1].problem.empty());
}

TEST_F(SealedDamage, TruncatedSegmentOrDamagedIndexIsReportedAtOpen) {
  fs::resize_file(dir_.sub(segment_file_name(1)), 3000);
  flip(dir_.sub(index_file_name(401)), 40);
  auto log = open_ok(dir_.path(), o_);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->recovery().damaged_segments, 2u);
  auto segs = log->segments();
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_TRUE(has_text(segs[0].problem, "3000 bytes"));
  EXPECT_TRUE(has_text(segs[1].problem, "checksum"));
  EXPECT_EQ(segs[1].count, 400u);  // learned from the data
  EXPECT_EQ(log->read(5).status().code(), StatusCode::kCorruption);
  // The log still runs: the sequence continues after the last segment.
  EXPECT_EQ(*log->append(make_record(1)), 1001u);
}

TEST_F(SealedDamage, MissingDataFileInTheMiddleIsReported) {
  fs::remove(dir_.sub(segment_file_name(401)));
  auto log = open_ok(dir_.path(), o_);
  ASSERT_TRUE(log);
  auto segs = log->segments();
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_TRUE(has_text(segs[1].problem, "missing"));
  EXPECT_EQ(log->read(450).status().code(), StatusCode::kCorruption);
  EXPECT_TRUE(log->read(850).ok());
}

// ---- retention ----

TEST(MessageLog, RetentionBySizeDeletesTheOldestSealedSegments) {
  TempDir dir;
  Options o;
  o.segment_max_records = 100;
  o.retention_bytes = 3 * 100 * 130;  // about three segments of 100 records of ~125 bytes
  auto log = open_ok(dir.path(), o);
  append_range(*log, 0, 1050);
  ASSERT_TRUE(log->flush().ok());
  auto segs = log->segments();
  uint64_t total = 0;
  for (const SegmentInfo& s : segs)
    total += s.bytes;
  EXPECT_LE(total, o.retention_bytes + segs.back().bytes);
  EXPECT_GE(segs.size(), 3u);
  EXPECT_LT(segs.size(), 6u);
  EXPECT_FALSE(segs.back().sealed);
  const uint64_t oldest = segs.front().first_seq;
  EXPECT_GT(oldest, 1u);
  EXPECT_FALSE(fs::exists(dir.sub(segment_file_name(1))));
  EXPECT_FALSE(fs::exists(dir.sub(index_file_name(1))));
  auto gone = log->read(1);
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(has_text(gone.status().message(), "retention"));
  EXPECT_TRUE(log->read(oldest).ok());
  // Reopen sees the same segments.
  log.reset();
  log = open_ok(dir.path(), o);
  EXPECT_EQ(log->segments().front().first_seq, oldest);
  EXPECT_EQ(log->next_seq(), 1051u);
}

TEST(MessageLog, RetentionByAgeUsesTheLastRecordTimestamp) {
  TempDir dir;
  util::ManualClock clock(10'000);
  Options o;
  o.retention_age = std::chrono::milliseconds(1000);
  o.clock = &clock;
  o.segment_max_age = std::chrono::milliseconds(0);
  auto log = open_ok(dir.path(), o);
  for (int64_t t : {9'000, 9'500, 9'800}) {
    Record r = make_record(1);
    r.timestamp_ms = t;
    ASSERT_TRUE(log->append(r).ok());
    ASSERT_TRUE(log->roll().ok());
  }
  // Now: segments ending at 9000, 9500, 9800 and an empty open one; now = 10000.
  EXPECT_EQ(log->segments().size(), 4u);
  clock.advance_ms(600);  // 10600: 9000 and 9500 are older than 1000 ms
  ASSERT_TRUE(log->maintain().ok());
  auto segs = log->segments();
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0].first_seq, 3u);
  clock.advance_ms(100'000);
  ASSERT_TRUE(log->maintain().ok());
  segs = log->segments();
  ASSERT_EQ(segs.size(), 1u);  // the open segment is never deleted
  EXPECT_FALSE(segs[0].sealed);
  EXPECT_EQ(log->next_seq(), 4u);
}

TEST(MessageLog, IndexLeftByAnInterruptedDeletionIsRemovedAtOpen) {
  TempDir dir;
  Options o;
  o.segment_max_records = 10;
  {
    auto log = open_ok(dir.path(), o);
    append_range(*log, 0, 35);
  }
  // Retention deletes the data file first; a crash before the index goes leaves this.
  fs::remove(dir.sub(segment_file_name(1)));
  auto log = open_ok(dir.path(), o);
  EXPECT_EQ(log->recovery().removed_leftovers, 1u);
  EXPECT_FALSE(fs::exists(dir.sub(index_file_name(1))));
  EXPECT_EQ(log->segments().front().first_seq, 11u);
  EXPECT_EQ(log->recovery().damaged_segments, 0u);
  EXPECT_EQ(log->next_seq(), 36u);
}

// ---- write errors ----

TEST(MessageLog, WriteErrorIsReportedAndSticky) {
  TempDir dir;
  auto log = open_ok(dir.path());
  ASSERT_TRUE(log);
  append_range(*log, 0, 10);
  ASSERT_TRUE(log->flush().ok());
  // A file size limit makes the next write fail with EFBIG, as a full disk would fail it.
  struct rlimit old {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = old;
  lim.rlim_cur = log->segments().back().bytes + 50;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);
  append_range(*log, 10, 20);
  const util::Status st = log->flush();
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_TRUE(has_text(st.message(), segment_file_name(1)));
  // Sticky: nothing more is accepted, so no gap can be hidden.
  auto again = log->append(make_record(99));
  EXPECT_FALSE(again.ok());
  EXPECT_TRUE(has_text(again.status().message(), "reopen"));
  EXPECT_FALSE(log->sync().ok());
  log.reset();
  // Reopening repairs the partial write.
  log = open_ok(dir.path());
  EXPECT_EQ(log->next_seq(), 11u);
  EXPECT_GT(log->recovery().truncated_bytes, 0u);
}

// ---- concurrency ----

TEST(MessageLog, ReadersRunConcurrentlyWithTheWriter) {
  TempDir dir;
  Options o;
  o.segment_max_records = 500;
  o.write_buffer_bytes = 4096;
  auto log = open_ok(dir.path(), o);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> checked{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<uint64_t>(t));
      while (!done.load()) {
        const uint64_t flushed = log->flushed_seq();
        if (flushed <= 1) continue;
        const uint64_t seq = 1 + rng() % (flushed - 1);
        auto segs = log->segments();
        EXPECT_FALSE(segs.empty());
        if (t == 0) {
          auto r = log->read(seq);
          ASSERT_TRUE(r.ok()) << seq << ": " << r.status().to_string();
          ASSERT_EQ(*r, with_seq(make_record(seq - 1), seq));
        } else {
          auto p = log->prove(seq);
          ASSERT_TRUE(p.ok()) << seq << ": " << p.status().to_string();
          ASSERT_TRUE(
              verify_record(with_seq(make_record(seq - 1), seq), p->segment, p->proof).ok());
        }
        checked.fetch_add(1);
      }
    });
  }
  for (uint64_t i = 0; i < 3000; ++i) {
    ASSERT_TRUE(log->append(make_record(i)).ok());
    if (i % 37 == 0) {
      ASSERT_TRUE(log->flush().ok());
    }
  }
  ASSERT_TRUE(log->flush().ok());
  while (checked.load() < 200)
    std::this_thread::yield();
  done.store(true);
  for (auto& t : readers)
    t.join();
  EXPECT_EQ(log->segments().size(), 6u);
}

}  // namespace
}  // namespace imet::store::msglog
