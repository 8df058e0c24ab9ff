// AdmissionLimit: how many transactions a node lets wait in its mempool before it refuses new
// ones from clients ("busy": HTTP 503 with Retry-After), so that an overloaded network sheds the
// excess at the door instead of accepting transfers it cannot finalize for many slots (issue 5).
// The limit follows what the chain actually finalizes: an exponentially weighted moving average
// of transactions per millisecond over final blocks (measured in block time, so it is the same
// on every node and independent of when this node heard of the block), times `slots` slot
// lengths, never below `floor` (a fresh or idle chain still takes a burst) nor above `ceiling`
// (the mempool's hard cap). With slots = 0 the limit is off (always the ceiling).
// Pure logic: no clock, no I/O; the owner (node::Chain) feeds it each final block.
// Thread-safety: not thread-safe; one owner (the node's chain strand). Invariants: floor <= limit()
// <= ceiling whenever floor <= ceiling; rate_per_ms() >= 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace imet::node {

class AdmissionLimit {
 public:
  struct Options {
    // k: the backlog allowed, in slots of the finalized rate. 0 turns the limit off. At saturation
    // a transaction waits about k slots (Little's law) before its block, so k is the latency an
    // overloaded network settles at; 2 kept the 4-node testnet's goodput with the lowest latency
    // of 2, 3 and 4 (docs/benchmarks.md, "Consensus").
    uint32_t slots = 2;
    // The limit never goes below this many transactions.
    size_t floor = 2000;
    // Time constant of the moving average, in slots: a change of rate is half absorbed after
    // about 0.7 of it.
    double horizon_slots = 4;
  };

  AdmissionLimit(Options options, uint32_t slot_ms, size_t ceiling);

  // A block became final: `txs` transactions, block time `time_ms`. The first block only sets
  // the reference time. Blocks whose time is not after the previous one count as one slot later.
  void on_final_block(size_t txs, uint64_t time_ms);

  // Transactions finalized per millisecond (the moving average; 0 before two blocks were seen).
  double rate_per_ms() const { return rate_per_ms_; }
  double rate_per_s() const { return rate_per_ms_ * 1000.0; }
  // The number of pending transactions from which new client transactions are refused.
  size_t limit() const;
  // Whether a node with `pending` transactions refuses another one.
  bool refuses(size_t pending) const { return pending >= limit(); }
  // Seconds a refused client should wait (Retry-After): the time the chain needs to finalize the
  // excess over the limit at the measured rate, at least one slot, rounded up; 1..60.
  uint32_t retry_after_s(size_t pending) const;
  const Options& options() const { return options_; }

 private:
  Options options_;
  uint32_t slot_ms_;
  size_t ceiling_;
  double rate_per_ms_ = 0;
  std::optional<uint64_t> last_time_ms_;
};

}  // namespace imet::node
