#include "ledger/delegates.h"

#include <algorithm>

namespace imet::ledger {

namespace {

util::Bytes prefixed(uint8_t prefix, util::ByteSpan id) {
  util::Bytes out(1 + id.size());
  out[0] = prefix;
  std::copy(id.begin(), id.end(), out.begin() + 1);
  return out;
}

util::Status add_tally(StateOverlay& state, const Address& d, Amount add, Amount sub) {
  if (add == sub) return {};
  IMET_ASSIGN_OR_RETURN(Amount w, tally_of(state, d));
  if (w < sub) {
    return util::corruption("tally of delegate " + crypto::encode_address(d) +
                            " would go negative");
  }
  w -= sub;
  w += add;  // cannot overflow: the total supply is below 2^54
  if (w == 0) {
    state.erase(keys::tally(d));
  } else {
    put_record(state, keys::tally(d), Tally{w});
  }
  return {};
}

}  // namespace

namespace keys {
util::Bytes delegate_list() {
  return {'D'};
}
util::Bytes tally(const Address& a) {
  return prefixed('T', a);
}
util::Bytes offence(const Hash& id) {
  return prefixed('o', id);
}
}  // namespace keys

util::Status write_account(StateOverlay& state, const Address& a, const Account& before,
                           const Account& after) {
  const Amount old_w = before.owned(), new_w = after.owned();
  if (before.votes == after.votes) {
    if (old_w != new_w) {
      for (const Address& d : after.votes)
        IMET_TRY(add_tally(state, d, new_w, old_w));
    }
  } else {
    for (const Address& d : before.votes)
      IMET_TRY(add_tally(state, d, 0, old_w));
    for (const Address& d : after.votes)
      IMET_TRY(add_tally(state, d, new_w, 0));
  }
  if (after.empty()) {
    state.erase(keys::account(a));
  } else {
    put_record(state, keys::account(a), after);
  }
  return {};
}

util::Status write_account(StateOverlay& state, const Address& a, const Account& after) {
  IMET_ASSIGN_OR_RETURN(std::optional<Account> before,
                        get_record<Account>(state, keys::account(a)));
  return write_account(state, a, before.value_or(Account{}), after);
}

util::Result<Amount> tally_of(const StateReader& state, const Address& delegate) {
  IMET_ASSIGN_OR_RETURN(std::optional<Tally> t, get_record<Tally>(state, keys::tally(delegate)));
  return t ? t->weight : Amount{0};
}

util::Result<DelegateList> delegate_list(const StateReader& state) {
  IMET_ASSIGN_OR_RETURN(std::optional<DelegateList> l,
                        get_record<DelegateList>(state, keys::delegate_list()));
  return l.value_or(DelegateList{});
}

util::Status list_delegate(StateOverlay& state, const Address& a) {
  IMET_ASSIGN_OR_RETURN(DelegateList l, delegate_list(state));
  auto it = std::lower_bound(l.delegates.begin(), l.delegates.end(), a);
  if (it != l.delegates.end() && *it == a) return {};
  if (l.delegates.size() >= kMaxDelegates) {
    return util::invalid_argument("the delegate list is full (" + std::to_string(kMaxDelegates) +
                                  " delegates)");
  }
  l.delegates.insert(it, a);
  put_record(state, keys::delegate_list(), l);
  return {};
}

util::Status unlist_delegate(StateOverlay& state, const Address& a) {
  IMET_ASSIGN_OR_RETURN(DelegateList l, delegate_list(state));
  auto it = std::lower_bound(l.delegates.begin(), l.delegates.end(), a);
  if (it == l.delegates.end() || *it != a) return {};
  l.delegates.erase(it);
  put_record(state, keys::delegate_list(), l);
  return {};
}

}  // namespace imet::ledger
