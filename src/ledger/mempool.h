// Mempool: pending transactions waiting for a block. Admission checks everything that does not
// depend on execution (size, chain id, signature, minimum fee, expiry window, nonce not already
// used, per-account and total limits); transactions are kept per sender in nonce order, and
// select() returns the ready ones (contiguous nonces from the sender's state nonce) in priority
// order: highest fee per byte first across senders, nonce order within a sender.
// Replacement: a pending (sender, nonce) is replaced only by a fee at least 10 % higher. When
// full, a new transaction evicts the lowest-priority pending one only if it pays at least
// replace_bump_pct (10 %) more per byte: at an equal fee rate the new one is refused, never an
// accepted one evicted (a transfer accepted and then lost is the worst outcome for a client). From
// half full on (or from the owner's gap_free_from(), if lower), a transaction whose previous
// nonce is neither executed nor pending is refused.
// Thread-safety: not thread-safe; one owner (the node serialises access).
// Invariants: at most one transaction per (sender, nonce); size() <= limits.max_txs and
// bytes() <= limits.max_bytes; every pending transaction passed check_stateless(); every sender
// with pending transactions has its account nonce cached as of the last on_block() (state only
// changes by blocks, and the owner calls on_block() after each), so admission and selection read
// the state only for senders new to the pool.
#pragma once

#include <cstdint>
#include <map>
#include <unordered_map>

#include "ledger/block_apply.h"

namespace imet::ledger {

class Mempool {
 public:
  struct Limits {
    size_t max_txs = 50'000;
    size_t max_bytes = 64u << 20;
    size_t max_per_account = 64;
    uint32_t replace_bump_pct = 10;
  };

  Mempool(ChainConfig chain, Limits limits) : chain_(std::move(chain)), limits_(limits) {}

  // From this fill level (% of max_txs) on, a transaction is admitted only without a nonce gap.
  static constexpr size_t kGapFreePct = 50;
  const Limits& limits() const { return limits_; }
  // Lowers the size from which nonce gaps are refused (never above kGapFreePct % of max_txs): the
  // node sets it from its admission limit (node/admission_limit.h), which is far below max_txs.
  void set_gap_free_from(size_t pending) { gap_free_from_ = pending; }
  size_t gap_free_from() const;
  // Whether `tx` would replace a pending transaction (same sender and nonce) rather than add one.
  bool replaces_pending(const Transaction& tx) const;

  // `height`: the height of the next block. `state`: the current state (for sender nonces).
  // `signature_checked`: the caller already verified the signature (e.g. in parallel for a
  // batch); every other admission check still runs.
  TxResult add(const Transaction& tx, const StateReader& state, uint64_t height,
               bool signature_checked = false);
  // The same with the transaction's id already computed (id == tx.id()).
  TxResult add(const Transaction& tx, const Hash& id, const StateReader& state, uint64_t height,
               bool signature_checked);
  // Up to `max` ready transactions in priority order.
  std::vector<Transaction> select(const StateReader& state, size_t max) const;
  // Whether add() would refuse `tx` as kMempoolFull whatever else holds: the pool holds max_txs
  // transactions, `tx` replaces none of them, and it pays no more per byte than the lowest pending
  // one (or that one is its sender's). Lets a busy node refuse before verifying the signature.
  bool refuses_as_full(const Transaction& tx) const;
  // After a block: drops transactions whose nonce is used and those expired at `next_height`.
  void on_block(const StateReader& state, uint64_t next_height);

  // Drops one pending transaction (e.g. one that failed to apply while building a block).
  void remove(const Hash& id);

  bool contains(const Hash& id) const { return by_id_.count(id) != 0; }
  const Transaction* find(const Hash& id) const;
  size_t size() const { return by_id_.size(); }
  size_t bytes() const { return bytes_; }

 private:
  struct Entry {
    Transaction tx;
    Hash id{};
    size_t size = 0;
  };
  using Queue = std::map<uint64_t, Entry>;  // by nonce

  static double priority(const Entry& e) { return static_cast<double>(e.tx.fee) / e.size; }
  // Whether fee rate `mine` may evict `theirs`: at least replace_bump_pct % more per byte.
  bool outbids(double mine, double theirs) const;
  void erase(const Address& sender, uint64_t nonce);
  // The lowest-priority pending entry (tail of its sender's queue, so nonces stay contiguous).
  std::optional<std::pair<Address, uint64_t>> lowest() const;
  // The sender's account nonce: cached for senders with pending transactions, else read.
  util::Result<uint64_t> nonce_of(const StateReader& state, const Address& sender) const;

  ChainConfig chain_;
  Limits limits_;
  std::map<Address, Queue> by_sender_;
  std::unordered_map<Hash, std::pair<Address, uint64_t>, crypto::DigestHash> by_id_;
  std::map<Address, uint64_t> state_nonce_;  // the keys of by_sender_
  size_t bytes_ = 0;
  size_t gap_free_from_ = SIZE_MAX;
};

}  // namespace imet::ledger
