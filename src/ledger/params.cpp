#include "ledger/params.h"

#include <string>

namespace imet::ledger {

const char* tx_kind_name(TxKind k) {
  switch (k) {
    case TxKind::kTransfer:
      return "transfer";
    case TxKind::kVote:
      return "vote";
    case TxKind::kRegisterDelegate:
      return "register_delegate";
    case TxKind::kUnregisterDelegate:
      return "unregister_delegate";
    case TxKind::kRegisterNode:
      return "register_node";
    case TxKind::kUpdateNode:
      return "update_node";
    case TxKind::kUnregisterNode:
      return "unregister_node";
    case TxKind::kStake:
      return "stake";
    case TxKind::kUnstake:
      return "unstake";
    case TxKind::kPodSettle:
      return "pod_settle";
    case TxKind::kNotarize:
      return "notarize";
    case TxKind::kAnchor:
      return "anchor";
    case TxKind::kNameRegister:
      return "name_register";
    case TxKind::kNameUpdate:
      return "name_update";
    case TxKind::kDeviceRegister:
      return "device_register";
  }
  return "unknown";
}

Amount FeeSchedule::min_fee(TxKind k) const {
  switch (k) {
    case TxKind::kTransfer:
      return transfer;
    case TxKind::kVote:
      return vote;
    case TxKind::kRegisterDelegate:
      return register_delegate;
    case TxKind::kUnregisterDelegate:
      return unregister_delegate;
    case TxKind::kRegisterNode:
      return register_node;
    case TxKind::kUpdateNode:
      return update_node;
    case TxKind::kUnregisterNode:
      return unregister_node;
    case TxKind::kStake:
      return stake;
    case TxKind::kUnstake:
      return unstake;
    case TxKind::kPodSettle:
      return pod_settle;
    case TxKind::kNotarize:
      return notarize;
    case TxKind::kAnchor:
      return anchor;
    case TxKind::kNameRegister:
      return name_register;
    case TxKind::kNameUpdate:
      return name_update;
    case TxKind::kDeviceRegister:
      return device_register;
  }
  return UINT64_MAX;
}

util::Status ChainParams::validate() const {
  auto bad = [](const std::string& m) { return util::invalid_argument("chain params: " + m); };
  if (year_ms == 0) return bad("year_ms must be positive");
  if (producer_share_pct > 100) return bad("producer_share_pct must be 0..100");
  if (slot_ms < 100) return bad("slot_ms must be at least 100");
  if (n_min == 0 || n_min > n_max) return bad("need 1 <= n_min <= n_max");
  if (max_missed_slots == 0) return bad("max_missed_slots must be positive");
  if (max_votes == 0 || max_votes > 100) return bad("max_votes must be 1..100");
  if (n_max > 1'000) return bad("n_max must be at most 1000");
  if (slash_pct > 100) return bad("slash_pct must be 0..100");
  if (evidence_max_age_blocks == 0) return bad("evidence_max_age_blocks must be positive");
  if (dec_full_pct == 0 || dec_full_pct > 100) return bad("dec_full_pct must be 1..100");
  if (dec_idle_pct >= dec_full_pct) return bad("dec_idle_pct must be below dec_full_pct");
  if (dec_congested_pct == 0 || dec_congested_pct > 100) {
    return bad("dec_congested_pct must be 1..100");
  }
  if (dec_shrink_rounds == 0 || dec_grow_rounds == 0) {
    return bad("dec_shrink_rounds and dec_grow_rounds must be positive");
  }
  if (max_tx_bytes < 256) return bad("max_tx_bytes must be at least 256");
  if (max_block_txs == 0) return bad("max_block_txs must be positive");
  if (max_expiry_blocks == 0) return bad("max_expiry_blocks must be positive");
  return pod.validate();
}

util::Status PodParams::validate() const {
  auto bad = [](const std::string& m) { return util::invalid_argument("chain params: pod." + m); };
  if (epoch_blocks == 0) return bad("epoch_blocks must be positive");
  if (entropy_blocks == 0 || entropy_blocks > 1'000'000) {
    return bad("entropy_blocks must be 1..1000000");
  }
  if (tier1_weight == 0 || tier2_weight == 0 || tier3_weight == 0) {
    return bad("tier weights must be positive");
  }
  if (pair_cap == 0) return bad("pair_cap must be positive");
  if (weight_per_staked_imet == 0) return bad("weight_per_staked_imet must be positive");
  if (warmup_pct > 100) return bad("warmup_pct must be 0..100");
  return {};
}

Amount ChainParams::block_reward(uint64_t elapsed_ms) const {
  uint64_t year = elapsed_ms / year_ms;  // 0-based
  if (year >= 4) return imet(1);
  return imet(5 - year);
}

}  // namespace imet::ledger
