// The stored nodes of the state tree: Null (the root of an empty tree), Internal (two child
// references) and Leaf (a key and its value hash), with their canonical encoding (codec serde) and
// hashes. See docs/design/state-tree.md.
// Thread-safety: value types.
// Invariants (checked by the codec on encode and decode, so a node read back from storage is
// canonical or rejected):
//  - a Child is kEmpty with version 0 and the all-zero hash, or kInternal/kLeaf with a non-zero
//    hash and the version of the stored child node;
//  - an InternalNode has at least two leaves below it: both children non-empty, or one empty and
//    the other kInternal. (A subtree with one leaf is that leaf; a subtree with none is empty.)
//  - Null appears only as the root of an empty tree.
#pragma once

#include <cstdint>
#include <variant>

#include "codec/serialize.h"
#include "ledger/smt/hash.h"
#include "ledger/smt/types.h"

namespace imet::ledger::smt {

enum class ChildKind : uint8_t { kEmpty = 0, kInternal = 1, kLeaf = 2 };
constexpr bool is_valid(ChildKind k) {
  return k == ChildKind::kEmpty || k == ChildKind::kInternal || k == ChildKind::kLeaf;
}

// A reference from an internal node to one of its children: what the child is, the version that
// stored it (its NodeKey is {version, parent depth + 1, parent path + side bit}) and its hash.
struct Child {
  ChildKind kind = ChildKind::kEmpty;
  Version version = 0;
  Hash256 hash{};  // kEmptyHash when kind == kEmpty

  bool empty() const { return kind == ChildKind::kEmpty; }

  template <typename S>
  void serde(S& s) {
    s.enumeration(kind, "kind");
    if (kind == ChildKind::kEmpty) {
      s.require(version == 0 && hash == kEmptyHash, "an empty child has no version or hash",
                "kind");
    } else {
      s.u64(version, "version");
      s.fixed(hash, "hash");
      s.require(hash != kEmptyHash, "a non-empty child cannot have the empty hash", "hash");
    }
  }
  friend bool operator==(const Child&, const Child&) = default;
};

struct InternalNode {
  Child left;
  Child right;

  // The shape rule of the file comment.
  bool canonical() const;
  Hash256 hash() const { return internal_hash(left.hash, right.hash); }

  template <typename S>
  void serde(S& s) {
    s.object(left, "left");
    s.object(right, "right");
    s.require(canonical(),
              "an internal node needs two non-empty children, or one internal child and one "
              "empty",
              "right");
  }
  friend bool operator==(const InternalNode&, const InternalNode&) = default;
};

struct LeafNode {
  Key key{};
  ValueHash value_hash{};

  Hash256 hash() const { return leaf_hash(key, value_hash); }

  template <typename S>
  void serde(S& s) {
    s.fixed(key, "key");
    s.fixed(value_hash, "value_hash");
  }
  friend bool operator==(const LeafNode&, const LeafNode&) = default;
};

struct NullNode {
  template <typename S>
  void serde(S& /*s*/) {}
  friend bool operator==(const NullNode&, const NullNode&) = default;
};

// The variant index is the kind, which is also the encoding's first byte.
enum class NodeKind : uint8_t { kNull = 0, kInternal = 1, kLeaf = 2 };
constexpr bool is_valid(NodeKind k) {
  return k == NodeKind::kNull || k == NodeKind::kInternal || k == NodeKind::kLeaf;
}

// Encoding: kind (u8), then the Internal node's two children (each: kind u8, and for a non-empty
// child its version u64 and hash fixed<32>) or the Leaf's key and value hash (fixed<32> each).
class Node {
 public:
  Node() = default;  // Null
  explicit Node(const InternalNode& n) : v_(n) {}
  explicit Node(const LeafNode& n) : v_(n) {}

  NodeKind kind() const { return static_cast<NodeKind>(v_.index()); }
  bool is_null() const { return kind() == NodeKind::kNull; }
  // nullptr unless the node is of that kind.
  const InternalNode* internal() const { return std::get_if<InternalNode>(&v_); }
  const LeafNode* leaf() const { return std::get_if<LeafNode>(&v_); }
  // kEmptyHash for Null.
  Hash256 hash() const;

  template <typename S>
  void serde(S& s) {
    NodeKind k = kind();
    s.enumeration(k, "kind");
    if constexpr (S::kDecoding) {
      if (!s.ok()) return;
      switch (k) {
        case NodeKind::kNull:
          v_.emplace<NullNode>();
          break;
        case NodeKind::kInternal:
          v_.emplace<InternalNode>();
          break;
        case NodeKind::kLeaf:
          v_.emplace<LeafNode>();
          break;
      }
    }
    if (auto* n = std::get_if<InternalNode>(&v_)) s.object(*n, "internal");
    if (auto* n = std::get_if<LeafNode>(&v_)) s.object(*n, "leaf");
  }
  friend bool operator==(const Node&, const Node&) = default;

 private:
  std::variant<NullNode, InternalNode, LeafNode> v_;
};

// The kind of child reference that points at `node` (Null nodes are never children: kEmpty).
ChildKind child_kind_of(const Node& node);

}  // namespace imet::ledger::smt
