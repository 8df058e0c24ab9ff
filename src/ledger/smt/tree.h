// SparseMerkleTree: the ledger's authenticated state, a binary sparse Merkle tree over 256-bit
// keys with versioned, immutable nodes (in the manner of Diem/Aptos's Jellyfish Merkle tree, but
// binary). Every block header commits to its root; prove() makes membership and non-membership
// proofs for light clients (ledger/smt/proof.h). Design and rationale: docs/design/state-tree.md.
//
// The root is a function of the SET of (key, value_hash) pairs only, never of the order of
// updates. Definition, for the pairs S below a position at depth d:
//   |S| = 0  ->  kEmptyHash
//   |S| = 1  ->  leaf_hash(key, value_hash)      (a one-leaf subtree is just the leaf)
//   |S| >= 2 ->  internal_hash(root(S with bit d = 0), root(S with bit d = 1))
// Stored nodes mirror this exactly: a leaf sits at the shortest prefix that no other key shares,
// an internal node exists wherever two or more keys share a prefix, empty subtrees are not stored.
//
// Usage (the ledger, per block at height h over the tree of height h - 1):
//   std::vector<Update> updates = ...;                    // (key_of(k), value_hash_of(v) | delete)
//   sort_updates_last_wins(updates);                      // or build them sorted and unique
//   SparseMerkleTree tree(node_store);
//   IMET_ASSIGN_OR_RETURN(UpdateResult r, tree.apply(h - 1, h, updates));
//   header.state_root = r.root_hash;  node_store.write(r.batch);   // (or stage it with the block)
//
// Thread-safety: a SparseMerkleTree only reads through its NodeReader, so its const members may
// run concurrently whenever the reader's get() may.
// Invariants: apply() writes nothing itself; the NodeBatch it returns holds only nodes of the new
// version, and after it is written every version from the oldest unpruned one to the new one is
// readable and provable. Work is O(k log n) node reads and hashes for k updates in a tree of n
// keys (random keys; a subtree whose updates change nothing is neither read below nor rewritten).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "ledger/smt/node_store.h"
#include "ledger/smt/proof.h"
#include "ledger/smt/types.h"
#include "util/result.h"
#include "util/status.h"

namespace imet::ledger::smt {

struct UpdateResult {
  Version version = 0;
  Hash256 root_hash{};
  NodeBatch batch;  // write this (NodeStore::write) to make `version` readable
};

struct ProofResult {
  std::optional<ValueHash> value_hash;  // what the key holds at that version (nullopt: absent)
  Proof proof;
};

// OK iff the keys of `updates` are strictly ascending (sorted, no duplicates): the form apply()
// requires. The error names the first offending index.
util::Status check_batch(std::span<const Update> updates);
// Sorts `updates` by key and keeps, for each key, only its LAST update in the original order
// (last write wins), which is what applying them one by one would leave.
void sort_updates_last_wins(std::vector<Update>& updates);

class SparseMerkleTree {
 public:
  // `reader` must outlive the tree.
  explicit SparseMerkleTree(const NodeReader& reader) : reader_(reader) {}

  // Computes version `version` = version `base` (nullopt: the empty tree) with `updates` applied.
  // `updates` must pass check_batch (duplicates are rejected, not merged: use
  // sort_updates_last_wins). Deleting an absent key is a no-op. An empty batch is allowed (the
  // new version has the same root).
  // Preconditions for pruning to stay correct: `base` is the latest version written (a linear
  // history). Errors: kInvalidArgument (batch not sorted/unique, version <= base), kNotFound (no
  // tree at `base`), kAlreadyExists (`version` already written), kCorruption (a node is missing
  // or does not match its hash), or the reader's error.
  util::Result<UpdateResult> apply(std::optional<Version> base, Version version,
                                   std::span<const Update> updates) const;

  // The root hash of `version` (kEmptyHash for an empty tree). kNotFound if the version was
  // never written or has been pruned.
  util::Result<Hash256> root_hash(Version version) const;
  // The value hash `key` holds at `version`, nullopt if absent.
  util::Result<std::optional<ValueHash>> get(Version version, const Key& key) const;
  // What `key` holds at `version`, with a proof against root_hash(version).
  util::Result<ProofResult> prove(Version version, const Key& key) const;

 private:
  // Walks `key`'s path at `version`; fills `proof` if not null. Returns the terminal leaf, if any.
  util::Result<std::optional<LeafNode>> walk(Version version, const Key& key, Proof* proof) const;

  const NodeReader& reader_;
};

}  // namespace imet::ledger::smt
