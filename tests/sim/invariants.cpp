#include "invariants.h"

#include "ledger/delegates.h"
#include "ledger/schedule.h"
#include "ledger/state.h"

namespace imet::sim {

std::string supply_error(node::Chain& chain) {
  // Amounts are u64 and the total supply (10^16 units) is far below 2^64, so a checked u64 sum
  // detects any overflow or underflow.
  auto globals =
      ledger::get_record<ledger::Globals>(chain.store().state(), ledger::keys::globals());
  if (!globals.ok() || !globals->has_value()) return "no globals record";
  uint64_t sum = 0;
  bool overflow = false;
  auto add = [&](uint64_t v) { overflow |= __builtin_add_overflow(sum, v, &sum); };
  add((*globals)->pod_pool);
  add((*globals)->epoch_reward);
  const uint8_t account_prefix[] = {'a'};
  auto accounts = chain.store().scan_state(account_prefix, SIZE_MAX);
  const uint8_t node_prefix[] = {'n'};
  auto node_records = chain.store().scan_state(node_prefix, SIZE_MAX);
  if (!accounts.ok() || !node_records.ok()) return "state scan failed";
  for (const auto& [k, v] : *accounts) {
    auto a = codec::decode<ledger::Account>(v);
    if (!a.ok()) return "unreadable account: " + a.status().to_string();
    add(a->balance);
    add(a->stake);
    for (const auto& u : a->unbonding)
      add(u.amount);
  }
  for (const auto& [k, v] : *node_records) {
    auto r = codec::decode<ledger::NodeRecord>(v);
    if (!r.ok()) return "unreadable node record: " + r.status().to_string();
    add(r->stake);
  }
  if (overflow || sum != ledger::kTotalSupply) {
    return "supply is " + std::to_string(sum) + (overflow ? " (overflowed)" : "") + ", expected " +
           std::to_string(ledger::kTotalSupply);
  }
  return {};
}

std::string dec_error(node::Chain& chain, uint32_t& size) {
  size = 0;
  auto next = chain.next_schedule();
  if (!next.ok()) return "no next schedule: " + next.status().to_string();
  if (next->start_height != chain.final_tip().height + 1) return {};  // no round starts next
  size = next->size();
  const ledger::ChainParams& p = chain.config().params;
  const std::string what =
      "round " + std::to_string(next->round) + " has " + std::to_string(size) + " witnesses, ";
  if (size == 0 || size > p.n_max)
    return what + "outside [1, n_max " + std::to_string(p.n_max) + "]";
  if (size >= p.n_min) return {};
  // Fewer than n_min only when fewer delegates are eligible for the round (jailed ones are not;
  // when none is, every delegate is): the state next_schedule() just read.
  const ledger::StateReader& state = chain.store().state();
  auto list = ledger::delegate_list(state);
  if (!list.ok()) return "no delegate list: " + list.status().to_string();
  uint32_t eligible = 0;
  for (const ledger::Address& a : list->delegates) {
    auto d = ledger::get_record<ledger::Delegate>(state, ledger::keys::delegate(a));
    if (!d.ok() || !d->has_value()) return "delegate record missing";
    if (ledger::eligible_for(**d, next->round)) ++eligible;
  }
  if (eligible == 0) eligible = static_cast<uint32_t>(list->delegates.size());
  if (size != eligible) {
    return what + "below n_min " + std::to_string(p.n_min) + " though " + std::to_string(eligible) +
           " delegates are eligible";
  }
  return {};
}

}  // namespace imet::sim
