// ChainParams: every economic and protocol parameter of a chain, fixed by its genesis file and
// hashed into block 0 (SPEC 2.1: "every parameter in this spec"). Defaults are SPEC's values.
// Thread-safety: plain value. Invariants: validate() holds for any params a chain runs with
// (shares sum to 100 %, caps non-zero, N_min <= N_max ...).
#pragma once

#include <cstdint>

#include "ledger/amount.h"
#include "util/status.h"

namespace imet::ledger {

// Transaction kinds; the numeric values are part of the canonical encoding.
enum class TxKind : uint8_t {
  kTransfer = 1,
  kVote = 2,
  kRegisterDelegate = 3,
  kUnregisterDelegate = 4,
  kRegisterNode = 5,
  kUpdateNode = 6,
  kUnregisterNode = 7,
  kStake = 8,
  kUnstake = 9,
  kPodSettle = 10,
  kNotarize = 11,
  kAnchor = 12,
  kNameRegister = 13,
  kNameUpdate = 14,
  kDeviceRegister = 15,
};
constexpr bool is_valid(TxKind k) {
  return static_cast<uint8_t>(k) >= 1 && static_cast<uint8_t>(k) <= 15;
}
inline constexpr size_t kTxKindCount = 15;
const char* tx_kind_name(TxKind k);

struct FeeSchedule {
  Amount transfer = imet(1) / 2;  // 0.5 IMET [MMT 7.1.2]
  Amount vote = imet(1) / 2;
  Amount register_delegate = imet(200);
  Amount unregister_delegate = imet(1) / 10;
  Amount register_node = imet(10);
  Amount update_node = imet(1) / 10;
  Amount unregister_node = imet(1) / 10;
  Amount stake = imet(1) / 10;
  Amount unstake = imet(1) / 10;
  Amount pod_settle = imet(1) / 100;
  Amount notarize = imet(1) / 10;
  Amount anchor = imet(1) / 10;
  Amount name_register = imet(10);
  Amount name_update = imet(1) / 10;
  Amount device_register = imet(1) / 10;

  Amount min_fee(TxKind k) const;

  template <typename S>
  void serde(S& s) {
    for (Amount* a : {&transfer, &vote, &register_delegate, &unregister_delegate, &register_node,
                      &update_node, &unregister_node, &stake, &unstake, &pod_settle, &notarize,
                      &anchor, &name_register, &name_update, &device_register}) {
      s.u64(*a, "fee");
    }
  }
  bool operator==(const FeeSchedule&) const = default;
};

// Proof of Data (SPEC 6, docs/ledger.md "Proof of Data"). Epochs are counted in blocks from
// genesis: epoch(h) = h / epoch_blocks. Receipts of epoch e settle during epochs e and e+1; the
// epoch's PoD reward is shared at the first block of epoch e+2 in proportion to each relaying
// node's counted weight (tier-weighted receipted bytes, after warm-up and caps).
struct PodParams {
  uint64_t epoch_blocks = 360;    // one hour at 10-second slots
  uint32_t entropy_blocks = 720;  // a receipt's chain_entropy must be one of the last N hashes
  uint32_t tier1_weight = 4;      // weight per byte by delivery tier (SPEC 4: tier 1 costs most)
  uint32_t tier2_weight = 2;
  uint32_t tier3_weight = 1;
  uint64_t pair_cap = 16ull << 30;  // counted weight per (relayer, receiver) pair per epoch
  uint64_t weight_per_staked_imet = 1ull << 30;  // relayer cap per epoch: stake (IMET) x this
  Amount min_stake = imet(100);                  // a relayer node needs this stake to earn
  uint32_t warmup_epochs = 24;  // a node registered fewer epochs ago earns a reduced share
  uint32_t warmup_pct = 50;     // the share counted during warm-up

  uint64_t epoch_of(uint64_t height) const { return height / epoch_blocks; }
  uint32_t tier_weight(uint8_t tier) const {
    return tier == 1 ? tier1_weight : tier == 2 ? tier2_weight : tier3_weight;
  }
  util::Status validate() const;

