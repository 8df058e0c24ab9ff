// Micro-benchmarks of the access-point message log and the group committer.
//   msglog_encode_frame        encode + BLAKE2b leaf hash of one record into a buffer (no log)
//   msglog_leaf_hash, msglog_node_hash   the two BLAKE2b costs inside every append
//   msglog_append              MessageLog::append of a 64-byte-payload record, flushed by the log's
//                              own 1 MiB buffer, segments sealed every 64 MiB (all costs included)
//   msglog_append_sync/N       append N records then sync() (fdatasync): the durable-batch cost
//   file_sync/M                the floor under it: one 160-byte pwrite + fdatasync with plain
//                              POSIX calls, M = 0 appending (the file grows, as the log's open
//                              segment does, so ext4 must also commit the new size), M = 1
//                              overwriting blocks written and synced beforehand (data only, what
//                              a log with preallocated segments would pay)
//   group_commit_qos0          GroupCommitter::submit of one non-durable record per commit (what
//                              the broker does per QoS 0 message); the counter cpu_ns_per_msg is
//                              the whole process's CPU time (submitters + committer thread) per
//                              message
//   group_commit_durable/threads:T   T closed-loop submitters, each waiting for its durable
//                              commit (1 record + a 2-op RocksDB batch) before the next one;
//                              commits/s and syncs per commit, for both sync rules, and with the
//                              log and RocksDB syncs one after the other (spaced_serial_syncs)
// Logs and databases live in fresh directories under $TMPDIR, removed afterwards.
//   ./build/bench/bench_msglog --benchmark_filter=msglog_append
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "crypto/merkle.h"
#include "store/group_commit.h"
#include "store/msglog/message_log.h"
#include "store/rocks_store.h"

namespace {

using imet::store::GroupCommitter;
using imet::store::RocksStore;
using imet::store::msglog::MessageLog;
using imet::store::msglog::Record;
using imet::store::msglog::RecordView;

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "imet-bench-msglog-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Record make_record(uint64_t i) {
  Record r;
  r.timestamp_ms = 1'700'000'000'000 + static_cast<int64_t>(i);
  r.tier = 1;
  r.qos = 0;
  r.client_id = "device-0042";
  r.topic = "factory/line3/sensor/17/temp";
  r.payload.assign(64, static_cast<uint8_t>(i));
  return r;
}

// Process CPU time (all threads) in nanoseconds.
int64_t process_cpu_ns() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return (static_cast<int64_t>(ru.ru_utime.tv_sec) + ru.ru_stime.tv_sec) * 1'000'000'000 +
         (static_cast<int64_t>(ru.ru_utime.tv_usec) + ru.ru_stime.tv_usec) * 1000;
}

std::unique_ptr<MessageLog> open_log(const std::string& dir) {
  auto log = MessageLog::open(dir, imet::store::msglog::Options{});
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.status().to_string().c_str());
    std::abort();
  }
  return std::move(log).value();
}

