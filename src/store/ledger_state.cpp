#include "store/ledger_state.h"

#include <algorithm>

namespace imet::store {

namespace {
util::Bytes state_key(util::ByteSpan key) {
  util::Bytes k(kStatePrefix.size() + key.size());
  std::copy(kStatePrefix.begin(), kStatePrefix.end(), k.begin());
  std::copy(key.begin(), key.end(), k.begin() + static_cast<std::ptrdiff_t>(kStatePrefix.size()));
  return k;
}
}  // namespace

util::Result<std::optional<util::Bytes>> KvStateReader::get(util::ByteSpan key) const {
  return kv_.get(state_key(key));
}

void stage_state(const ledger::StateOverlay::Changes& changes, WriteBatch& batch) {
  for (const auto& [key, value] : changes) {
    if (value) {
      batch.put(state_key(key), *value);
    } else {
      batch.del(state_key(key));
    }
  }
}

}  // namespace imet::store
