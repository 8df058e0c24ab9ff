#include "store/group_commit.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <string>
#include <utility>

#include "util/log.h"

namespace imet::store {

namespace {

using Clock = std::chrono::steady_clock;

size_t commit_bytes(const GroupCommitter::Commit& c) {
  size_t n = c.batch.payload_bytes();
  for (const msglog::Record& r : c.records)
    n += msglog::frame_size(msglog::RecordView::of(r));
  if (c.shared_owner != nullptr) n += msglog::frame_size(c.shared_record);
  for (const msglog::RecordView& r : c.record_views)
    n += msglog::frame_size(r);
  return n;
}

}  // namespace

GroupCommitter::GroupCommitter(KvStore& kv, msglog::MessageLog* log, Options options)
    : kv_(kv), log_(log), options_(options) {
  if (log_ != nullptr) syncer_ = std::thread([this] { run_syncer(); });
  thread_ = std::thread([this] { run(); });
}

GroupCommitter::~GroupCommitter() {
  stop();
}

bool GroupCommitter::enqueue(Commit&& commit) {
  const size_t bytes = commit_bytes(commit);
  // Copied into the pending arena under the lock; released here, on the caller's thread, after it.
  const std::vector<msglog::Record> own = std::move(commit.records);
  const std::shared_ptr<const void> owner = std::move(commit.shared_owner);
  const std::span<const msglog::RecordView> views = commit.record_views;
  commit.records.clear();
  commit.record_views = {};
  bool wake = false;
  {
    std::unique_lock lk(mu_);
    if (stopping_) {
      lk.unlock();
      if (commit.done) {
        commit.done(util::failed_precondition("group committer is stopped; the commit was not "
                                              "applied"),
                    0);
      }
      return false;
    }
    // `urgent`: the committer must look at once (it may be lingering); `wake`: it must be woken
    // if it sleeps without a deadline (a lingering committer writes a first non-durable commit at
    // the linger's end, within `window` of its arrival, as due_time() says).
    bool urgent = false;
    const bool was_empty = pending_.empty();
    if (was_empty) {
      first_pending_ = Clock::now();
      wake = true;
    }
    if (commit.durable && !pending_durable_) {
      pending_durable_ = true;
      first_durable_ = was_empty ? first_pending_ : Clock::now();
      urgent = true;
    }
    pending_bytes_ += bytes;
    if (pending_bytes_ >= options_.max_batch_bytes) urgent = true;
    if (options_.max_pending_bytes != 0 && pending_bytes_ >= options_.max_pending_bytes &&
        !backlogged_.load(std::memory_order_relaxed)) {
      backlogged_.store(true, std::memory_order_relaxed);
      ++stats_.backlogs;
      urgent = true;
      if (backlog_log_.admit()) {
        util::log::warn("group commit: the message log is behind; producers are held back",
                        {{"pending_bytes", static_cast<uint64_t>(pending_bytes_)},
                         {"backlogs_so_far", stats_.backlogs}});
      }
    }
    for (const msglog::Record& r : own)
      pending_records_.add(msglog::RecordView::of(r));
    if (owner != nullptr) pending_records_.add(commit.shared_record);
    for (const msglog::RecordView& r : views)
      pending_records_.add(r);
    pending_records_.counts.push_back(own.size() + (owner != nullptr ? 1 : 0) + views.size());
    pending_.push_back(std::move(commit));
    wake = (wake && committer_waiting_) || (urgent && (committer_waiting_ || committer_lingering_));
  }
  return wake;
}

void GroupCommitter::when_drained(std::function<void()> fn) {
  {
    std::lock_guard lk(mu_);
    if (backlogged_.load(std::memory_order_relaxed) && !stopped_) {
      drain_waiters_.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

void GroupCommitter::Records::add(const msglog::RecordView& r) {
  ArenaRecord a;
  a.timestamp_ms = r.timestamp_ms;
  a.offset = arena.size();
  a.client_id_len = r.client_id.size();
  a.topic_len = r.topic.size();
  a.payload_len = r.payload.size();
  a.properties_len = r.properties.size();
  a.tier = r.tier;
  a.qos = r.qos;
  a.retain = r.retain;
  arena.resize(a.offset + a.client_id_len + a.topic_len + a.payload_len + a.properties_len);
  uint8_t* p = arena.data() + a.offset;
  const auto put = [&p](const void* data, size_t n) {
    if (n != 0) std::memcpy(p, data, n);
    p += n;
  };
  put(r.client_id.data(), a.client_id_len);
  put(r.topic.data(), a.topic_len);
  put(r.payload.data(), a.payload_len);
  put(r.properties.data(), a.properties_len);
  records.push_back(a);
}

msglog::RecordView GroupCommitter::Records::view(const ArenaRecord& a) const {
  const uint8_t* p = arena.data() + a.offset;
  msglog::RecordView r;
  r.timestamp_ms = a.timestamp_ms;
  r.tier = a.tier;
  r.qos = a.qos;
  r.retain = a.retain;
  r.client_id = {reinterpret_cast<const char*>(p), a.client_id_len};
  p += a.client_id_len;
  r.topic = {reinterpret_cast<const char*>(p), a.topic_len};
  p += a.topic_len;
  r.payload = {p, a.payload_len};
  p += a.payload_len;
  r.properties = {p, a.properties_len};
  return r;
}

void GroupCommitter::Records::clear() {
  arena.clear();
  records.clear();
  counts.clear();
}

void GroupCommitter::stop() {
  std::lock_guard stop_lock(stop_mu_);
  {
    std::lock_guard lk(mu_);
    if (stopped_) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (syncer_.joinable()) {
    {
      std::lock_guard lk(sync_mu_);
      syncer_exit_ = true;
    }
    sync_cv_.notify_all();
    syncer_.join();
  }
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lk(mu_);
    stopped_ = true;
    backlogged_.store(false, std::memory_order_relaxed);
    waiters.swap(drain_waiters_);
  }
  for (auto& fn : waiters)
    fn();
}

void GroupCommitter::run_syncer() {
  std::unique_lock lk(sync_mu_);
  for (;;) {
    sync_cv_.wait(lk, [&] { return sync_requested_ || syncer_exit_; });
    if (!sync_requested_) return;
    sync_requested_ = false;
    lk.unlock();
    util::Status st = log_->sync_flushed();
    lk.lock();
    sync_result_ = std::move(st);
    sync_done_ = true;
    sync_cv_.notify_all();
  }
}

util::Status GroupCommitter::sync_log_during(const std::function<void()>& overlap) {
  {
    std::lock_guard lk(sync_mu_);
    sync_requested_ = true;
    sync_done_ = false;
  }
  sync_cv_.notify_all();
  overlap();
  std::unique_lock lk(sync_mu_);
  sync_cv_.wait(lk, [&] { return sync_done_; });
  return std::move(sync_result_);
}

GroupCommitter::Stats GroupCommitter::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

GroupCommitter::SteadyTime GroupCommitter::due_time() const {
  if (stopping_ || pending_bytes_ >= options_.max_batch_bytes) return SteadyTime::min();
  SteadyTime due = first_pending_ + options_.window;
  // Arrived while the committer lingered: due when the linger ends (earlier than the above).
  if (linger_until_ >= first_pending_) due = std::min(due, linger_until_);
  if (pending_durable_) {
    const SteadyTime durable_due =
        options_.rule == SyncRule::kSpaced
            ? std::max(first_durable_, last_sync_start_ + options_.window)
            : first_durable_ + options_.window;
    due = std::min(due, durable_due);
  }
  return due;
}

void GroupCommitter::run() {
  std::vector<Commit> round;
  std::vector<std::function<void()>> drained;  // drain waiters to call after the lock
  SteadyTime next_maintenance = Clock::now() + options_.maintenance_interval;
  bool linger = false;  // a round ran since the committer last slept without a deadline
  std::unique_lock lk(mu_);
  for (;;) {
    const SteadyTime now = Clock::now();
    if (log_ != nullptr && now >= next_maintenance) {
      lk.unlock();
      if (util::Status st = log_->maintain(); !st.ok()) {
        util::log::error("group commit: message log maintenance failed", {{"error", st.message()}});
      }
      lk.lock();
      next_maintenance = now + options_.maintenance_interval;
      continue;
    }
    if (pending_.empty()) {
      if (stopping_) break;
      if (linger) {
        // One more window with a timed wait (see the header): a non-durable commit arriving now
        // does not wake the committer; it is due at linger_until_.
        linger = false;
        linger_until_ = now + options_.window;
        committer_lingering_ = true;
        cv_.wait_until(lk,
                       log_ != nullptr ? std::min(linger_until_, next_maintenance) : linger_until_);
        committer_lingering_ = false;
        continue;
      }
      committer_waiting_ = true;
      if (log_ != nullptr) {
        cv_.wait_until(lk, next_maintenance);
      } else {
        cv_.wait(lk);
      }
      committer_waiting_ = false;
      continue;
    }
    const SteadyTime due = due_time();
    if (due > now) {
      committer_waiting_ = true;
      cv_.wait_until(lk, log_ != nullptr ? std::min(due, next_maintenance) : due);
      committer_waiting_ = false;
      continue;
    }
    round.swap(pending_);
    std::swap(round_records_, pending_records_);
    if (pending_durable_) last_sync_start_ = now;
    pending_bytes_ = 0;
    pending_durable_ = false;
    linger = true;
    backlogged_.store(false, std::memory_order_relaxed);
    drained.swap(drain_waiters_);
    lk.unlock();
    for (auto& fn : drained)
      fn();
    drained.clear();
    process(round);
    round.clear();
    round_records_.clear();
    lk.lock();
  }
  lk.unlock();
  if (log_ != nullptr) {
    if (util::Status st = log_->sync(); !st.ok()) {
      util::log::error("group commit: final message log sync failed", {{"error", st.message()}});
    }
  }
}

void GroupCommitter::process(std::vector<Commit>& round) {
  const size_t n = round.size();
  results_.assign(n, util::Status());
  first_seqs_.assign(n, 0);
  Stats delta;
  delta.rounds = 1;

  // 1. Records, in submit order.
  bool sync_log = false;
  bool wrote_records = false;
  size_t first_record = 0;  // of commit i in round_records_
  for (size_t i = 0; i < n; ++i) {
    const size_t count = round_records_.counts[i];
    const size_t first = first_record;
    first_record += count;
    if (count == 0) continue;
    if (log_ == nullptr) {
      results_[i] = util::failed_precondition(
          "group commit: the commit carries message log records but the committer has no log");
      continue;
    }
    // All of a commit's records are checked before any is appended: a commit goes in whole or not
    // at all.
    util::Status st;
    for (size_t j = 0; st.ok() && j < count; ++j)
      st = msglog::validate(round_records_.view(round_records_.records[first + j]));
    for (size_t j = 0; st.ok() && j < count; ++j) {
      auto seq = log_->append(round_records_.view(round_records_.records[first + j]));
      if (!seq.ok()) {
        st = seq.status();
        break;
      }
      if (j == 0) first_seqs_[i] = *seq;
      ++delta.records;
      wrote_records = true;
    }
    if (!st.ok()) {
      results_[i] = std::move(st);
      continue;
    }
    if (round[i].durable) sync_log = true;
  }
  // 2. Hand the records to the OS (one write).
  if (wrote_records) {
    if (util::Status st = log_->flush(); !st.ok()) {
      sync_log = false;
      util::log::error("group commit: message log write failed",
                       {{"error", st.message()}, {"commits", n}});
      for (size_t i = 0; i < n; ++i) {
        if (round_records_.counts[i] != 0 && results_[i].ok()) results_[i] = st;
      }
    }
  }

  // 3. The KvStore batches of the commits that are still fine, merged into one write; when the
  //    log needs an fdatasync too, the two syncs run at the same time.
  size_t batches = 0;
  const WriteBatch* single = nullptr;
  bool sync_kv = false;
  for (size_t i = 0; i < n; ++i) {
    if (!results_[i].ok() || round[i].batch.empty()) continue;
    ++batches;
    single = &round[i].batch;
    sync_kv = sync_kv || round[i].durable;
  }
  WriteBatch merged;
  if (batches > 1) {
    for (size_t i = 0; i < n; ++i) {
      if (!results_[i].ok()) continue;
      for (const WriteBatch::Op& op : round[i].batch.ops()) {
        if (op.type == WriteBatch::OpType::kPut) {
          merged.put(op.key, op.value);
        } else {
          merged.del(op.key);
        }
      }
    }
  }
  util::Status kv_status;
  auto write_kv = [&] {
    if (batches == 0) return;
    WriteOptions wo;
    wo.sync = sync_kv;
    kv_status = kv_.write(batches > 1 ? merged : *single, wo);
  };
  util::Status log_status;
  if (sync_log && batches > 0 && options_.overlap_syncs) {
    log_status = sync_log_during(write_kv);
  } else {
    if (sync_log) log_status = log_->sync_flushed();
    write_kv();
  }
  if (sync_log) ++delta.log_syncs;
  if (batches > 0) {
    ++delta.kv_writes;
    if (sync_kv) ++delta.kv_sync_writes;
  }
  if (!log_status.ok()) {
    util::log::error("group commit: message log sync failed",
                     {{"error", log_status.message()}, {"commits", n}});
    for (size_t i = 0; i < n; ++i) {
      if (round_records_.counts[i] != 0 && results_[i].ok()) results_[i] = log_status;
    }
  }
  if (!kv_status.ok()) {
    util::log::error("group commit: KvStore write failed",
                     {{"error", kv_status.message()}, {"batches", batches}, {"sync", sync_kv}});
    for (size_t i = 0; i < n; ++i) {
      if (results_[i].ok() && !round[i].batch.empty()) results_[i] = kv_status;
    }
  }

  // 4. Callbacks, in submit order.
  for (size_t i = 0; i < n; ++i) {
    ++delta.commits;
    if (!results_[i].ok()) {
      ++delta.failed_commits;
      first_seqs_[i] = 0;
    }
    if (!round[i].done) continue;
    try {
      round[i].done(std::move(results_[i]), first_seqs_[i]);
    } catch (const std::exception& e) {
      util::log::error("group commit: a commit callback threw", {{"what", e.what()}});
    } catch (...) {
      util::log::error("group commit: a commit callback threw a non-exception");
    }
  }

  std::lock_guard lk(mu_);
  stats_.commits += delta.commits;
  stats_.failed_commits += delta.failed_commits;
  stats_.records += delta.records;
  stats_.rounds += delta.rounds;
  stats_.log_syncs += delta.log_syncs;
  stats_.kv_writes += delta.kv_writes;
  stats_.kv_sync_writes += delta.kv_sync_writes;
}

}  // namespace imet::store
