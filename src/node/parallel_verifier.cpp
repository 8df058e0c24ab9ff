#include "node/parallel_verifier.h"

#include <algorithm>

namespace imet::node {

ParallelVerifier::ParallelVerifier(unsigned threads) {
  if (threads == 0) {
    unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    threads = hw - 1;
  }
  for (unsigned i = 0; i < threads; ++i)
    workers_.emplace_back([this] { worker(); });
}

ParallelVerifier::~ParallelVerifier() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_)
    t.join();
}

void ParallelVerifier::drain() const {
  for (;;) {
    size_t begin, end;
    std::span<const ledger::Transaction> job;
    std::vector<char>* results;
    {
      std::lock_guard lock(mu_);
      if (next_ >= job_.size()) return;
      begin = next_;
      end = std::min(job_.size(), begin + kChunk);
      next_ = end;
      job = job_;
      results = results_;
    }
    for (size_t i = begin; i < end; ++i)
      (*results)[i] = job[i].signature_valid() ? 1 : 0;
    {
      std::lock_guard lock(mu_);
      remaining_ -= end - begin;
      if (remaining_ == 0) done_cv_.notify_all();
    }
  }
}

void ParallelVerifier::worker() {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    drain();
  }
}

std::vector<bool> ParallelVerifier::verify(std::span<const ledger::Transaction> txs) const {
  std::lock_guard call(call_mu_);
  std::vector<char> results(txs.size(), 0);
  {
    std::lock_guard lock(mu_);
    job_ = txs;
    results_ = &results;
    next_ = 0;
    remaining_ = txs.size();
    ++generation_;
  }
  cv_.notify_all();
  drain();
  {
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [&] { return remaining_ == 0; });
    job_ = {};
    results_ = nullptr;
  }
  return std::vector<bool>(results.begin(), results.end());
}

}  // namespace imet::node
