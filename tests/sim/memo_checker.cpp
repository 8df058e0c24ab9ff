#include "memo_checker.h"

#include <cstdio>
#include <cstdlib>

namespace imet::sim {

MemoChecker& MemoChecker::instance() {
  static MemoChecker checker;
  return checker;
}

std::string_view MemoChecker::make_key(const ledger::PublicKey& pk, util::ByteSpan msg,
                                       const ledger::Signature& sig) const {
  // The key is the whole (pk, sig, msg): compared in full on lookup, so no hash collision can
  // turn one signature's result into another's.
  std::string& key = scratch_;
  key.clear();
  key.append(reinterpret_cast<const char*>(pk.data()), pk.size());
  key.append(reinterpret_cast<const char*>(sig.data()), sig.size());
  key.append(reinterpret_cast<const char*>(msg.data()), msg.size());
  return key;
}

void MemoChecker::remember(std::string_view key, bool ok) const {
  if (memo_.size() >= kMaxEntries) memo_.clear();
  memo_.emplace(key, ok);
}

bool MemoChecker::verify(const ledger::PublicKey& pk, util::ByteSpan msg,
                         const ledger::Signature& sig) const {
  const std::string_view key = make_key(pk, msg, sig);
  if (auto it = memo_.find(key); it != memo_.end()) {
    ++hits_;
    return it->second;
  }
  ++misses_;
  const bool ok = crypto::verify(pk, msg, sig);
  remember(key, ok);
  return ok;
}

void MemoChecker::signed_here(const ledger::PublicKey& pk, util::ByteSpan msg,
                              const ledger::Signature& sig) const {
  if (check_signed_ && !crypto::verify(pk, msg, sig)) {
    std::fprintf(stderr, "imet-sim: a signature reported as made here does not verify\n");
    std::abort();
  }
  remember(make_key(pk, msg, sig), true);
}

}  // namespace imet::sim
