#include "ledger/smt/hash.h"

#include <algorithm>
#include <array>

namespace imet::ledger::smt {

namespace {

Hash256 hash_65(uint8_t domain, const Hash256& a, const Hash256& b) {
  std::array<uint8_t, 65> buf;
  buf[0] = domain;
  std::copy(a.begin(), a.end(), buf.begin() + 1);
  std::copy(b.begin(), b.end(), buf.begin() + 33);
  return crypto::blake2b_256(buf);
}

}  // namespace

Hash256 leaf_hash(const Key& key, const ValueHash& value_hash) {
  return hash_65(kLeafDomain, key, value_hash);
}

Hash256 internal_hash(const Hash256& left, const Hash256& right) {
  return hash_65(kInternalDomain, left, right);
}

Key key_of(util::ByteSpan typed_state_key) {
  return crypto::blake2b_256(typed_state_key);
}

ValueHash value_hash_of(util::ByteSpan canonical_value) {
  return crypto::blake2b_256(canonical_value);
}

}  // namespace imet::ledger::smt
