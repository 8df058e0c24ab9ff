// GroupCommitter: a committer thread that turns many small commits from the broker's I/O threads
// into few disk writes. A Commit carries message-log records (appended to the access-point log,
// SPEC 4/7) and a KvStore WriteBatch (sessions, subscriptions, retained and queued/inflight
// messages, SPEC 4 durability). Durable commits (QoS 1/2 PUBLISH) get their callback only after the
// log is fdatasync'ed and the round's merged WriteBatch is written with sync=true; one fsync serves
// every commit of the round. The log's fdatasync runs on a second (syncer) thread at the same time
// as the KvStore's synced write, so a durable round costs the slower of the two syncs, not their
// sum. Non-durable commits (QoS 0) are appended and written without waiting for an fsync; their
// callback may be null.
//
// The sync rule (measured in docs/design/message-log.md):
//   kSpaced (default): a durable commit is synced at once unless a sync started less than `window`
//     ago; then it waits until `window` after that sync's start. So an idle node answers after one
//     fsync, and a busy one starts at most one sync per window, each serving everything pending.
//   kFixedDelay: every round with a durable commit waits `window` after the first durable commit
//     arrived (classic group-commit delay).
//   Either way no durable commit waits longer than `window` (plus the round before it) for its sync
//   to start, and a round starts at once when pending commits exceed max_batch_bytes.
// Non-durable commits are gathered for up to `window` (one wake-up and one log write per window at
// most) unless a durable commit makes the round start earlier.
// Lingering: after a round, the committer sleeps one more `window` with a timed wait before it
// sleeps for good (until woken). A non-durable commit that arrives meanwhile does not wake it: it
// is written at the linger's end, which is less than `window` after it arrived. So a steady stream
// of messages that trickle in one at a time (5,000 msg/s: one every 200 µs) costs the committer
// one timed wake-up per window, and the submitting I/O threads no futex call, instead of a
// wake-up call by the first submitter of each round plus the committer's own timed wait. Durable
// commits and a full batch still wake it at once.
//
// Backpressure: pending commits are copied into memory until the committer takes them. When
// clients send faster than the log can be written, that would grow without bound, so once pending
// commits reach max_pending_bytes the committer is backlogged (logged at WARN, at most once a
// minute) and producers that can wait hold back until it takes them (when_drained).
//
// Thread-safety: submit() may be called from any number of threads concurrently; it takes a mutex,
// copies the commit's records into a pending byte arena (so the caller's records and
// shared_owner are released on the caller's thread, and the committer frees nothing per record),
// moves the rest of the commit into a vector and wakes the committer only when it sleeps (no
// allocation per commit once the vectors have grown, no syscall unless the committer must wake).
// enqueue() + wake() split submit() in two for a caller that has work to finish first; whoever
// gets true from enqueue() must call wake() (other submitters rely on it meanwhile).
// Callbacks run on the committer thread, in submit order: keep them short (e.g. post to the
// connection's strand) and do not call stop() from one. While a GroupCommitter runs, it is the
// message log's only writer: nobody else may call the log's writer methods (readers are fine). The
// KvStore may be used by others concurrently (KvStore is thread-safe). The KvStore and the log must
// outlive the GroupCommitter. After a failed log write or sync the log refuses further writes (see
// message_log.h), so every later commit with records fails until the node reopens the log.
//
// Invariants: commits are applied in submit order (FIFO), so records get their seqs in submit
// order; every callback is called exactly once, with OK only if everything the commit asked for
// happened (and, for a durable commit, is on stable storage); disk errors reach the callbacks of
// every affected commit and are logged, never swallowed. stop() (or the destructor) drains: every
// commit submitted before it completes, and the log is synced.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "store/kv_store.h"
#include "store/msglog/message_log.h"
#include "util/log_throttle.h"
#include "util/status.h"

namespace imet::store {

class GroupCommitter {
 public:
  // status, and the seq of the commit's first record (0 if it has none or failed).
  using Callback = std::function<void(util::Status status, uint64_t first_seq)>;

  struct Commit {
    WriteBatch batch;
    std::vector<msglog::Record> records;  // their seq fields are ignored (assigned in order)
    // One more record, given as a view (no Record to build): appended after `records` iff
    // `shared_owner` is set, which must keep the viewed bytes alive until submit() returns (the
    // broker passes the immutable message itself).
    msglog::RecordView shared_record;
    std::shared_ptr<const void> shared_owner;
    // More records given as views, appended after those: the viewed bytes (and the span itself)
    // must stay alive until submit() returns, which copies them and clears the span. The broker
    // passes the QoS 0 messages routed together from one read this way (one commit, one lock).
    std::span<const msglog::RecordView> record_views;
    bool durable = false;
    Callback done;  // may be empty
  };

  enum class SyncRule { kSpaced, kFixedDelay };

  struct Options {
    std::chrono::microseconds window{1000};
    SyncRule rule = SyncRule::kSpaced;
    // Start a round at once when pending commits hold this many bytes (records + batch payload).
    size_t max_batch_bytes = size_t{4} << 20;
    // Run the log's fdatasync on the syncer thread while the KvStore's synced write runs (false:
    // one after the other on the committer thread; for comparison in bench_msglog).
    bool overlap_syncs = true;
    // How often the committer calls MessageLog::maintain() (age-based sealing, retention).
    std::chrono::milliseconds maintenance_interval{1000};
    // Backpressure: once pending commits hold this many bytes, backlogged() is true until the
    // committer takes them into a round (0 = never). Producers that can hold back (the broker's
    // connections stop reading) wait with when_drained(), so what is pending plus the round being
    // written stays near twice this, however fast clients send.
    size_t max_pending_bytes = size_t{16} << 20;
  };

