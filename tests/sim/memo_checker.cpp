#include "memo_checker.h"

#include <cstring>

namespace imet::sim {

MemoChecker& MemoChecker::instance() {
  static MemoChecker checker;
  return checker;
}

size_t MemoChecker::HashOf::operator()(const ledger::Hash& h) const {
  size_t v = 0;
  std::memcpy(&v, h.data(), sizeof(v));
  return v;
}

bool MemoChecker::verify(const ledger::PublicKey& pk, util::ByteSpan msg,
                         const ledger::Signature& sig) const {
  util::Bytes buf(pk.size() + sig.size() + msg.size());
  std::copy(pk.begin(), pk.end(), buf.begin());
  std::copy(sig.begin(), sig.end(), buf.begin() + static_cast<std::ptrdiff_t>(pk.size()));
  std::copy(msg.begin(), msg.end(),
            buf.begin() + static_cast<std::ptrdiff_t>(pk.size() + sig.size()));
  const ledger::Hash key = crypto::blake2b_256(buf);
  if (auto it = memo_.find(key); it != memo_.end()) {
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
