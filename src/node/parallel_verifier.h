// ParallelVerifier: ledger::SignatureVerifier that spreads Ed25519 verification of a block's
// transactions over a fixed pool of worker threads (one per core by default) plus the calling
// thread. The ledger itself starts no threads (ARCHITECTURE.md); the node injects this.
// Thread-safety: verify() may be called from one thread at a time (it serialises callers with a
// mutex); the workers only touch the current job. Invariants: verify() returns only after every
// signature of the batch has been checked; results do not depend on scheduling.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

#include "ledger/block_apply.h"

namespace imet::node {

class ParallelVerifier final : public ledger::SignatureVerifier {
 public:
  // threads == 0: hardware_concurrency() - 1 workers (the caller is the last core).
  explicit ParallelVerifier(unsigned threads = 0);
  ~ParallelVerifier() override;
  ParallelVerifier(const ParallelVerifier&) = delete;
  ParallelVerifier& operator=(const ParallelVerifier&) = delete;

  std::vector<bool> verify(std::span<const ledger::Transaction> txs) const override;

 private:
  void worker();
  // Claims and verifies chunks of the current job until none are left.
  void drain() const;

  static constexpr size_t kChunk = 64;
  mutable std::mutex call_mu_;  // one verify() at a time
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  mutable std::condition_variable done_cv_;
  mutable std::span<const ledger::Transaction> job_;
  mutable std::vector<char>* results_ = nullptr;  // char, not bool: written concurrently
  mutable size_t next_ = 0;                       // next index to claim (guarded by mu_)
  mutable size_t remaining_ = 0;                  // items not yet verified (guarded by mu_)
  mutable uint64_t generation_ = 0;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace imet::node
