// MemoChecker: the simulation's process-wide signature verification memo. One vote delivered to
// 108 simulated nodes would otherwise be verified 108 times; Ed25519 verification is a pure
// function of (key, message, signature), so the first answer is remembered under the whole
// (key, signature, message), compared in full, and reused by every simulated node. The real node
// uses consensus::DirectChecker (docs/consensus.md, "Simulation").
// Verification ahead of time: when the simulation sends a signed message it calls prefetch(), and
// a worker thread verifies the signature while the simulation goes on with other events; verify()
// then finds the answer, or waits for the worker if it is still at it. Every signature is still
// verified by libsodium exactly once; only the thread differs, and since the answer is a pure
// function of the inputs, a run is the same with or without the worker (tested).
// Thread-safety: verify(), prefetch(), clear() and set_worker() are called from the simulation's
// one thread; the worker touches only the entries handed to it, through stable node pointers
// (std::unordered_map never moves its nodes), and publishes each answer with a release store that
// verify() reads with acquire. Invariants: verify() answers exactly as crypto::verify(); the memo
// holds at most kMaxEntries answers (cleared when full, after the worker has finished every
// entry it was given).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "consensus/signature_check.h"

namespace imet::sim {

class MemoChecker final : public consensus::SignatureChecker {
 public:
  static constexpr size_t kMaxEntries = 1'000'000;
  static MemoChecker& instance();

  MemoChecker() = default;
  MemoChecker(const MemoChecker&) = delete;
  MemoChecker& operator=(const MemoChecker&) = delete;
  ~MemoChecker() override;

  bool verify(const ledger::PublicKey& pk, util::ByteSpan msg,
              const ledger::Signature& sig) const override;

  // Starts verifying (pk, msg, sig) on the worker, unless its answer is known or under way.
  // Without a worker (set_worker(false), the default) it does nothing.
  void prefetch(const ledger::PublicKey& pk, util::ByteSpan msg, const ledger::Signature& sig);

  // Starts (true) or stops (false) the worker thread; stopping waits for its queue to empty.
  void set_worker(bool on);
  bool has_worker() const { return worker_.joinable(); }

  // Forgets every answer (after the worker has finished).
  void clear() const;  // a cache: forgetting changes no answer

  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  uint64_t prefetched() const { return prefetched_; }
  uint64_t waited() const { return waited_; }

 private:
  static constexpr int8_t kPending = -1;
  struct Entry {
    std::atomic<int8_t> state{kPending};  // kPending, 0 (invalid) or 1 (valid)
  };
  // Heterogeneous lookup: a hit is looked up by a view of scratch_, without allocating. The hash
  // is 8 bytes of the signature (after the 32-byte key): Ed25519 signatures are uniformly
  // distributed, and equal hashes are told apart by comparing the whole key.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view k) const {
      uint64_t h = 0;
      std::memcpy(&h, k.data() + 32, sizeof(h));
      return static_cast<size_t>(h);
    }
  };
  using Memo = std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>>;
  using Job = Memo::value_type*;

  void make_key(const ledger::PublicKey& pk, util::ByteSpan msg,
                const ledger::Signature& sig) const;
  static void check(Job job);
  void drain() const;  // waits until the worker has finished every job given to it
  void run();

  mutable Memo memo_;
  mutable std::string scratch_;  // the key being looked up
  mutable uint64_t hits_ = 0;
  mutable uint64_t misses_ = 0;
  uint64_t prefetched_ = 0;
  mutable uint64_t waited_ = 0;

  mutable std::mutex mu_;  // guards jobs_, stop_, busy_
  mutable std::condition_variable cv_;
  mutable std::condition_variable idle_;
  std::deque<Job> jobs_;
  bool stop_ = false;
  bool busy_ = false;
  std::thread worker_;
};

}  // namespace imet::sim
