#include "ledger/state.h"

namespace imet::ledger {

namespace {
using detail::U128;

util::Bytes prefixed(uint8_t prefix, util::ByteSpan id) {
  util::Bytes out;
  out.reserve(1 + id.size());
  out.push_back(prefix);
  out.insert(out.end(), id.begin(), id.end());
  return out;
}
}  // namespace

Amount LockSchedule::locked_at(uint64_t now_ms) const {
  if (now_ms < cliff_ms) return total;
  if (now_ms >= end_ms) return 0;
  // Linear release between cliff and end: locked = total * (end - now) / (end - cliff).
  U128 locked = static_cast<U128>(total) * (end_ms - now_ms) / (end_ms - cliff_ms);
  return static_cast<Amount>(locked);
}

void Account::release_unbonded(uint64_t now_ms) {
  size_t keep = 0;
  for (const Unbonding& u : unbonding) {
    if (u.release_ms <= now_ms) {
      balance += u.amount;  // cannot overflow: total supply < 2^54
    } else {
      unbonding[keep++] = u;
    }
  }
  unbonding.resize(keep);
}

Amount Account::owned() const {
  U128 sum = static_cast<U128>(balance) + stake;
  for (const Unbonding& u : unbonding)
    sum += u.amount;
  return sum > UINT64_MAX ? UINT64_MAX : static_cast<Amount>(sum);
}

Amount Account::transferable(uint64_t now_ms) const {
  Amount locked = lock ? lock->locked_at(now_ms) : 0;
  Amount owned_now = owned();
  Amount free = owned_now > locked ? owned_now - locked : 0;
  return free < balance ? free : balance;
}

namespace keys {
util::Bytes account(const Address& a) {
  return prefixed('a', a);
}
util::Bytes delegate(const Address& a) {
  return prefixed('d', a);
}
std::optional<Address> delegate_of(util::ByteSpan key) {
  Address a;
  if (key.size() != 1 + a.size() || key[0] != 'd') return std::nullopt;
  std::copy(key.begin() + 1, key.end(), a.begin());
  return a;
}
util::Bytes node(const Address& n) {
  return prefixed('n', n);
}
util::Bytes device(const Address& d) {
  return prefixed('v', d);
}
util::Bytes name(std::string_view name) {
  return prefixed('m', util::as_bytes(name));
}
util::Bytes notarization(const Hash& content) {
  return prefixed('z', content);
}
util::Bytes anchor_log(std::string_view log_id) {
  return prefixed('l', util::as_bytes(log_id));
}
util::Bytes globals() {
  return {'g'};
}
}  // namespace keys

}  // namespace imet::ledger
