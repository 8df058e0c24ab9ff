#include "ledger/smt/proof.h"

#include <string>

#include "ledger/smt/hash.h"
#include "util/bytes.h"

namespace imet::ledger::smt {

namespace {

util::Status reject(const std::string& why) {
  return util::invalid_argument("state proof rejected: " + why);
}

}  // namespace

util::Result<Hash256> root_from_proof(const Key& key, const Proof& proof) {
  const size_t depth = proof.siblings.size();
  if (depth > kMaxProofSiblings) {
    return reject("it has " + std::to_string(depth) + " siblings; a path has at most " +
                  std::to_string(kMaxProofSiblings));
  }
  // In a canonical tree the node above the terminal has two non-empty children, or one empty
  // child next to an internal node; a leaf or an empty subtree next to an empty one never occurs.
  if (depth > 0 && proof.siblings.back() == kEmptyHash) {
    return reject("its last sibling is empty, which no canonical tree produces");
  }
  Hash256 h = kEmptyHash;
  if (proof.leaf.has_value()) {
    if (common_prefix_length(proof.leaf->key, key) < depth) {
      return reject("its leaf (key " + util::to_hex(proof.leaf->key) +
                    ") is not on the path of the key");
    }
    h = leaf_hash(proof.leaf->key, proof.leaf->value_hash);
  }
  for (size_t i = depth; i-- > 0;) {
    h = bit_at(key, i) ? internal_hash(proof.siblings[i], h) : internal_hash(h, proof.siblings[i]);
  }
  return h;
}

util::Status verify(const Hash256& root, const Key& key, const std::optional<ValueHash>& value_hash,
                    const Proof& proof) {
  IMET_ASSIGN_OR_RETURN(const Hash256 computed, root_from_proof(key, proof));
  const bool shows_key = proof.leaf.has_value() && proof.leaf->key == key;
  if (shows_key) {
    if (!value_hash.has_value()) {
      return reject("it shows the key present, but the key was claimed absent");
    }
    if (*value_hash != proof.leaf->value_hash) {
      return reject("it shows value hash " + util::to_hex(proof.leaf->value_hash) +
                    " for the key, not the claimed " + util::to_hex(*value_hash));
    }
  } else if (value_hash.has_value()) {
    return reject("it shows the key absent, but value hash " + util::to_hex(*value_hash) +
                  " was claimed");
  }
  if (computed != root) {
    return reject("it leads to root " + util::to_hex(computed) + ", not " + util::to_hex(root));
  }
  return util::Status::ok_status();
}

}  // namespace imet::ledger::smt
