// The bridge between the ledger's state changes and its state tree: every state entry (typed key
// → canonical record bytes, state.h) is one leaf of the sparse Merkle tree, at key_of(typed key)
// with value_hash_of(record bytes). state_updates() turns a block's overlay changes into the
// sorted, de-duplicated update batch SparseMerkleTree::apply() takes.
// Thread-safety: pure. Invariants: the updates are strictly ascending by tree key; an erased
// entry becomes a delete.
#pragma once

#include <vector>

#include "ledger/smt/hash.h"
#include "ledger/smt/types.h"
#include "ledger/state_view.h"

namespace imet::ledger {

std::vector<smt::Update> state_updates(const StateOverlay::Changes& changes);

}  // namespace imet::ledger
