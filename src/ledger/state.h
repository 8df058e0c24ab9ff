// Ledger state records (SPEC 2.3) and their keys in the state key space. Every record has a
// canonical encoding (codec); the state root commits to the set of (key, encoded record) pairs.
// Key space: one prefix byte per record type, then the record's id:
//   'a' addr20 → Account      'd' addr20 → Delegate     'n' addr20(node key) → NodeRecord
//   'v' addr20(device key) → DeviceRecord               'm' name → NameRecord
//   'z' hash32 → Notarization 'l' log_id → AnchorLog    'g' → Globals
//   Proof of Data (ledger/pod.h): 'e' epoch → EpochRecord   'x' receipt id → SettledReceipt
//   'r' block hash → RecentBlock   'R' height → RecentBlock (the recent-hash window)
//   Consensus (ledger/schedule.h, ledger/delegates.h): 'w' → RoundSchedule
//   'D' → DelegateList   'T' addr20 → Tally (votes' weight)   'o' offence id → SettledOffence
// Thread-safety: plain values. Invariants: an Account's unbonding list and votes are bounded by
// the codec caps; LockSchedule has cliff_ms <= end_ms.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ledger/transaction.h"

namespace imet::ledger {

inline constexpr size_t kMaxUnbonding = 32;

// Coins locked until cliff_ms, then released linearly until end_ms (block time, unix ms).
struct LockSchedule {
  Amount total = 0;
  uint64_t cliff_ms = 0;
  uint64_t end_ms = 0;
  Amount locked_at(uint64_t now_ms) const;
  template <typename S>
  void serde(S& s) {
    s.u64(total, "total");
    s.u64(cliff_ms, "cliff_ms");
    s.u64(end_ms, "end_ms");
    s.require(cliff_ms <= end_ms, "cliff_ms must not be after end_ms", "lock");
  }
  bool operator==(const LockSchedule&) const = default;
};

struct Unbonding {
  Amount amount = 0;
  uint64_t release_ms = 0;
  template <typename S>
  void serde(S& s) {
    s.u64(amount, "amount");
    s.u64(release_ms, "release_ms");
  }
  bool operator==(const Unbonding&) const = default;
};

struct Account {
  Amount balance = 0;
  uint64_t nonce = 0;  // the nonce the next transaction must carry
  std::optional<LockSchedule> lock;
  Amount stake = 0;
  std::vector<Unbonding> unbonding;  // release_ms ascending
  std::vector<Address> votes;        // strictly ascending

  // Moves matured unbonding entries into the balance (call with the block time before use).
  void release_unbonded(uint64_t now_ms);
  // balance + stake + unbonding (saturating); the voting weight.
  Amount owned() const;
  // What may leave the account now: the balance minus what the lock still holds beyond the
  // coins already staked or unbonding (locked coins may be staked, not transferred).
  Amount transferable(uint64_t now_ms) const;
  bool empty() const { return *this == Account{}; }

