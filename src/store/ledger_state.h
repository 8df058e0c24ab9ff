// The ledger's state on a KvStore: ledger::StateReader over any KvReader (the live store or a
// snapshot), and staging of a block's state changes into a WriteBatch, so the block, its state
// changes and its state-tree nodes commit in one atomic write. State entries live under the
// prefix "s/" followed by the ledger's typed key.
// Thread-safety: KvStateReader is as thread-safe as its KvReader. Invariants: stage_state() writes
// every change of the overlay and nothing else.
#pragma once

#include "ledger/state_view.h"
#include "store/kv_store.h"

namespace imet::store {

inline constexpr std::string_view kStatePrefix = "s/";

class KvStateReader final : public ledger::StateReader {
 public:
  explicit KvStateReader(const KvReader& kv) : kv_(kv) {}
  util::Result<std::optional<util::Bytes>> get(util::ByteSpan key) const override;

 private:
  const KvReader& kv_;
};

void stage_state(const ledger::StateOverlay::Changes& changes, WriteBatch& batch);

}  // namespace imet::store
