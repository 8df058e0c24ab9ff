// GroupCommitter with a real MessageLog and real KvStores (MemoryStore; RocksStore where sync
// matters): FIFO order and seqs in submit order, callbacks only after the log is synced and the
// batch written, many durable submits served by few syncs, concurrent submitters, draining on
// stop, submits after stop, invalid records, disk errors reaching every affected callback, and
// enqueue() leaving the wake-up to its caller.
#include "store/group_commit.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sys/resource.h>

#include "store/memory_store.h"
#include "store/rocks_store.h"
#include "temp_dir.h"

namespace imet::store {
namespace {

using msglog::MessageLog;
using msglog::Record;
using testing::TempDir;
using util::StatusCode;

Record make_record(uint64_t i) {
  Record r;
  r.timestamp_ms = 1000 + static_cast<int64_t>(i);
  r.tier = 1;
  r.qos = 1;
  r.client_id = "c";
  r.topic = "t/" + std::to_string(i);
  r.payload.assign(64, static_cast<uint8_t>(i));
  return r;
}

std::unique_ptr<MessageLog> open_log(const std::string& dir, msglog::Options o = {}) {
  auto log = MessageLog::open(dir, o);
  EXPECT_TRUE(log.ok()) << log.status().to_string();
  return log.ok() ? std::move(log).value() : nullptr;
}

std::optional<std::string> get(const KvReader& kv, const std::string& key) {
  auto r = kv.get(util::as_bytes(key));
  EXPECT_TRUE(r.ok());
  if (!r.ok() || !r->has_value()) return std::nullopt;
  return util::to_string(**r);
}

// Counts callbacks and lets a test wait for a number of them.
class Completions {
 public:
  void add() {
    std::lock_guard lk(mu_);
    ++n_;
    cv_.notify_all();
  }
  bool wait_for(size_t n, std::chrono::seconds timeout = std::chrono::seconds(60)) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return n_ >= n; });
  }
  // A callback that expects success and counts itself.
  GroupCommitter::Callback expect_ok() {
    return [this](util::Status st, uint64_t) {
      EXPECT_TRUE(st.ok()) << st.to_string();
      add();
    };
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t n_ = 0;
};

// What most tests commit to: a message log in a fresh directory and an in-memory store.
struct LogAndStore {
  TempDir dir;
  std::unique_ptr<MessageLog> log = open_log(dir.sub("log"));
  MemoryStore kv;
};

GroupCommitter::Options options(std::chrono::microseconds window,
                                GroupCommitter::SyncRule rule = GroupCommitter::SyncRule::kSpaced) {
  GroupCommitter::Options o;
  o.window = window;
  o.rule = rule;
  return o;
}

GroupCommitter::Commit commit_of(std::vector<Record> records, bool durable,
                                 GroupCommitter::Callback done = nullptr) {
  GroupCommitter::Commit c;
  c.records = std::move(records);
  c.durable = durable;
  c.done = std::move(done);
  return c;
}

// The status and first seq each commit's callback got, by commit index; wait() waits for all.
class Outcomes {
 public:
  explicit Outcomes(size_t n) : status_(n), first_(n) {}
  GroupCommitter::Callback callback(size_t i) {
    return [this, i](util::Status st, uint64_t first) {
      status_[i] = std::move(st);
      first_[i] = first;
      done_.add();
    };
  }
  bool wait() { return done_.wait_for(status_.size()); }
  // Read only after wait() returned true (its mutex orders the callbacks' writes before).
  const util::Status& status(size_t i) const { return status_[i]; }
  uint64_t first(size_t i) const { return first_[i]; }

 private:
  std::vector<util::Status> status_;
  std::vector<uint64_t> first_;
  Completions done_;
};

// The log holds exactly `want` from seq 1 on, each with its seq.
void expect_log_holds(const MessageLog& log, const std::vector<Record>& want) {
  for (size_t k = 0; k < want.size(); ++k) {
    auto r = log.read(k + 1);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    Record expect = want[k];
    expect.seq = k + 1;
    EXPECT_EQ(*r, expect) << "seq " << k + 1;
  }
  EXPECT_EQ(log.next_seq(), want.size() + 1);
}

