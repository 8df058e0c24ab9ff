#include "memo_checker.h"

#include <cstring>

namespace imet::sim {

MemoChecker& MemoChecker::instance() {
  static MemoChecker checker;
  return checker;
}

MemoChecker::~MemoChecker() {
  set_worker(false);
}

void MemoChecker::make_key(const ledger::PublicKey& pk, util::ByteSpan msg,
                           const ledger::Signature& sig) const {
  // The key is the whole (pk, sig, msg): compared in full on lookup, so no hash collision can
  // turn one signature's result into another's.
  std::string& key = scratch_;
  key.clear();
  key.append(reinterpret_cast<const char*>(pk.data()), pk.size());
  key.append(reinterpret_cast<const char*>(sig.data()), sig.size());
  key.append(reinterpret_cast<const char*>(msg.data()), msg.size());
}

void MemoChecker::check(Job job) {
  // Unpacks the key into crypto::verify's inputs.
  const std::string& key = job->first;
  ledger::PublicKey pk{};
  ledger::Signature sig{};
  std::memcpy(pk.data(), key.data(), pk.size());
  std::memcpy(sig.data(), key.data() + pk.size(), sig.size());
  const size_t at = pk.size() + sig.size();
  const util::ByteSpan msg(reinterpret_cast<const uint8_t*>(key.data()) + at, key.size() - at);
  job->second.state.store(crypto::verify(pk, msg, sig) ? 1 : 0, std::memory_order_release);
  job->second.state.notify_all();
}

bool MemoChecker::verify(const ledger::PublicKey& pk, util::ByteSpan msg,
                         const ledger::Signature& sig) const {
  make_key(pk, msg, sig);
  if (auto it = memo_.find(std::string_view(scratch_)); it != memo_.end()) {
    ++hits_;
    int8_t s = it->second.state.load(std::memory_order_acquire);
    if (s == kPending) {
      ++waited_;
      do {
        it->second.state.wait(kPending, std::memory_order_acquire);
        s = it->second.state.load(std::memory_order_acquire);
      } while (s == kPending);
    }
    return s == 1;
  }
  ++misses_;
  const bool ok = crypto::verify(pk, msg, sig);
  if (memo_.size() >= kMaxEntries) clear();
  memo_.try_emplace(scratch_).first->second.state.store(ok ? 1 : 0, std::memory_order_relaxed);
  return ok;
}

void MemoChecker::prefetch(const ledger::PublicKey& pk, util::ByteSpan msg,
                           const ledger::Signature& sig) {
  if (!has_worker()) return;
  make_key(pk, msg, sig);
  if (memo_.find(std::string_view(scratch_)) != memo_.end()) return;
  if (memo_.size() >= kMaxEntries) clear();
  Job job = &*memo_.try_emplace(scratch_).first;
  ++prefetched_;
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(job);
  }
  cv_.notify_one();
}

void MemoChecker::drain() const {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return jobs_.empty() && !busy_; });
}

void MemoChecker::clear() const {
  drain();
  memo_.clear();
}

void MemoChecker::set_worker(bool on) {
  if (on == has_worker()) return;
  if (on) {
    stop_ = false;
    worker_ = std::thread([this] { run(); });
    return;
  }
  drain();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  worker_.join();
}

void MemoChecker::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stop_ and nothing left
    Job job = jobs_.front();
    jobs_.pop_front();
    busy_ = true;
    lock.unlock();
    check(job);
    lock.lock();
    busy_ = false;
    if (jobs_.empty()) idle_.notify_all();
  }
}

}  // namespace imet::sim
