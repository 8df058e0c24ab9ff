// Proof of Data settlement (SPEC 6): validating `pod_settle` receipts, counting each relaying
// node's tier-weighted receipted bytes per epoch, and paying each epoch's PoD reward.
//
// Rules (docs/ledger.md "Proof of Data" lists them with their reject codes):
//  - A receipt is signed by the receiving node's registered key over receipt_signing_bytes();
//    its id is the hash of those bytes, and an id settles once (recorded in state, 'x' keys).
//  - Epochs are ChainParams::pod.epoch_blocks blocks long. A receipt names the epoch of the block
//    whose hash it carries as chain_entropy; that hash must be one of the last
//    pod.entropy_blocks block hashes (a recent-hash index in state, kept by begin_block()), and
//    its epoch must be the current or the previous one.
//  - The sender must own the relayer node; the relayer needs pod.min_stake; relayer and receiver
//    must be different registered nodes with different owners.
//  - Weight = bytes x tier weight, reduced to pod.warmup_pct % while the relayer is in its
//    warm-up, then capped per (relayer, receiver) pair (pod.pair_cap) and per relayer by stake
//    (stake in IMET x pod.weight_per_staked_imet). Capped-off weight earns nothing; the receipt
//    is still consumed.
//  - Reward: the PoD share of every block reward of epoch e accumulates in EpochRecord(e).pool.
//    At the first block of epoch e+2 (after the settlement window of e closed and the reward sat
//    in escrow through epoch e+1) each relayer's owner is paid pool x weight / total weight;
//    the rounding remainder, or the whole pool when nothing was settled, returns to the PoD pool.
// Thread-safety: pure functions over a caller-owned overlay.
// Invariants: supply is conserved: Globals::epoch_reward == sum of the pools of the epochs not yet
// paid; a payout moves exactly EpochRecord::pool out of epoch_reward into accounts and pod_pool.
#pragma once

#include "ledger/apply.h"

namespace imet::ledger {

inline constexpr size_t kMaxEpochRelayers = 100'000;
inline constexpr size_t kMaxRelayerPairs = 100'000;

struct PairWeight {
  Address receiver{};
  uint64_t weight = 0;
  template <typename S>
  void serde(S& s) {
    s.fixed(receiver, "receiver");
    s.u64(weight, "weight");
  }
  bool operator==(const PairWeight&) const = default;
};

// A relaying node's counted work in one epoch. `pairs` is ascending by receiver.
struct RelayerShare {
  Address node{};
  Address owner{};  // paid at the epoch's payout
  uint64_t weight = 0;
  std::vector<PairWeight> pairs;
  template <typename S>
  void serde(S& s) {
    s.fixed(node, "node");
    s.fixed(owner, "owner");
    s.u64(weight, "weight");
    s.vector(pairs, kMaxRelayerPairs, "pairs");
  }
  bool operator==(const RelayerShare&) const = default;
};

// One epoch's PoD reward and the work settled for it. `relayers` is ascending by node.
struct EpochRecord {
  Amount pool = 0;
  uint64_t total_weight = 0;
  std::vector<RelayerShare> relayers;
  template <typename S>
  void serde(S& s) {
    s.u64(pool, "pool");
    s.u64(total_weight, "total_weight");
    s.vector(relayers, kMaxEpochRelayers, "relayers");
  }
  bool operator==(const EpochRecord&) const = default;
};

struct SettledReceipt {
  uint64_t epoch = 0;
  uint64_t height = 0;  // block that settled it
  template <typename S>
  void serde(S& s) {
    s.u64(epoch, "epoch");
    s.u64(height, "height");
  }
  bool operator==(const SettledReceipt&) const = default;
};

// Index entry of a recent block hash (both directions share the record type).
struct RecentBlock {
  uint64_t height = 0;
  Hash hash{};
  template <typename S>
  void serde(S& s) {
    s.u64(height, "height");
    s.fixed(hash, "hash");
  }
  bool operator==(const RecentBlock&) const = default;
};

namespace keys {
util::Bytes pod_epoch(uint64_t epoch);          // 'e' epoch (8 bytes big-endian)
util::Bytes settled_receipt(const Hash& id);    // 'x' receipt id
util::Bytes recent_by_hash(const Hash& hash);   // 'r' block hash
util::Bytes recent_by_height(uint64_t height);  // 'R' height (8 bytes big-endian)
inline constexpr uint8_t kPodEpoch = 'e';
}  // namespace keys

// "IMET/pod-receipt/v1" 0x00 chain_id 0x00 || the receipt's encoding without its signature.
util::Bytes receipt_signing_bytes(std::string_view chain_id, const PodReceipt& r);
Hash receipt_id(std::string_view chain_id, const PodReceipt& r);
// Sets r.receiver to the key's public key and signs (what a receiving node does).
void sign_receipt(PodReceipt& r, std::string_view chain_id, const crypto::SigningKey& receiver);

// Called once per block before its transactions: records the parent hash (height - 1) in the
// recent-hash index, drops the hash that left the window, and at the first block of epoch e+2
// pays epoch e's reward.
util::Status begin_block(StateOverlay& state, uint64_t height, const Hash& prev_hash,
                         const ChainParams& params);
// Adds a block's PoD share to the pool of the epoch of `height` (Globals are updated by the
// caller).
util::Status add_to_epoch_pool(StateOverlay& state, uint64_t height, Amount amount,
                               const ChainParams& params);

// The pod_settle state transition (called by apply_transaction with the sender's address).
TxResult apply_pod_settle(StateOverlay& state, const PodSettle& settle, const Address& sender,
                          const BlockContext& ctx);

}  // namespace imet::ledger