  template <typename S>
  void serde(S& s) {
    s.u64(balance, "balance");
    s.u64(nonce, "nonce");
    s.optional(lock, "lock");
    s.u64(stake, "stake");
    s.vector(unbonding, kMaxUnbonding, "unbonding");
    s.sorted_set(votes, kMaxVotesCap, "votes");
  }
  bool operator==(const Account&) const = default;
};

struct Delegate {
  std::string name;
  uint64_t registered_height = 0;
  // Witness discipline (ledger/schedule.h): consecutive missed slots, and the last jailing: the
  // block that jailed it (0: never) and the first round it may be elected in again.
  uint32_t missed = 0;
  uint64_t jailed_height = 0;
  uint64_t jailed_until_round = 0;
  template <typename S>
  void serde(S& s) {
    s.string(name, kMaxDelegateName, "name");
    s.u64(registered_height, "registered_height");
    s.u32(missed, "missed");
    s.u64(jailed_height, "jailed_height");
    s.u64(jailed_until_round, "jailed_until_round");
  }
  bool operator==(const Delegate&) const = default;
};

struct NodeRecord {
  PublicKey node_key{};
  Address owner{};
  NodeInfo info;
  Amount stake = 0;
  uint64_t registered_height = 0;
  template <typename S>
  void serde(S& s) {
    s.fixed(node_key, "node_key");
    s.fixed(owner, "owner");
    s.object(info, "info");
    s.u64(stake, "stake");
    s.u64(registered_height, "registered_height");
  }
  bool operator==(const NodeRecord&) const = default;
};

struct DeviceRecord {
  PublicKey device_key{};
  Address owner{};
  uint8_t default_tier = 2;
  Address sponsor{};
  uint64_t registered_height = 0;
  template <typename S>
  void serde(S& s) {
    s.fixed(device_key, "device_key");
    s.fixed(owner, "owner");
    s.u8(default_tier, "default_tier");
    s.fixed(sponsor, "sponsor");
    s.u64(registered_height, "registered_height");
  }
  bool operator==(const DeviceRecord&) const = default;
};

struct NameRecord {
  Address owner{};
  NameTarget target;
  uint64_t registered_height = 0;
  uint64_t updated_height = 0;
  template <typename S>
  void serde(S& s) {
    s.fixed(owner, "owner");
    s.object(target, "target");
    s.u64(registered_height, "registered_height");
    s.u64(updated_height, "updated_height");
  }
  bool operator==(const NameRecord&) const = default;
};

struct Notarization {
  Address owner{};
  uint64_t size = 0;
  util::Bytes metadata;
  uint64_t height = 0;
  uint64_t time_ms = 0;
  template <typename S>
  void serde(S& s) {
    s.fixed(owner, "owner");
    s.u64(size, "size");
    s.bytes(metadata, kMaxMetadata, "metadata");
    s.u64(height, "height");
    s.u64(time_ms, "time_ms");
  }
  bool operator==(const Notarization&) const = default;
};

// A log or sidechain anchored on chain: its first submitter owns it; heights strictly increase.
struct AnchorLog {
  Address owner{};
  uint64_t last_height = 0;
  Hash last_root{};
  uint64_t block_height = 0;
  template <typename S>
  void serde(S& s) {
    s.fixed(owner, "owner");
    s.u64(last_height, "last_height");
    s.fixed(last_root, "last_root");
    s.u64(block_height, "block_height");
  }
  bool operator==(const AnchorLog&) const = default;
};

// Chain-wide accounting. Supply invariant: the sum of all accounts' owned coins + node stakes +
// pod_pool + epoch_reward == kTotalSupply (tests/unit/ledger checks it). epoch_reward is the sum
// of the pools of the PoD epochs not yet paid out (ledger/pod.h).
struct Globals {
  Amount pod_pool = 0;      // not yet emitted Proof-of-Data pool
  Amount epoch_reward = 0;  // emitted, awaiting distribution to relaying nodes
  template <typename S>
  void serde(S& s) {
    s.u64(pod_pool, "pod_pool");
    s.u64(epoch_reward, "epoch_reward");
  }
  bool operator==(const Globals&) const = default;
};

namespace keys {
util::Bytes account(const Address& a);
util::Bytes delegate(const Address& a);
// The delegate whose record `key` holds, if it is a delegate key (the inverse of delegate()).
std::optional<Address> delegate_of(util::ByteSpan key);
util::Bytes node(const Address& node_address);
util::Bytes device(const Address& device_address);
util::Bytes name(std::string_view name);
util::Bytes notarization(const Hash& content);
util::Bytes anchor_log(std::string_view log_id);
util::Bytes globals();
inline constexpr uint8_t kAccount = 'a';
inline constexpr uint8_t kDelegate = 'd';
}  // namespace keys

}  // namespace imet::ledger
