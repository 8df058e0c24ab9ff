#include "memo_checker.h"

namespace imet::sim {

MemoChecker& MemoChecker::instance() {
  static MemoChecker checker;
  return checker;
}

bool MemoChecker::verify(const ledger::PublicKey& pk, util::ByteSpan msg,
                         const ledger::Signature& sig) const {
  // The key is the whole (pk, sig, msg): compared in full on lookup, so no hash collision can
  // turn one signature's result into another's.
  std::string& key = scratch_;
  key.clear();
  key.append(reinterpret_cast<const char*>(pk.data()), pk.size());
  key.append(reinterpret_cast<const char*>(sig.data()), sig.size());
  key.append(reinterpret_cast<const char*>(msg.data()), msg.size());
  if (auto it = memo_.find(std::string_view(key)); it != memo_.end()) {
    ++hits_;
    return it->second;
  }
  ++misses_;
  const bool ok = crypto::verify(pk, msg, sig);
  if (memo_.size() >= kMaxEntries) memo_.clear();
  memo_.emplace(key, ok);
  return ok;
}

}  // namespace imet::sim