  template <typename S>
  void serde(S& s) {
    s.u64(epoch_blocks, "epoch_blocks");
    s.u32(entropy_blocks, "entropy_blocks");
    s.u32(tier1_weight, "tier1_weight");
    s.u32(tier2_weight, "tier2_weight");
    s.u32(tier3_weight, "tier3_weight");
    s.u64(pair_cap, "pair_cap");
    s.u64(weight_per_staked_imet, "weight_per_staked_imet");
    s.u64(min_stake, "min_stake");
    s.u32(warmup_epochs, "warmup_epochs");
    s.u32(warmup_pct, "warmup_pct");
  }
  bool operator==(const PodParams&) const = default;
};

struct ChainParams {
  FeeSchedule fees;
  // Block reward [MMT 7.1.2]: per block, from the PoD pool: 5, 4, 3, 2 IMET in years 1-4, then 1.
  uint64_t year_ms = 333ull * 24 * 3600 * 1000;  // a "year" is 333 days
  uint32_t producer_share_pct = 20;              // the rest goes to the epoch's PoD reward
  // Consensus (section 3).
  uint32_t slot_ms = 10'000;
  uint32_t n_min = 27;
  uint32_t n_max = 108;
  uint32_t max_missed_slots = 3;
  uint32_t max_votes = 30;
  // Witness discipline (docs/ledger.md "Consensus state"): a witness that misses max_missed_slots
  // slots in a row is jailed: it stops producing at once and is left out of the next jail_rounds
  // elections. Equivocation evidence at most evidence_max_age_blocks old slashes slash_pct % of the
  // offender's stake (to the PoD pool) and jails it the same way.
  uint32_t jail_rounds = 2;
  uint64_t evidence_max_age_blocks = 10'000;
  uint32_t slash_pct = 10;
  // DEC (dynamic epoch circle): a block is full when its tx count is >= dec_full_pct % of
  // max_block_txs and busy when above dec_idle_pct %; a round is congested when at least
  // dec_congested_pct % of its blocks are full, idle when none is busy. N_active shrinks by
  // max(1, N/4) after dec_shrink_rounds congested rounds in a row, grows by max(1, N/8) after
  // dec_grow_rounds idle rounds in a row.
  uint32_t dec_full_pct = 90;
  uint32_t dec_idle_pct = 25;
  uint32_t dec_congested_pct = 50;
  uint32_t dec_shrink_rounds = 2;
  uint32_t dec_grow_rounds = 3;
  // Stake: unbonding period, in milliseconds of block time.
  uint64_t unbonding_ms = 21ull * 24 * 3600 * 1000;
  // Limits.
  uint32_t max_tx_bytes = 16 * 1024;
  uint32_t max_block_txs = 10'000;
  uint32_t max_expiry_blocks = 100'000;  // expiry may be at most this far ahead
  PodParams pod;

  util::Status validate() const;
  // Reward per block for a block at `elapsed_ms` since genesis time.
  Amount block_reward(uint64_t elapsed_ms) const;

  template <typename S>
  void serde(S& s) {
    s.object(fees, "fees");
    s.u64(year_ms, "year_ms");
    s.u32(producer_share_pct, "producer_share_pct");
    s.u32(slot_ms, "slot_ms");
    s.u32(n_min, "n_min");
    s.u32(n_max, "n_max");
    s.u32(max_missed_slots, "max_missed_slots");
    s.u32(max_votes, "max_votes");
    s.u32(jail_rounds, "jail_rounds");
    s.u64(evidence_max_age_blocks, "evidence_max_age_blocks");
    s.u32(slash_pct, "slash_pct");
    s.u32(dec_full_pct, "dec_full_pct");
    s.u32(dec_idle_pct, "dec_idle_pct");
    s.u32(dec_congested_pct, "dec_congested_pct");
    s.u32(dec_shrink_rounds, "dec_shrink_rounds");
    s.u32(dec_grow_rounds, "dec_grow_rounds");
    s.u64(unbonding_ms, "unbonding_ms");
    s.u32(max_tx_bytes, "max_tx_bytes");
    s.u32(max_block_txs, "max_block_txs");
    s.u32(max_expiry_blocks, "max_expiry_blocks");
    s.object(pod, "pod");
  }
  bool operator==(const ChainParams&) const = default;
};

}  // namespace imet::ledger
