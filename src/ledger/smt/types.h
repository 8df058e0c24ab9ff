// Vocabulary of the state tree (a binary sparse Merkle tree, see docs/design/state-tree.md):
// 256-bit keys and value hashes, versions, bit access on keys, NodeKey (the storage address of a
// tree node) and Update (one change of a batch).
// Thread-safety: plain value types and pure functions.
// Invariants: key bits are numbered from the most significant bit of byte 0 (bit 0) to the least
// significant bit of byte 31 (bit 255); bit i chooses the child of a node at depth i (0 = left,
// 1 = right), so bytewise key order is left-to-right tree order. A valid NodeKey has
// depth <= 256 and every path bit at index >= depth is zero, so one position has one NodeKey per
// version.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "crypto/hash.h"

namespace imet::ledger::smt {

using Hash256 = crypto::Hash256;
// A tree key: BLAKE2b-256 of a typed state key (see key_of in ledger/smt/hash.h).
using Key = crypto::Hash256;
// A leaf's value commitment: BLAKE2b-256 of the canonical value bytes (value_hash_of).
using ValueHash = crypto::Hash256;
// A tree version: the ledger uses the block height. Versions only grow.
using Version = uint64_t;

inline constexpr size_t kKeyBits = 256;

// Bit `index` (< 256) of `key`, most significant bit of byte 0 first.
inline bool bit_at(const Key& key, size_t index) {
  return ((key[index >> 3] >> (7 - (index & 7))) & 1U) != 0;
}
// `key` with every bit at index >= depth cleared (depth <= 256).
Key prefix_of(const Key& key, size_t depth);
// `path` with bit `index` set to `bit`.
Key with_bit(const Key& path, size_t index, bool bit);
// Number of leading bits `a` and `b` share: 256 iff a == b.
size_t common_prefix_length(const Key& a, const Key& b);
// "0110..." : the first `depth` bits of `path`.
std::string bits_to_string(const Key& path, size_t depth);

// Where a node is stored: the version that wrote it and its position (depth and path) in the
// tree. Nodes are immutable: a node written at version v is never rewritten; an update at a later
// version writes new nodes with new keys, so every past version's tree stays intact until pruned.
struct NodeKey {
  Version version = 0;
  uint16_t depth = 0;  // 0 (the root) .. 256
  Key path{};          // the first `depth` bits of every key below this node; later bits zero

  static NodeKey root(Version v) { return NodeKey{v, 0, Key{}}; }
  // The key of this node's child on side `bit`, written at version `v`. Precondition: depth < 256.
  NodeKey child(Version v, bool bit) const;
  // depth <= 256 and no path bit set at index >= depth.
  bool valid() const;
  // "v12/0110" (the root: "v12/root"), for messages.
  std::string to_string() const;

  friend bool operator==(const NodeKey&, const NodeKey&) = default;
  friend auto operator<=>(const NodeKey&, const NodeKey&) = default;
};

// Hash for unordered containers. Deliberately not noexcept: libstdc++ then caches each element's
// hash code in its node instead of recomputing it while walking a bucket and when rehashing.
struct NodeKeyHash {
  size_t operator()(const NodeKey& key) const;
};

// One change of a batch: set `key` to `value_hash`, or delete it (nullopt). Deleting an absent key
// is a no-op.
struct Update {
  Key key{};
  std::optional<ValueHash> value_hash;

  friend bool operator==(const Update&, const Update&) = default;
};

}  // namespace imet::ledger::smt