void msglog_encode_frame(benchmark::State& state) {
  const Record r = make_record(1);
  const RecordView v = RecordView::of(r);
  std::vector<uint8_t> buf(imet::store::msglog::frame_size(v));
  uint64_t seq = 1;
  for (auto _ : state) {
    auto leaf = imet::store::msglog::encode_frame(v, seq++, buf.data());
    benchmark::DoNotOptimize(leaf);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(msglog_encode_frame);

// The two BLAKE2b costs inside append: the leaf hash of the benchmark record's body (134 bytes, two
// 128-byte BLAKE2b blocks with the 0x00 prefix) and one Merkle node hash (65 bytes, one block).
void msglog_leaf_hash(benchmark::State& state) {
  const imet::util::Bytes body = imet::store::msglog::encode_body(RecordView::of(make_record(1)));
  for (auto _ : state) {
    auto h = imet::crypto::merkle_leaf_hash(body);
    benchmark::DoNotOptimize(h);
  }
  state.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(msglog_leaf_hash);

void msglog_node_hash(benchmark::State& state) {
  imet::crypto::Hash256 a{}, b{};
  for (auto _ : state) {
    a = imet::crypto::merkle_node_hash(a, b);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(msglog_node_hash);

void msglog_append(benchmark::State& state) {
  TempDir dir;
  auto log = open_log(dir.path());
  const Record r = make_record(1);
  const int64_t cpu0 = process_cpu_ns();
  for (auto _ : state) {
    auto seq = log->append(r);
    benchmark::DoNotOptimize(seq);
  }
  if (!log->flush().ok()) state.SkipWithError("flush failed");
  const int64_t cpu = process_cpu_ns() - cpu0;
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(imet::store::msglog::frame_size(RecordView::of(r))));
  state.counters["cpu_ns_per_msg"] =
      static_cast<double>(cpu) / static_cast<double>(state.iterations());
}
BENCHMARK(msglog_append);

void msglog_append_sync(benchmark::State& state) {
  TempDir dir;
  auto log = open_log(dir.path());
  const Record r = make_record(1);
  const int64_t batch = state.range(0);
  for (auto _ : state) {
    for (int64_t i = 0; i < batch; ++i) {
      auto seq = log->append(r);
      benchmark::DoNotOptimize(seq);
    }
    if (!log->sync().ok()) state.SkipWithError("sync failed");
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(msglog_append_sync)->Arg(1)->Arg(100)->UseRealTime();

void file_sync(benchmark::State& state) {
  TempDir dir;
  const std::string path = dir.path() + "/file";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    state.SkipWithError("open failed");
    return;
  }
  constexpr size_t kWrite = 160;  // about one 64-byte-payload record frame
  constexpr size_t kFileBytes = size_t{64} << 20;
  const std::vector<uint8_t> data(kWrite, 0x5a);
  const bool overwrite = state.range(0) == 1;
  if (overwrite) {
    const std::vector<uint8_t> zeros(size_t{1} << 20, 0);
    for (size_t off = 0; off < kFileBytes; off += zeros.size()) {
      if (::pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(off)) < 0) std::abort();
    }
    if (::fsync(fd) != 0) std::abort();
  }
  const int64_t cpu0 = process_cpu_ns();
  size_t off = 0;
  for (auto _ : state) {
    if (::pwrite(fd, data.data(), kWrite, static_cast<off_t>(off)) !=
            static_cast<ssize_t>(kWrite) ||
        ::fdatasync(fd) != 0) {
      state.SkipWithError("write or fdatasync failed");
      break;
    }
    off = (off + kWrite) % (kFileBytes - kWrite);
  }
  state.counters["cpu_ns_per_sync"] = static_cast<double>(process_cpu_ns() - cpu0) /
                                      static_cast<double>(std::max<int64_t>(1, state.iterations()));
  ::close(fd);
}
BENCHMARK(file_sync)->ArgName("overwrite")->Arg(0)->Arg(1)->UseRealTime();

void group_commit_qos0(benchmark::State& state) {
  TempDir dir;
  auto log = open_log(dir.path() + "/log");
  auto kv = RocksStore::open(dir.path() + "/db");
  if (!kv.ok()) std::abort();
  uint64_t processed = 0;
  int64_t cpu = 0;
  {
    GroupCommitter gc(**kv, log.get());
    const Record proto = make_record(1);
    const int64_t cpu0 = process_cpu_ns();
    for (auto _ : state) {
      GroupCommitter::Commit c;
      c.records.push_back(proto);  // the copy stands in for the broker building the record
      gc.submit(std::move(c));
    }
    gc.stop();
    cpu = process_cpu_ns() - cpu0;
    processed = gc.stats().records;
  }
  if (processed != static_cast<uint64_t>(state.iterations())) state.SkipWithError("lost records");
  state.SetItemsProcessed(state.iterations());
  state.counters["cpu_ns_per_msg"] =
      static_cast<double>(cpu) / static_cast<double>(state.iterations());
}
BENCHMARK(group_commit_qos0)->UseRealTime();

// Shared by the threads of one group_commit_durable run.
struct DurableFixture {
  TempDir dir;
  std::unique_ptr<MessageLog> log;
  std::unique_ptr<RocksStore> kv;
  std::unique_ptr<GroupCommitter> gc;
};
DurableFixture* g_fixture = nullptr;
std::atomic<int> g_ready{0};

void group_commit_durable(benchmark::State& state, GroupCommitter::SyncRule rule, bool overlap) {
  if (state.thread_index() == 0) {
    auto* f = new DurableFixture();
    f->log = open_log(f->dir.path() + "/log");
    auto kv = RocksStore::open(f->dir.path() + "/db");
    if (!kv.ok()) std::abort();
    f->kv = std::move(kv).value();
    GroupCommitter::Options o;
    o.rule = rule;
    o.overlap_syncs = overlap;
    f->gc = std::make_unique<GroupCommitter>(*f->kv, f->log.get(), o);
    g_fixture = f;
    g_ready.store(state.threads());
  }
  while (g_ready.load() == 0) {
  }
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  uint64_t n = 0;
  const std::string key = "inflight/" + std::to_string(state.thread_index()) + "/";
  for (auto _ : state) {
    GroupCommitter::Commit c;
    c.records.push_back(make_record(n));
    c.batch.put(imet::util::as_bytes(key + std::to_string(n)), imet::util::as_bytes("queued"));
    c.batch.del(imet::util::as_bytes(key + std::to_string(n - 1)));
    c.durable = true;
    c.done = [&](imet::util::Status st, uint64_t) {
      if (!st.ok()) std::abort();
      std::lock_guard lk(mu);
      done = true;
      cv.notify_one();
    };
    {
      std::unique_lock lk(mu);
      done = false;
    }
    g_fixture->gc->submit(std::move(c));
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return done; });
    ++n;
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    // Every thread has left the loop (the benchmark library waits for all before returning from
    // the last iteration), so the committer can be stopped.
    g_fixture->gc->stop();
    const auto stats = g_fixture->gc->stats();
    state.counters["syncs_per_commit"] =
        static_cast<double>(stats.log_syncs) / static_cast<double>(stats.commits);
    state.counters["commits_per_sync"] =
        static_cast<double>(stats.commits) /
        static_cast<double>(std::max<uint64_t>(1, stats.log_syncs));
    g_fixture->gc.reset();
    delete g_fixture;
    g_fixture = nullptr;
    g_ready.store(0);
  }
}
BENCHMARK_CAPTURE(group_commit_durable, spaced, GroupCommitter::SyncRule::kSpaced, true)
    ->Threads(1)
    ->Threads(4)
    ->Threads(16)
    ->UseRealTime();
BENCHMARK_CAPTURE(group_commit_durable, fixed_delay, GroupCommitter::SyncRule::kFixedDelay, true)
    ->Threads(1)
    ->Threads(4)
    ->Threads(16)
    ->UseRealTime();
// The same as `spaced` with the log's fdatasync and the KvStore's synced write one after the other.
BENCHMARK_CAPTURE(group_commit_durable, spaced_serial_syncs, GroupCommitter::SyncRule::kSpaced,
                  false)
    ->Threads(1)
    ->Threads(4)
    ->Threads(16)
    ->UseRealTime();

}  // namespace
