// Hashing of the state tree (docs/design/state-tree.md), BLAKE2b-256 throughout:
//   empty subtree  = 32 zero bytes (kEmptyHash)
//   leaf           = BLAKE2b-256(0x02 || key || value_hash)          65-byte preimage
//   internal node  = BLAKE2b-256(0x03 || left_hash || right_hash)    65-byte preimage
// and the helpers that turn the ledger's typed state keys and canonical values into tree keys and
// value hashes.
// Domain separation: the transaction Merkle tree (crypto/merkle.h) uses prefixes 0x00 (leaf) and
// 0x01 (inner node). The state tree uses 0x02 and 0x03, so no preimage of one kind of node is a
// preimage of any other kind in either tree: a state-tree leaf can never pass as an internal node,
// and no transaction-tree node (whose preimages start with 0x00/0x01) can pass as a state-tree
// node or the other way round. The empty hash has no known preimage at all.
// Thread-safety: pure functions.
// Invariants: leaf_hash commits to the whole key, so a leaf's hash does not depend on the depth at
// which it sits in the tree; that is what lets a single-leaf subtree be stored as just the leaf.
#pragma once

#include <cstdint>

#include "ledger/smt/types.h"
#include "util/bytes.h"

namespace imet::ledger::smt {

inline constexpr uint8_t kLeafDomain = 0x02;
inline constexpr uint8_t kInternalDomain = 0x03;
inline constexpr Hash256 kEmptyHash{};

Hash256 leaf_hash(const Key& key, const ValueHash& value_hash);
Hash256 internal_hash(const Hash256& left, const Hash256& right);

// The tree key of a typed state key (e.g. the canonical encoding of "account <address>"): its
// BLAKE2b-256 hash, which spreads keys uniformly so the tree stays about log2(n) deep.
Key key_of(util::ByteSpan typed_state_key);
// The value hash of a state entry: BLAKE2b-256 of its canonical encoding.
ValueHash value_hash_of(util::ByteSpan canonical_value);

}  // namespace imet::ledger::smt
