// Delegate bookkeeping the witness election needs without scanning state (SPEC 3): the list of
// registered delegates ('D', one record), and each delegate's tally ('T' addr), the sum of
// Account::owned() over the accounts voting for it. write_account() is the one way ledger code
// stores an account: it keeps the tallies exact whenever a voter's owned coins or its votes change
// (transfers, fees, rewards, stake, unstake, PoD payouts, slashing), so the tally never drifts.
// Thread-safety: pure functions over a caller-owned overlay.
// Invariants: for every address d, Tally(d) == sum of owned() over accounts whose votes contain d
// (absent record == 0); DelegateList holds exactly the addresses with a Delegate record, strictly
// ascending.
#pragma once

#include <vector>

#include "ledger/state.h"
#include "ledger/state_view.h"

namespace imet::ledger {

inline constexpr size_t kMaxDelegates = 10'000;  // registered delegates (the list is one record)

struct DelegateList {
  std::vector<Address> delegates;  // strictly ascending
  template <typename S>
  void serde(S& s) {
    s.sorted_set(delegates, kMaxDelegates, "delegates");
  }
  bool operator==(const DelegateList&) const = default;
};

struct Tally {
  Amount weight = 0;
  template <typename S>
  void serde(S& s) {
    s.u64(weight, "weight");
  }
  bool operator==(const Tally&) const = default;
};

// An offence (Evidence::offence_id) already slashed, and the block that slashed it.
struct SettledOffence {
  uint64_t height = 0;
  template <typename S>
  void serde(S& s) {
    s.u64(height, "height");
  }
  bool operator==(const SettledOffence&) const = default;
};

namespace keys {
util::Bytes delegate_list();          // 'D'
util::Bytes tally(const Address& a);  // 'T' addr20
util::Bytes offence(const Hash& id);  // 'o' offence id
}  // namespace keys

// Stores `after` as the account of `a` (erasing it when empty) and moves the tallies of the
// delegates it votes for by the change in owned() and votes. `before` must be what the state holds
// for `a` now (Account{} when absent).
util::Status write_account(StateOverlay& state, const Address& a, const Account& before,
                           const Account& after);
// As above, reading `before` from the state.
util::Status write_account(StateOverlay& state, const Address& a, const Account& after);

util::Result<Amount> tally_of(const StateReader& state, const Address& delegate);
util::Result<DelegateList> delegate_list(const StateReader& state);
// Adds / removes `a` in the delegate list (kInvalidArgument when the list is full).
util::Status list_delegate(StateOverlay& state, const Address& a);
util::Status unlist_delegate(StateOverlay& state, const Address& a);

}  // namespace imet::ledger