TEST(GroupCommitter, AppliesCommitsInSubmitOrderWithSeqsInThatOrder) {
  LogAndStore t;
  GroupCommitter gc(t.kv, t.log.get(), options(std::chrono::microseconds(200)));
  std::vector<std::pair<size_t, uint64_t>> order;  // callback order: (commit index, first seq)
  std::mutex mu;
  Completions done;
  size_t next_index = 0;
  std::vector<size_t> records_per_commit;
  for (size_t i = 0; i < 300; ++i) {
    GroupCommitter::Commit c;
    const size_t nrec = i % 4;  // some commits carry no record
    for (size_t k = 0; k < nrec; ++k)
      c.records.push_back(make_record(next_index + k));
    next_index += nrec;
    records_per_commit.push_back(nrec);
    c.batch.put(util::as_bytes("k" + std::to_string(i % 10)), util::as_bytes(std::to_string(i)));
    c.durable = i % 3 == 0;
    c.done = [&, i](util::Status st, uint64_t first) {
      EXPECT_TRUE(st.ok()) << st.to_string();
      std::lock_guard lk(mu);
      order.emplace_back(i, first);
      done.add();
    };
    gc.submit(std::move(c));
  }
  ASSERT_TRUE(done.wait_for(300));
  gc.stop();
  ASSERT_EQ(order.size(), 300u);
  uint64_t expected_seq = 1;
  for (size_t i = 0; i < 300; ++i) {
    EXPECT_EQ(order[i].first, i);
    EXPECT_EQ(order[i].second, records_per_commit[i] == 0 ? 0 : expected_seq) << i;
    expected_seq += records_per_commit[i];
  }
  // Later batches won over earlier ones (FIFO application): key k<j> holds the last i with i%10==j.
  for (size_t j = 0; j < 10; ++j)
    EXPECT_EQ(get(t.kv, "k" + std::to_string(j)), std::to_string(290 + j));
  // The log holds exactly the records, in order.
  EXPECT_EQ(t.log->synced_seq(), next_index + 1);
  for (uint64_t s = 1; s <= next_index; ++s) {
    auto r = t.log->read(s);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->topic, "t/" + std::to_string(s - 1));
  }
}

TEST(GroupCommitter, DurableCallbackComesAfterTheLogSyncAndTheSyncedBatch) {
  TempDir dir;
  auto log = open_log(dir.sub("log"));
  auto kv = RocksStore::open(dir.sub("db"));
  ASSERT_TRUE(kv.ok());
  GroupCommitter gc(**kv, log.get());
  Completions done;
  for (int i = 0; i < 50; ++i) {
    GroupCommitter::Commit c;
    c.records.push_back(make_record(static_cast<uint64_t>(i)));
    const std::string key = "inflight/" + std::to_string(i);
    c.batch.put(util::as_bytes(key), util::as_bytes("msg"));
    c.durable = true;
    MessageLog* l = log.get();
    KvStore* store = kv->get();
    c.done = [&, l, store, key](util::Status st, uint64_t first) {
      EXPECT_TRUE(st.ok()) << st.to_string();
      // The record is on stable storage and the batch is in the store.
      EXPECT_GT(l->synced_seq(), first);
      EXPECT_EQ(get(*store, key), "msg");
      done.add();
    };
    gc.submit(std::move(c));
    if (i % 10 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(done.wait_for(50));
  gc.stop();
  const auto stats = gc.stats();
  EXPECT_EQ(stats.commits, 50u);
  EXPECT_EQ(stats.failed_commits, 0u);
  EXPECT_GE(stats.log_syncs, 1u);
  EXPECT_EQ(stats.kv_sync_writes, stats.kv_writes);  // every round here was durable
}

TEST(GroupCommitter, ManyDurableSubmitsShareFewSyncs) {
  LogAndStore s;
  GroupCommitter gc(s.kv, s.log.get(), options(std::chrono::milliseconds(5)));
  Completions done;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 400;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        gc.submit(commit_of({make_record(static_cast<uint64_t>(t * kPerThread + i))}, true,
                            done.expect_ok()));
      }
    });
  }
  for (auto& t : threads)
    t.join();
  ASSERT_TRUE(done.wait_for(kThreads * kPerThread));
  gc.stop();
  const auto stats = gc.stats();
  EXPECT_EQ(stats.records, static_cast<uint64_t>(kThreads * kPerThread));
  // 3,200 durable commits; without grouping that would be 3,200 fsyncs.
  EXPECT_LT(stats.log_syncs, static_cast<uint64_t>(kThreads * kPerThread / 10))
      << "syncs: " << stats.log_syncs << " rounds: " << stats.rounds;
  EXPECT_EQ(s.log->synced_seq(), static_cast<uint64_t>(kThreads * kPerThread + 1));
}

