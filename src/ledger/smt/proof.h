// State proofs: evidence that, in the state tree with a given root, a key holds a given value
// hash (membership) or holds nothing (non-membership), checkable by a light client that has only
// the root from a final block header. See docs/design/state-tree.md.
//
// A proof lists the sibling hashes along the key's path, from the root's child level down, and
// ends in one of three ways:
//   leaf == the key's leaf            membership: the key holds leaf.value_hash;
//   leaf == another key's leaf        non-membership: that leaf alone occupies the key's subtree
//                                     (it shares the key's first siblings.size() bits);
//   no leaf                           non-membership: the key's subtree is empty.
// verify() folds the terminal hash (the leaf's hash, or kEmptyHash) up the path with the key's
// bits choosing left/right and compares with the root.
//
// Encoding (codec serde, canonical): siblings as a vector (varint count <= 256, then 32 bytes
// each), then the leaf as an optional (tag 0x00, or 0x01 and key || value_hash).
//
// A non-membership proof proves the whole subtree empty (or held by the other leaf), so it also
// verifies for any other key with the same first siblings.size() bits that is not the other
// leaf's key: a true statement about the same tree.
// Thread-safety: value types and pure functions.
// Invariants: verify(root_hash(v), k, get(v, k), prove(v, k)) is OK for every version v and key k;
// verify fails for any other value claim, any other root, and any proof that does not come from
// the tree (each of these implies a BLAKE2b-256 collision).
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "codec/serialize.h"
#include "ledger/smt/types.h"
#include "util/status.h"

namespace imet::ledger::smt {

inline constexpr size_t kMaxProofSiblings = kKeyBits;

struct ProofLeaf {
  Key key{};
  ValueHash value_hash{};

  template <typename S>
  void serde(S& s) {
    s.fixed(key, "key");
    s.fixed(value_hash, "value_hash");
  }
  friend bool operator==(const ProofLeaf&, const ProofLeaf&) = default;
};

struct Proof {
  // siblings[i]: the hash of the sibling of the path's node at depth i + 1.
  std::vector<Hash256> siblings;
  // The leaf that ends the path, if the path ends in a leaf.
  std::optional<ProofLeaf> leaf;

  template <typename S>
  void serde(S& s) {
    s.vector(siblings, kMaxProofSiblings, "siblings");
    s.optional(leaf, "leaf");
  }
  friend bool operator==(const Proof&, const Proof&) = default;
};

// OK iff `proof` shows that, in the tree with root `root`, `key` holds `value_hash`
// (nullopt: `key` is absent). Otherwise kInvalidArgument saying why. Never crashes on any input.
util::Status verify(const Hash256& root, const Key& key, const std::optional<ValueHash>& value_hash,
                    const Proof& proof);

// The root hash the proof leads to for `key` (ignoring whether it shows membership), or an error
// if the proof is malformed for that key. verify() = this + the claim check + root comparison.
util::Result<Hash256> root_from_proof(const Key& key, const Proof& proof);

}  // namespace imet::ledger::smt
