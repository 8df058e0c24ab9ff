#include "ledger/state_root.h"

#include "ledger/smt/tree.h"

namespace imet::ledger {

std::vector<smt::Update> state_updates(const StateOverlay::Changes& changes) {
  std::vector<smt::Update> out;
  out.reserve(changes.size());
  for (const auto& [key, value] : changes) {
    smt::Update u;
    u.key = smt::key_of(key);
    if (value) u.value_hash = smt::value_hash_of(*value);
    out.push_back(u);
  }
  smt::sort_updates_last_wins(out);
  return out;
}

}  // namespace imet::ledger