TEST(GroupCommitter, ConcurrentSubmittersKeepTheirOwnOrderAndSeqsStayDense) {
  LogAndStore s;
  GroupCommitter gc(s.kv, s.log.get(), options(std::chrono::microseconds(300)));
  constexpr int kThreads = 6;
  constexpr int kPerThread = 500;
  std::vector<std::vector<uint64_t>> seqs(kThreads);
  std::mutex mu;
  Completions done;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        GroupCommitter::Commit c;
        Record r = make_record(static_cast<uint64_t>(i));
        r.client_id = "thread-" + std::to_string(t);
        c.records.push_back(std::move(r));
        c.durable = i % 7 == 0;
        c.done = [&, t](util::Status st, uint64_t first) {
          EXPECT_TRUE(st.ok());
          std::lock_guard lk(mu);
          seqs[t].push_back(first);
          done.add();
        };
        gc.submit(std::move(c));
      }
    });
  }
  for (auto& t : threads)
    t.join();
  ASSERT_TRUE(done.wait_for(kThreads * kPerThread));
  gc.stop();
  std::vector<bool> seen(kThreads * kPerThread + 1, false);
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(seqs[t].size(), static_cast<size_t>(kPerThread));
    for (size_t i = 0; i < seqs[t].size(); ++i) {
      ASSERT_GE(seqs[t][i], 1u);
      ASSERT_LE(seqs[t][i], static_cast<uint64_t>(kThreads * kPerThread));
      if (i > 0) {
        EXPECT_GT(seqs[t][i], seqs[t][i - 1]);  // a thread's commits keep its order
      }
      EXPECT_FALSE(seen[seqs[t][i]]);
      seen[seqs[t][i]] = true;
      auto r = s.log->read(seqs[t][i]);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->client_id, "thread-" + std::to_string(t));
      EXPECT_EQ(r->topic, "t/" + std::to_string(i));
    }
  }
}

TEST(GroupCommitter, StopDrainsNonDurableCommitsWithoutCallbacks) {
  TempDir dir;
  const std::string path = dir.sub("log");
  {
    auto log = open_log(path);
    MemoryStore kv;
    GroupCommitter::Options o;
    o.window = std::chrono::milliseconds(50);  // longer than the test takes to submit
    GroupCommitter gc(kv, log.get(), o);
    for (uint64_t i = 0; i < 1000; ++i) {
      GroupCommitter::Commit c;
      c.records.push_back(make_record(i));
      gc.submit(std::move(c));
    }
    gc.stop();
    EXPECT_EQ(gc.stats().records, 1000u);
    EXPECT_EQ(log->synced_seq(), 1001u);  // stop() syncs the log
    // Submitting after stop fails at once, on the caller's thread.
    bool called = false;
    GroupCommitter::Commit late;
    late.records.push_back(make_record(5));
    late.done = [&](util::Status st, uint64_t first) {
      called = true;
      EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
      EXPECT_EQ(first, 0u);
    };
    gc.submit(std::move(late));
    EXPECT_TRUE(called);
    gc.stop();  // idempotent
  }
  auto log = open_log(path);
  EXPECT_EQ(log->next_seq(), 1001u);
}

