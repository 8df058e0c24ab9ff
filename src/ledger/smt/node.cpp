#include "ledger/smt/node.h"

namespace imet::ledger::smt {

bool InternalNode::canonical() const {
  if (left.empty()) return right.kind == ChildKind::kInternal;
  if (right.empty()) return left.kind == ChildKind::kInternal;
  return true;
}

Hash256 Node::hash() const {
  if (const InternalNode* n = internal()) return n->hash();
  if (const LeafNode* n = leaf()) return n->hash();
  return kEmptyHash;
}

ChildKind child_kind_of(const Node& node) {
  switch (node.kind()) {
    case NodeKind::kInternal:
      return ChildKind::kInternal;
    case NodeKind::kLeaf:
      return ChildKind::kLeaf;
    case NodeKind::kNull:
      break;
  }
  return ChildKind::kEmpty;
}

}  // namespace imet::ledger::smt
