#include "ledger/state_view.h"

namespace imet::ledger {

util::Result<std::optional<util::Bytes>> StateOverlay::get(util::ByteSpan key) const {
  auto it = changes_.find(util::Bytes(key.begin(), key.end()));
  if (it != changes_.end()) return it->second;
  if (base_ == nullptr) return std::optional<util::Bytes>();
  return base_->get(key);
}

void StateOverlay::merge_into(StateOverlay& parent) const {
  for (const auto& [k, v] : changes_)
    parent.changes_[k] = v;
}

util::Result<std::optional<util::Bytes>> MemoryState::get(util::ByteSpan key) const {
  auto it = entries_.find(util::Bytes(key.begin(), key.end()));
  if (it == entries_.end()) return std::optional<util::Bytes>();
  return std::optional<util::Bytes>(it->second);
}

void MemoryState::apply(const StateOverlay::Changes& changes) {
  for (const auto& [k, v] : changes) {
    if (v) {
      entries_[k] = *v;
    } else {
      entries_.erase(k);
    }
  }
}

}  // namespace imet::ledger