// Backpressure: while the committer is held inside a round (a callback blocks it), commits pile
// up; at max_pending_bytes it is backlogged, and a drain waiter is called only once it takes them.
// A waiter registered while it is not backlogged, or after stop(), is called at once.
TEST(GroupCommitter, BacklogHoldsProducersBackUntilTheCommitterTakesThePendingCommits) {
  LogAndStore s;
  GroupCommitter::Options o = options(std::chrono::microseconds(0));
  o.max_pending_bytes = 4096;
  GroupCommitter gc(s.kv, s.log.get(), o);
  std::mutex mu;
  std::condition_variable cv;
  bool inside = false;
  bool release = false;
  gc.submit(commit_of({make_record(0)}, false, [&](util::Status, uint64_t) {
    std::unique_lock lk(mu);
    inside = true;
    cv.notify_all();
    cv.wait(lk, [&] { return release; });
  }));
  {
    std::unique_lock lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(10), [&] { return inside; }));
  }
  bool at_once = false;
  gc.when_drained([&] { at_once = true; });
  EXPECT_TRUE(at_once);
  uint64_t n = 1;
  while (!gc.backlogged() && n < 1000)
    gc.submit(commit_of({make_record(n++)}, false));
  ASSERT_TRUE(gc.backlogged());
  // A record frames to about 100 bytes: it took about 4096 bytes of them, not the first one.
  EXPECT_GT(n, 20u);
  std::atomic<int> drained{0};
  gc.when_drained([&] { ++drained; });
  gc.when_drained([&] { ++drained; });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(drained.load(), 0);  // the committer is still held in the first round
  EXPECT_TRUE(gc.backlogged());
  EXPECT_EQ(gc.stats().backlogs, 1u);
  {
    std::lock_guard lk(mu);
    release = true;
  }
  cv.notify_all();
  for (int i = 0; i < 1000 && drained.load() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(drained.load(), 2);
  EXPECT_FALSE(gc.backlogged());
  gc.stop();
  EXPECT_EQ(gc.stats().records, n);
  bool after_stop = false;
  gc.when_drained([&] { after_stop = true; });
  EXPECT_TRUE(after_stop);
}

TEST(GroupCommitter, InvalidRecordFailsOnlyItsCommitAndItsBatchIsNotWritten) {
  LogAndStore s;
  GroupCommitter gc(s.kv, s.log.get());
  Outcomes out(3);
  for (int i = 0; i < 3; ++i) {
    GroupCommitter::Commit c = commit_of(
        {make_record(static_cast<uint64_t>(i)), make_record(static_cast<uint64_t>(i) + 10)}, true,
        out.callback(i));
    if (i == 1) c.records[1].qos = 7;
    c.batch.put(util::as_bytes("key" + std::to_string(i)), util::as_bytes("v"));
    gc.submit(std::move(c));
  }
  ASSERT_TRUE(out.wait());
  gc.stop();
  EXPECT_TRUE(out.status(0).ok());
  EXPECT_EQ(out.status(1).code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out.status(1).message().find("qos 7"), std::string::npos);
  EXPECT_TRUE(out.status(2).ok());
  EXPECT_EQ(out.first(0), 1u);
  EXPECT_EQ(out.first(1), 0u);
  EXPECT_EQ(out.first(2), 3u);  // none of commit 1's records were appended
  EXPECT_TRUE(get(s.kv, "key0"));
  EXPECT_FALSE(get(s.kv, "key1"));
  EXPECT_TRUE(get(s.kv, "key2"));
}

