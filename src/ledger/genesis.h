// Genesis (SPEC 2.1): the chain id, the genesis time, every chain parameter, the initial
// accounts (with lock-up schedules) and delegates, and the Proof-of-Data pool. It is read from and
// written to JSON (amounts as decimal IMET strings, addresses as imet1…), and its canonical binary
// encoding is hashed into block 0, so two nodes with different genesis files can never agree on a
// block.
// Thread-safety: plain values and pure functions.
// Invariants: a Genesis returned by parse_genesis_json() or built by the make_* functions passes
// validate(): allocations sum exactly to the total supply (100,000,000 IMET), addresses are unique,
// parameters are valid.
#pragma once

#include <string>
#include <vector>

#include "ledger/state.h"
#include "ledger/state_view.h"

namespace imet::ledger {

struct GenesisAccount {
  Address address{};
  Amount balance = 0;
  std::optional<LockSchedule> lock;  // total <= balance + stake
  Amount stake = 0;                  // initial stake (testnet witnesses are slashable from block 1)
  std::vector<Address> votes{};      // initial delegate approvals (genesis delegates), ascending
  template <typename S>
  void serde(S& s) {
    s.fixed(address, "address");
    s.u64(balance, "balance");
    s.optional(lock, "lock");
    s.u64(stake, "stake");
    s.sorted_set(votes, kMaxVotesCap, "votes");
  }
  bool operator==(const GenesisAccount&) const = default;
};

struct GenesisDelegate {
  Address address{};
  std::string name;
  template <typename S>
  void serde(S& s) {
    s.fixed(address, "address");
    s.string(name, kMaxDelegateName, "name");
  }
  bool operator==(const GenesisDelegate&) const = default;
};

inline constexpr size_t kMaxGenesisAccounts = 100'000;
inline constexpr size_t kMaxGenesisDelegates = 1'000;

struct Genesis {
  std::string chain_id;
  uint64_t genesis_time_ms = 0;
  ChainParams params;
  Amount pod_pool = 0;
  std::vector<GenesisAccount> accounts;
  std::vector<GenesisDelegate> delegates;

  util::Status validate() const;
  Hash hash() const;  // BLAKE2b-256 of the canonical encoding
  // Writes the initial state: accounts (with their votes), the delegates' tallies, delegates (and
  // the delegate list), globals, and the schedule of round 0 (start height 1,
  // n = clamp(#delegates, 1, n_max), the delegates ranked by tally then address, shuffled with the
  // genesis hash as seed).
  void apply(StateOverlay& state) const;

  template <typename S>
  void serde(S& s) {
    s.string(chain_id, kMaxChainId, "chain_id");
    s.u64(genesis_time_ms, "genesis_time_ms");
    s.object(params, "params");
    s.u64(pod_pool, "pod_pool");
    s.vector(accounts, kMaxGenesisAccounts, "accounts");
    s.vector(delegates, kMaxGenesisDelegates, "delegates");
  }
  bool operator==(const Genesis&) const = default;
};

util::Result<Genesis> parse_genesis_json(std::string_view text);
std::string genesis_to_json(const Genesis& g);

// A dev chain: one delegate (the given address) that holds all non-pool coins and votes for
// itself (so a delegate registered later cannot outrank it), 1-second slots, N_min = N_max = 1.
Genesis make_dev_genesis(const Address& delegate, uint64_t genesis_time_ms,
                         std::string chain_id = "imet-dev");

// A local test network: one delegate per address (named w0, w1, ...), each holding an equal share
// of the non-pool coins of which `stake_each` is staked (slashable from block 1) and voting for
// itself, slot_ms slots, at most 10 transactions per slot millisecond in a block (min 1,000),
// N_min = N_max = the number of witnesses (a fixed witness set), short PoD epochs as on a dev
// chain.
Genesis make_testnet_genesis(const std::vector<Address>& witnesses, uint64_t genesis_time_ms,
                             std::string chain_id = "imet-testnet", uint32_t slot_ms = 500,
                             Amount stake_each = imet(10'000));

struct DefaultAllocation {
  Address foundation{}, team{}, consensus_round{}, angel_round{};
  std::vector<GenesisDelegate> delegates;
};
// SPEC 2.1's default allocation: 60 % PoD pool; 10 % foundation and 10 % team, each locked for
// 2 years (730 days) then released linearly over the next 2 years; 6 % consensus round; 14 % angel.
Genesis make_default_genesis(const DefaultAllocation& alloc, uint64_t genesis_time_ms,
                             std::string chain_id);

}  // namespace imet::ledger