  struct Stats {
    uint64_t commits = 0;         // completed commits
    uint64_t failed_commits = 0;  // completed with an error
    uint64_t records = 0;         // records appended
    uint64_t rounds = 0;          // batches processed
    uint64_t log_syncs = 0;       // MessageLog::sync calls
    uint64_t kv_writes = 0;       // KvStore::write calls
    uint64_t kv_sync_writes = 0;  // of which with sync=true
    uint64_t backlogs = 0;        // times pending commits reached max_pending_bytes
  };

  // `log` may be null (commits must then carry no records). Starts the committer thread.
  GroupCommitter(KvStore& kv, msglog::MessageLog* log, Options options);
  GroupCommitter(KvStore& kv, msglog::MessageLog* log) : GroupCommitter(kv, log, Options{}) {}
  ~GroupCommitter();  // stop()
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Queues a commit. After stop(), the callback is called at once (on the caller's thread) with
  // kFailedPrecondition.
  void submit(Commit&& commit) {
    if (enqueue(std::move(commit))) wake();
  }
  // submit() in two steps: queues the commit (its place in the order is fixed now) and returns
  // whether the committer must be woken, which the caller then does with wake() once it has done
  // what should not wait behind the wake-up (the broker delivers a QoS 1 message in between: the
  // futex wake-up, and the committer it may schedule on this CPU, no longer delay the delivery).
  // Until wake() the committer may sleep on (at most until its next timed wake-up); call it soon.
  bool enqueue(Commit&& commit);
  void wake() { cv_.notify_one(); }
  // True while pending commits hold at least Options::max_pending_bytes: the committer is behind.
  // Lock-free, for a producer to check before it takes in more work (e.g. reads a socket).
  bool backlogged() const { return backlogged_.load(std::memory_order_relaxed); }
  // Calls `fn` once the committer is not backlogged: at once, on this thread, if it is not now (or
  // it is stopped); else on the committer thread when it takes the pending commits into a round,
  // or at stop(). Each call is answered exactly once. Keep `fn` short (post to a strand).
  void when_drained(std::function<void()> fn);
  // Drains pending commits, syncs the log and joins the thread. Idempotent.
  void stop();
  Stats stats() const;

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;

  // A record copied into an arena at submit(): its fields, and its strings at `offset`.
  struct ArenaRecord {
    int64_t timestamp_ms = 0;
    size_t offset = 0;
    size_t client_id_len = 0;
    size_t topic_len = 0;
    size_t payload_len = 0;
    size_t properties_len = 0;
    uint8_t tier = 0;
    uint8_t qos = 0;
    bool retain = false;
  };
  // The records of the commits in a round, in submit order; counts[i] belongs to commit i.
  struct Records {
    util::Bytes arena;
    std::vector<ArenaRecord> records;
    std::vector<size_t> counts;

    void add(const msglog::RecordView& r);
    msglog::RecordView view(const ArenaRecord& r) const;
    void clear();
  };

  void run();
  // When the pending commits are due (mu_ held).
  SteadyTime due_time() const;
  void process(std::vector<Commit>& round);
  // Runs log_->sync_flushed() on the syncer thread while `overlap` runs here; returns its status.
  util::Status sync_log_during(const std::function<void()>& overlap);
  void run_syncer();

  KvStore& kv_;
  msglog::MessageLog* const log_;
  const Options options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Commit> pending_;       // guarded by mu_
  Records pending_records_;           // guarded by mu_
  size_t pending_bytes_ = 0;          // guarded by mu_
  bool pending_durable_ = false;      // guarded by mu_
  SteadyTime first_pending_{};        // guarded by mu_
  SteadyTime first_durable_{};        // guarded by mu_
  SteadyTime last_sync_start_{};      // guarded by mu_
  bool committer_waiting_ = false;    // guarded by mu_: asleep until woken (or its timed wait ends)
  bool committer_lingering_ = false;  // guarded by mu_: asleep until linger_until_
  SteadyTime linger_until_{};         // guarded by mu_
  bool stopping_ = false;             // guarded by mu_
  bool stopped_ = false;              // guarded by mu_
  std::atomic<bool> backlogged_{false};               // written under mu_
  std::vector<std::function<void()>> drain_waiters_;  // guarded by mu_
  util::LogThrottle backlog_log_{std::chrono::minutes(1)};
  Stats stats_;  // guarded by mu_

  // Committer-thread scratch, reused across rounds.
  Records round_records_;
  std::vector<util::Status> results_;
  std::vector<uint64_t> first_seqs_;

  // Hand-off to the syncer thread.
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  bool sync_requested_ = false;  // guarded by sync_mu_
  bool sync_done_ = false;       // guarded by sync_mu_
  bool syncer_exit_ = false;     // guarded by sync_mu_
  util::Status sync_result_;     // guarded by sync_mu_

  std::mutex stop_mu_;  // serializes stop()
  std::thread thread_;
  std::thread syncer_;  // only with a log
};

}  // namespace imet::store