// A record given as a view (shared_record + shared_owner) is appended after the commit's own
// records and validated with them (an invalid one fails the whole commit). submit() copies it, so
// the owner is released before submit() returns.
TEST(GroupCommitter, SharedRecordIsAppendedAfterOwnRecordsAndItsOwnerReleased) {
  LogAndStore s;
  GroupCommitter gc(s.kv, s.log.get());
  Outcomes out(3);
  std::vector<std::weak_ptr<const Record>> owners;
  for (int i = 0; i < 3; ++i) {
    auto owned = std::make_shared<const Record>([&] {
      Record r = make_record(static_cast<uint64_t>(100 + i));
      if (i == 1) r.tier = 9;
      return r;
    }());
    owners.push_back(owned);
    GroupCommitter::Commit c =
        commit_of({make_record(static_cast<uint64_t>(i))}, false, out.callback(i));
    c.shared_record = msglog::RecordView::of(*owned);
    c.shared_owner = std::move(owned);
    gc.submit(std::move(c));
    EXPECT_TRUE(owners.back().expired());
  }
  ASSERT_TRUE(out.wait());
  gc.stop();
  EXPECT_TRUE(out.status(0).ok());
  EXPECT_EQ(out.status(1).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(out.status(2).ok());
  EXPECT_EQ(out.first(0), 1u);
  EXPECT_EQ(out.first(2), 3u);  // nothing of commit 1 was appended
  // Expected contents built independently: each commit's own record, then its shared one.
  ASSERT_NO_FATAL_FAILURE(expect_log_holds(
      *s.log, {make_record(0), make_record(100), make_record(2), make_record(102)}));
}

// Records given as a span of views (record_views) are appended after the commit's own and shared
// records, in the span's order; submit() copies them, so the viewed records may be changed or
// freed as soon as it returns.
TEST(GroupCommitter, RecordViewsAreAppendedInOrderAndCopiedAtSubmit) {
  LogAndStore s;
  GroupCommitter gc(s.kv, s.log.get());
  Completions done;
  {
    auto viewed = std::make_unique<std::vector<Record>>();
    for (uint64_t i = 10; i < 14; ++i)
      viewed->push_back(make_record(i));
    std::vector<msglog::RecordView> views;
    for (const Record& r : *viewed)
      views.push_back(msglog::RecordView::of(r));
    auto shared = std::make_shared<const Record>(make_record(5));
    GroupCommitter::Commit c;
    c.records.push_back(make_record(1));
    c.shared_record = msglog::RecordView::of(*shared);
    c.shared_owner = shared;
    c.record_views = views;
    c.batch.put(util::as_bytes(std::string_view("k")), util::as_bytes(std::string_view("v")));
    gc.submit(std::move(c));
    // Overwritten and freed right after submit(): the log must hold the values at submit time.
    for (Record& r : *viewed)
      r.payload.assign(64, 0xEE);
    viewed.reset();
    gc.submit(commit_of({make_record(20)}, false, [&](util::Status st, uint64_t first) {
      EXPECT_TRUE(st.ok());
      EXPECT_EQ(first, 7u);
      done.add();
    }));
  }
  ASSERT_TRUE(done.wait_for(1));
  gc.stop();
  ASSERT_NO_FATAL_FAILURE(
      expect_log_holds(*s.log, {make_record(1), make_record(5), make_record(10), make_record(11),
                                make_record(12), make_record(13), make_record(20)}));
  EXPECT_EQ(get(s.kv, "k"), "v");
}

TEST(GroupCommitter, RecordsWithoutALogFailClearly) {
  MemoryStore kv;
  GroupCommitter gc(kv, nullptr);
  Completions done;
  util::Status result;
  GroupCommitter::Commit c;
  c.records.push_back(make_record(1));
  c.batch.put(util::as_bytes("a"), util::as_bytes("b"));
  c.done = [&](util::Status st, uint64_t) {
    result = st;
    done.add();
  };
  gc.submit(std::move(c));
  GroupCommitter::Commit kv_only = commit_of({}, true, done.expect_ok());
  kv_only.batch.put(util::as_bytes("x"), util::as_bytes("y"));
  gc.submit(std::move(kv_only));
  ASSERT_TRUE(done.wait_for(2));
  EXPECT_EQ(result.code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(get(kv, "a"));
  EXPECT_EQ(get(kv, "x"), "y");
}

// A KvStore whose writes fail on demand (the RocksDB failure we cannot provoke on a healthy disk);
// everything else goes to a real MemoryStore.
class FailingWrites final : public KvStore {
 public:
  util::Result<std::optional<util::Bytes>> get(util::ByteSpan key) const override {
    return inner_.get(key);
  }
  std::unique_ptr<KvIterator> iterator() const override { return inner_.iterator(); }
  util::Status put(util::ByteSpan key, util::ByteSpan value, WriteOptions o) override {
    return inner_.put(key, value, o);
  }
  util::Status del(util::ByteSpan key, WriteOptions o) override { return inner_.del(key, o); }
  util::Status write(const WriteBatch& batch, WriteOptions o) override {
    if (fail_.load()) return util::io_error("injected: No space left on device");
    return inner_.write(batch, o);
  }
  std::unique_ptr<KvSnapshot> snapshot() const override { return inner_.snapshot(); }
  std::atomic<bool> fail_{false};

 private:
  MemoryStore inner_;
};

TEST(GroupCommitter, KvWriteErrorsReachTheCallbacksOfCommitsWithBatches) {
  TempDir dir;
  auto log = open_log(dir.sub("log"));
  FailingWrites kv;
  kv.fail_ = true;
  GroupCommitter gc(kv, log.get());
  Outcomes out(2);  // 0: with a batch, 1: without
  GroupCommitter::Commit a = commit_of({make_record(1)}, true, out.callback(0));
  a.batch.put(util::as_bytes("a"), util::as_bytes("1"));
  gc.submit(std::move(a));
  gc.submit(commit_of({make_record(2)}, true, out.callback(1)));
  ASSERT_TRUE(out.wait());
  gc.stop();
  EXPECT_EQ(out.status(0).code(), StatusCode::kIoError);
  EXPECT_NE(out.status(0).message().find("No space left"), std::string::npos);
  EXPECT_TRUE(out.status(1).ok());  // its record is synced; it asked for nothing else
  EXPECT_GE(gc.stats().failed_commits, 1u);
}

TEST(GroupCommitter, LogWriteErrorsReachEveryDurableCallback) {
  LogAndStore s;
  // A file size limit makes the log's write fail with EFBIG (as a full disk would).
  struct rlimit old {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = old;
  lim.rlim_cur = 1000;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);
  Outcomes out(20);
  {
    GroupCommitter gc(
        s.kv, s.log.get(),
        options(std::chrono::milliseconds(20), GroupCommitter::SyncRule::kFixedDelay));
    for (int i = 0; i < 20; ++i)
      gc.submit(commit_of({make_record(static_cast<uint64_t>(i))}, true, out.callback(i)));
    EXPECT_TRUE(out.wait());
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  int failed = 0;
  for (size_t i = 0; i < 20; ++i) {
    const util::Status& st = out.status(i);
    if (!st.ok()) {
      ++failed;
      EXPECT_EQ(st.code(), StatusCode::kIoError) << st.to_string();
    }
  }
  // 20 records of ~110 bytes cannot fit in 1000 bytes: all of them were in the failed round(s).
  EXPECT_EQ(failed, 20);
}

TEST(GroupCommitter, FixedDelayRuleWaitsTheWindowBeforeSyncing) {
  LogAndStore s;
  GroupCommitter gc(s.kv, s.log.get(),
                    options(std::chrono::milliseconds(30), GroupCommitter::SyncRule::kFixedDelay));
  Completions done;
  const auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point finished;
  gc.submit(commit_of({make_record(1)}, true, [&](util::Status st, uint64_t) {
    EXPECT_TRUE(st.ok());
    finished = std::chrono::steady_clock::now();
    done.add();
  }));
  ASSERT_TRUE(done.wait_for(1));
  EXPECT_GE(finished - start, std::chrono::milliseconds(30));
}

// enqueue() + wake(): the committer, asleep, is not woken by enqueue() (the broker delivers a QoS
// 1 message in between); enqueue() says it must be woken, later enqueues rely on that wake-up
// (they return false), and after wake() every queued commit lands in enqueue order.
TEST(GroupCommitter, EnqueueLeavesTheWakeUpToTheCallerAndKeepsTheOrder) {
  LogAndStore s;
  GroupCommitter::Options o = options(std::chrono::microseconds(0));
  o.maintenance_interval = std::chrono::minutes(10);  // no timed wake-up during the test
  GroupCommitter gc(s.kv, s.log.get(), o);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the committer sleeps
  Outcomes out(3);
  const std::vector<Record> recs = {make_record(1), make_record(2), make_record(3)};
  EXPECT_TRUE(gc.enqueue(commit_of({recs[0]}, true, out.callback(0))));
  EXPECT_FALSE(gc.enqueue(commit_of({recs[1]}, false, out.callback(1))));
  EXPECT_FALSE(gc.enqueue(commit_of({recs[2]}, true, out.callback(2))));
  // Not woken: nothing is applied.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(gc.stats().commits, 0u);
  gc.wake();
  ASSERT_TRUE(out.wait());
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(out.status(i).ok()) << out.status(i).to_string();
    EXPECT_EQ(out.first(i), i + 1);
  }
  gc.stop();
  expect_log_holds(*s.log, recs);
}

// Lingering: right after a round the committer waits one more window on a timer, so a non-durable
// commit then needs no wake-up (enqueue() returns false, and without wake() it is still written,
// within the window); a durable one does (it must not wait for the linger's end); after a window
// without commits the committer sleeps until woken again (enqueue() returns true).
TEST(GroupCommitter, LingersOneWindowAfterARoundSoNonDurableCommitsNeedNoWakeUp) {
  LogAndStore s;
  // A long window, so that a slow machine pausing this thread between a round and the next
  // enqueue() does not end the linger first.
  GroupCommitter::Options o = options(std::chrono::milliseconds(1000));
  o.maintenance_interval = std::chrono::minutes(10);  // no timed wake-up but the linger
  GroupCommitter gc(s.kv, s.log.get(), o);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the committer sleeps
  std::vector<Record> recs;
  for (uint64_t i = 1; i <= 4; ++i)
    recs.push_back(make_record(i));
  Completions done;
  // Asleep without a deadline: the first commit needs the wake-up.
  EXPECT_TRUE(gc.enqueue(commit_of({recs[0]}, false, done.expect_ok())));
  gc.wake();
  ASSERT_TRUE(done.wait_for(1));
  // The round just ran (or is finishing): no wake-up needed, and none is given.
  const auto queued = std::chrono::steady_clock::now();
  EXPECT_FALSE(gc.enqueue(commit_of({recs[1]}, false, done.expect_ok())));
  ASSERT_TRUE(done.wait_for(2, std::chrono::seconds(10)));
  EXPECT_LT(std::chrono::steady_clock::now() - queued, std::chrono::seconds(5));
  // Lingering again after that round (given time to end it): a durable commit still asks for the
  // wake-up at once.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(gc.enqueue(commit_of({recs[2]}, true, done.expect_ok())));
  gc.wake();
  ASSERT_TRUE(done.wait_for(3));
  // A window and more without commits: asleep for good, the next commit needs the wake-up.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_TRUE(gc.enqueue(commit_of({recs[3]}, false, done.expect_ok())));
  gc.wake();
  ASSERT_TRUE(done.wait_for(4));
  gc.stop();
  expect_log_holds(*s.log, recs);
}

TEST(GroupCommitter, CallbackExceptionsDoNotStopTheCommitter) {
  LogAndStore s;
  GroupCommitter gc(s.kv, s.log.get());
  Completions done;
  gc.submit(commit_of({}, true, [&](util::Status, uint64_t) {
    done.add();
    throw std::runtime_error("callback bug");
  }));
  gc.submit(commit_of({make_record(1)}, true, [&](util::Status st, uint64_t first) {
    EXPECT_TRUE(st.ok());
    EXPECT_EQ(first, 1u);
    done.add();
  }));
  ASSERT_TRUE(done.wait_for(2));
}

}  // namespace
}  // namespace imet::store
