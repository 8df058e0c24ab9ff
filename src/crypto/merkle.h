// Merkle trees over BLAKE2b-256 in the style of RFC 6962 / RFC 9162 (Certificate Transparency):
//   leaf hash  = BLAKE2b-256(0x00 || data)
//   inner node = BLAKE2b-256(0x01 || left || right)
//   root of n > 1 leaves = node(root(first k), root(rest)), k = largest power of two < n
//   root of 1 leaf = its leaf hash; root of 0 leaves = BLAKE2b-256("")
// The distinct leaf/node prefixes mean an inner node can never pass as a leaf, and an odd last leaf
// is never duplicated (unlike Bitcoin), so two different leaf lists cannot share a root through the
// CVE-2012-2459 mutation.
// Thread-safety: pure functions.
// Invariants: merkle_verify(merkle_root(L), L[i], *merkle_prove(L, i)) holds for every i < |L|;
// it fails for a wrong leaf, a wrong index, or a path with an element changed, added or removed.
// Note: like RFC 6962, the root does not commit to the leaf count by itself. A proof stays valid
// under a different leaf_count only when that count gives leaf `index` the very same audit path
// (e.g. index 0 of 3 or of 4 leaves); callers that need the count bound must commit to it next to
// the root (as a block header commits to its transaction count).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "crypto/hash.h"
#include "util/bytes.h"
#include "util/result.h"

namespace imet::crypto {

Hash256 merkle_leaf_hash(util::ByteSpan data);
Hash256 merkle_node_hash(const Hash256& left, const Hash256& right);
// Root over already-hashed leaves (see merkle_leaf_hash).
Hash256 merkle_root(std::span<const Hash256> leaf_hashes);

// An inclusion proof: the RFC 6962 audit path of leaf `index` in a tree of `leaf_count` leaves,
// sibling hashes ordered from the leaf up to the root.
struct MerkleProof {
  uint64_t index = 0;
  uint64_t leaf_count = 0;
  std::vector<Hash256> path;

  bool operator==(const MerkleProof&) const = default;
};

// Fails (kInvalidArgument) if index >= leaf_hashes.size() (in particular for an empty list).
util::Result<MerkleProof> merkle_prove(std::span<const Hash256> leaf_hashes, uint64_t index);
// RFC 9162 section 2.1.3.2 verification: true iff `proof` shows `leaf_hash` at proof.index of a
// tree of proof.leaf_count leaves with root `root`. Never throws; malformed proofs return false.
bool merkle_verify(const Hash256& root, const Hash256& leaf_hash, const MerkleProof& proof);

}  // namespace imet::crypto
