#include "crypto/merkle.h"

#include <bit>
#include <string>

namespace imet::crypto {

namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;

// Largest power of two strictly less than n (n >= 2).
size_t split_point(size_t n) {
  return std::bit_floor(n - 1);
}

void append_path(std::span<const Hash256> leaves, size_t index, std::vector<Hash256>& path) {
  if (leaves.size() <= 1) return;
  const size_t k = split_point(leaves.size());
  if (index < k) {
    append_path(leaves.first(k), index, path);
    path.push_back(merkle_root(leaves.subspan(k)));
  } else {
    append_path(leaves.subspan(k), index - k, path);
    path.push_back(merkle_root(leaves.first(k)));
  }
}

}  // namespace

Hash256 merkle_leaf_hash(util::ByteSpan data) {
  Blake2b256 h;
  const uint8_t prefix = kLeafPrefix;
  h.update({&prefix, 1});
  h.update(data);
  return h.finish();
}

Hash256 merkle_node_hash(const Hash256& left, const Hash256& right) {
  Blake2b256 h;
  const uint8_t prefix = kNodePrefix;
  h.update({&prefix, 1});
  h.update(left);
  h.update(right);
  return h.finish();
}

Hash256 merkle_root(std::span<const Hash256> leaf_hashes) {
  if (leaf_hashes.empty()) return blake2b_256({});
  if (leaf_hashes.size() == 1) return leaf_hashes[0];
  const size_t k = split_point(leaf_hashes.size());
  return merkle_node_hash(merkle_root(leaf_hashes.first(k)), merkle_root(leaf_hashes.subspan(k)));
}

util::Result<MerkleProof> merkle_prove(std::span<const Hash256> leaf_hashes, uint64_t index) {
  if (index >= leaf_hashes.size()) {
    return util::invalid_argument("merkle proof: leaf index " + std::to_string(index) +
                                  " is out of range for a tree of " +
                                  std::to_string(leaf_hashes.size()) + " leaves");
  }
  MerkleProof proof;
  proof.index = index;
  proof.leaf_count = leaf_hashes.size();
  append_path(leaf_hashes, static_cast<size_t>(index), proof.path);
  return proof;
}

bool merkle_verify(const Hash256& root, const Hash256& leaf_hash, const MerkleProof& proof) {
  if (proof.index >= proof.leaf_count) return false;
  uint64_t fn = proof.index;
  uint64_t sn = proof.leaf_count - 1;
  Hash256 r = leaf_hash;
  for (const Hash256& p : proof.path) {
    if (sn == 0) return false;  // more path elements than the tree has levels
    if ((fn & 1) != 0 || fn == sn) {
      r = merkle_node_hash(p, r);
      // Skip the levels where this node is the last one and has no right sibling.
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = merkle_node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

}  // namespace imet::crypto
