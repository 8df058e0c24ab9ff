#include "ledger/smt/tree.h"

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>

#include "ledger/smt/hash.h"
#include "util/bytes.h"

namespace imet::ledger::smt {

namespace {

const char* kind_name(ChildKind kind) {
  switch (kind) {
    case ChildKind::kEmpty:
      return "empty subtree";
    case ChildKind::kInternal:
      return "internal node";
    case ChildKind::kLeaf:
      return "leaf";
  }
  return "?";
}

util::Status corrupt(const NodeKey& at, const std::string& what) {
  return util::corruption("state tree node " + at.to_string() + " " + what +
                          "; the node store is damaged");
}

// Reads the node stored at `at` that a parent references as a `kind` with hash `hash`, and checks
// that it is exactly that node.
util::Result<Node> load(const NodeReader& reader, const NodeKey& at, ChildKind kind,
                        const Hash256& hash) {
  auto got = reader.get(at);
  if (!got.ok()) return got.status().with_context("state tree: reading node " + at.to_string());
  if (!got->has_value()) {
    return util::corruption("state tree node " + at.to_string() +
                            " is missing (the node store is incomplete, or was pruned past the "
                            "version being read)");
  }
  Node node = std::move(**got);
  if (child_kind_of(node) != kind) return corrupt(at, std::string("is not a ") + kind_name(kind));
  if (node.hash() != hash) return corrupt(at, "does not match the hash its parent holds");
  if (const LeafNode* leaf = node.leaf();
      leaf != nullptr && prefix_of(leaf->key, at.depth) != at.path) {
    return corrupt(at, "holds a leaf whose key is not below its position");
  }
  if (node.internal() != nullptr && at.depth >= kKeyBits) {
    return corrupt(at, "is an internal node below the deepest level");
  }
  return node;
}

util::Result<Node> load_root(const NodeReader& reader, Version version) {
  const NodeKey at = NodeKey::root(version);
  auto got = reader.get(at);
  if (!got.ok()) return got.status().with_context("state tree: reading root " + at.to_string());
  if (!got->has_value()) {
    return util::not_found("state tree has no version " + std::to_string(version) +
                           " (never written, or pruned)");
  }
  return std::move(**got);
}

// A key/value pair of a subtree being rebuilt; `stored` is where it is stored now, if it is an
// existing leaf kept unchanged.
struct Item {
  Key key{};
  ValueHash value{};
  std::optional<NodeKey> stored;
};

// The rebuilt form of a subtree, before its parent decides where its leaf goes.
struct Pending {
  enum class Kind : uint8_t { kEmpty, kLeaf, kInternal };
  Kind kind = Kind::kEmpty;
  // The subtree is exactly the existing one at this position (nothing to write or stale).
  bool unchanged = false;
  Hash256 hash{};
  Version version = 0;            // kInternal: the version of the stored node
  std::optional<LeafNode> leaf;   // kLeaf: its content, when already known
  std::optional<NodeKey> stored;  // kLeaf: where it is stored now, if it is stored
};

// The Pending form of an existing child at `depth`/`path`, without reading it.
Pending from_child(const Child& child, size_t depth, const Key& path) {
  Pending p;
  p.unchanged = true;
  p.hash = child.hash;
  switch (child.kind) {
    case ChildKind::kEmpty:
      p.hash = kEmptyHash;
      break;
    case ChildKind::kInternal:
      p.kind = Pending::Kind::kInternal;
      p.version = child.version;
      break;
    case ChildKind::kLeaf:
      p.kind = Pending::Kind::kLeaf;
      p.stored = NodeKey{child.version, static_cast<uint16_t>(depth), path};
      break;
  }
  return p;
}

// Splits a key-sorted range of keys sharing their first `depth` bits at bit `depth`.
template <typename T>
std::pair<std::span<const T>, std::span<const T>> split_at_bit(std::span<const T> items,
                                                               size_t depth) {
  const auto mid = std::partition_point(items.begin(), items.end(),
                                        [depth](const T& x) { return !bit_at(x.key, depth); });
  const auto n = static_cast<size_t>(mid - items.begin());
  return {items.first(n), items.subspan(n)};
}

// One apply(): rebuilds the changed part of the tree bottom-up, recording new and stale nodes.
class Updater {
 public:
  Updater(const NodeReader& reader, Version version, NodeBatch& out)
      : reader_(reader), version_(version), out_(out) {}

  // The subtree at depth/path that is `existing` (stored at existing.version) with `ups` applied.
  // `ups` is non-empty, sorted, unique, and every key has the first `depth` bits of `path`.
  util::Result<Pending> update(const Child& existing, size_t depth, const Key& path,
                               std::span<const Update> ups) {
    const NodeKey at{existing.version, static_cast<uint16_t>(depth), path};
    switch (existing.kind) {
      case ChildKind::kEmpty: {
        std::vector<Item> items;
        items.reserve(ups.size());
        for (const Update& u : ups) {
          if (u.value_hash) items.push_back(Item{u.key, *u.value_hash, std::nullopt});
        }
        if (items.empty()) return from_child(existing, depth, path);
        return build(depth, path, items);
      }
      case ChildKind::kLeaf: {
        IMET_ASSIGN_OR_RETURN(const Node node, load(reader_, at, existing.kind, existing.hash));
        const LeafNode leaf = *node.leaf();
        std::vector<Item> items;
        items.reserve(ups.size() + 1);
        bool leaf_placed = false;
        bool leaf_kept = true;
        for (const Update& u : ups) {
          if (!leaf_placed && leaf.key < u.key) {
            items.push_back(Item{leaf.key, leaf.value_hash, at});
            leaf_placed = true;
          }
          if (u.key == leaf.key) {
            leaf_placed = true;
            if (u.value_hash == leaf.value_hash) {
              items.push_back(Item{leaf.key, leaf.value_hash, at});
            } else {
              leaf_kept = false;
              if (u.value_hash) items.push_back(Item{u.key, *u.value_hash, std::nullopt});
            }
          } else if (u.value_hash) {
            items.push_back(Item{u.key, *u.value_hash, std::nullopt});
          }
        }
        if (!leaf_placed) items.push_back(Item{leaf.key, leaf.value_hash, at});
        if (!leaf_kept) stale(at);
        if (items.size() == 1 && items[0].stored) {
          Pending p = from_child(existing, depth, path);
          p.leaf = leaf;
          return p;
        }
        return build(depth, path, items);
      }
      case ChildKind::kInternal: {
        IMET_ASSIGN_OR_RETURN(const Node node, load(reader_, at, existing.kind, existing.hash));
        const InternalNode& n = *node.internal();
        const auto [lu, ru] = split_at_bit(ups, depth);
        const Key right_path = with_bit(path, depth, true);
        Pending left;
        Pending right;
        if (lu.empty()) {
          left = from_child(n.left, depth + 1, path);
        } else {
          IMET_ASSIGN_OR_RETURN(left, update(n.left, depth + 1, path, lu));
        }
        if (ru.empty()) {
          right = from_child(n.right, depth + 1, right_path);
        } else {
          IMET_ASSIGN_OR_RETURN(right, update(n.right, depth + 1, right_path, ru));
        }
        if (left.unchanged && right.unchanged) return from_child(existing, depth, path);
        stale(at);
        return finish_internal(depth, path, std::move(left), std::move(right));
      }
    }
    return util::internal_error("state tree: unknown child kind");
  }

  // The subtree at depth/path holding exactly `items` (sorted, unique keys with those first bits).
  util::Result<Pending> build(size_t depth, const Key& path, std::span<const Item> items) {
    if (items.empty()) return Pending{};
    if (items.size() == 1) {
      Pending p;
      p.kind = Pending::Kind::kLeaf;
      p.leaf = LeafNode{items[0].key, items[0].value};
      p.hash = p.leaf->hash();
      p.stored = items[0].stored;
      return p;
    }
    assert(depth < kKeyBits);  // two distinct keys differ in some bit < 256
    const auto [li, ri] = split_at_bit(items, depth);
    IMET_ASSIGN_OR_RETURN(Pending left, build(depth + 1, path, li));
    IMET_ASSIGN_OR_RETURN(Pending right, build(depth + 1, with_bit(path, depth, true), ri));
    return finish_internal(depth, path, std::move(left), std::move(right));
  }

  // The subtree at depth/path with these two children, in canonical form: empty if both are
  // empty, the leaf itself if it is alone (its ancestors will place it), else a new internal node.
  util::Result<Pending> finish_internal(size_t depth, const Key& path, Pending left,
                                        Pending right) {
    using K = Pending::Kind;
    if (left.kind == K::kEmpty && right.kind == K::kEmpty) return Pending{};
    if (left.kind == K::kEmpty && right.kind == K::kLeaf) {
      right.unchanged = false;
      return right;
    }
    if (right.kind == K::kEmpty && left.kind == K::kLeaf) {
      left.unchanged = false;
      return left;
    }
    InternalNode node;
    IMET_ASSIGN_OR_RETURN(node.left, child_ref(left, depth + 1, path));
    IMET_ASSIGN_OR_RETURN(node.right, child_ref(right, depth + 1, with_bit(path, depth, true)));
    Pending p;
    p.kind = K::kInternal;
    p.hash = node.hash();
    p.version = version_;
    write(NodeKey{version_, static_cast<uint16_t>(depth), path}, Node(node));
    return p;
  }

  // Stores the pending leaf at depth/path unless it is already stored exactly there (and
  // !force_write), staling its old copy if it moves. Returns the reference to it.
  util::Result<Child> place(Pending& p, size_t depth, const Key& path, bool force_write) {
    assert(p.kind == Pending::Kind::kLeaf);
    if (!force_write && p.stored && p.stored->depth == depth && p.stored->path == path) {
      return Child{ChildKind::kLeaf, p.stored->version, p.hash};
    }
    if (!p.leaf) {
      IMET_ASSIGN_OR_RETURN(const Node node, load(reader_, *p.stored, ChildKind::kLeaf, p.hash));
      p.leaf = *node.leaf();
    }
    if (p.stored) stale(*p.stored);
    write(NodeKey{version_, static_cast<uint16_t>(depth), path}, Node(*p.leaf));
    return Child{ChildKind::kLeaf, version_, p.hash};
  }

  void stale(const NodeKey& key) { out_.stale.push_back(StaleNode{version_, key}); }
  void write(const NodeKey& key, Node node) { out_.nodes.emplace_back(key, std::move(node)); }

 private:
  util::Result<Child> child_ref(Pending& p, size_t depth, const Key& path) {
    switch (p.kind) {
      case Pending::Kind::kEmpty:
        return Child{};
      case Pending::Kind::kInternal:
        return Child{ChildKind::kInternal, p.version, p.hash};
      case Pending::Kind::kLeaf:
        return place(p, depth, path, /*force_write=*/false);
    }
    return util::internal_error("state tree: unknown pending kind");
  }

  const NodeReader& reader_;
  const Version version_;
  NodeBatch& out_;
};

}  // namespace

util::Status check_batch(std::span<const Update> updates) {
  for (size_t i = 1; i < updates.size(); ++i) {
    const Key& prev = updates[i - 1].key;
    const Key& cur = updates[i].key;
    if (prev < cur) continue;
    const std::string what = prev == cur
                                 ? "repeats the key of update " + std::to_string(i - 1)
                                 : "comes before the key of update " + std::to_string(i - 1);
    return util::invalid_argument("state tree batch: the key of update " + std::to_string(i) +
                                  " (" + util::to_hex(cur) + ") " + what +
                                  "; keys must be strictly ascending: sort the batch and keep one "
                                  "update per key (sort_updates_last_wins)");
  }
  return util::Status::ok_status();
}

void sort_updates_last_wins(std::vector<Update>& updates) {
  std::stable_sort(updates.begin(), updates.end(),
                   [](const Update& a, const Update& b) { return a.key < b.key; });
  size_t out = 0;
  for (size_t i = 0; i < updates.size(); ++i) {
    if (i + 1 < updates.size() && updates[i + 1].key == updates[i].key) continue;
    if (out != i) updates[out] = updates[i];
    ++out;
  }
  updates.resize(out);
}

util::Result<UpdateResult> SparseMerkleTree::apply(std::optional<Version> base, Version version,
                                                   std::span<const Update> updates) const {
  IMET_TRY(check_batch(updates));
  if (base && version <= *base) {
    return util::invalid_argument("state tree: the new version " + std::to_string(version) +
                                  " must be greater than the base version " +
                                  std::to_string(*base));
  }
  {
    auto existing = reader_.get(NodeKey::root(version));
    if (!existing.ok()) return existing.status().with_context("state tree: reading root");
    if (existing->has_value()) {
      return util::already_exists("state tree: version " + std::to_string(version) +
                                  " is already written; each version is applied once");
    }
  }
  std::optional<Node> base_root;
  Child root;
  if (base) {
    IMET_ASSIGN_OR_RETURN(base_root, load_root(reader_, *base));
    if (!base_root->is_null()) root = Child{child_kind_of(*base_root), *base, base_root->hash()};
  }

  UpdateResult result;
  result.version = version;
  Updater updater(reader_, version, result.batch);
  Pending p;
  if (updates.empty()) {
    p = from_child(root, 0, Key{});
  } else {
    IMET_ASSIGN_OR_RETURN(p, updater.update(root, 0, Key{}, updates));
  }
  // Every version has a root node at NodeKey::root(version), so the old root is always replaced.
  // update() has staled it already when it changed; here: a Null root, or an unchanged one.
  if (base_root && base_root->is_null()) updater.stale(NodeKey::root(*base));
  switch (p.kind) {
    case Pending::Kind::kEmpty:
      updater.write(NodeKey::root(version), Node());
      result.root_hash = kEmptyHash;
      break;
    case Pending::Kind::kLeaf: {
      IMET_ASSIGN_OR_RETURN(const Child c, updater.place(p, 0, Key{}, /*force_write=*/true));
      result.root_hash = c.hash;
      break;
    }
    case Pending::Kind::kInternal:
      if (p.unchanged) {
        updater.stale(NodeKey::root(*base));
        updater.write(NodeKey::root(version), *base_root);
      }
      result.root_hash = p.hash;
      break;
  }
  return result;
}

util::Result<Hash256> SparseMerkleTree::root_hash(Version version) const {
  IMET_ASSIGN_OR_RETURN(const Node root, load_root(reader_, version));
  return root.hash();
}

util::Result<std::optional<LeafNode>> SparseMerkleTree::walk(Version version, const Key& key,
                                                             Proof* proof) const {
  IMET_ASSIGN_OR_RETURN(Node node, load_root(reader_, version));
  NodeKey at = NodeKey::root(version);
  for (size_t depth = 0;; ++depth) {
    if (const LeafNode* leaf = node.leaf()) {
      if (proof != nullptr) proof->leaf = ProofLeaf{leaf->key, leaf->value_hash};
      return std::optional<LeafNode>(*leaf);
    }
    const InternalNode* n = node.internal();
    if (n == nullptr) return std::optional<LeafNode>();  // the empty tree
    if (depth >= kKeyBits) return corrupt(at, "is an internal node below the deepest level");
    const bool right = bit_at(key, depth);
    const Child& next = right ? n->right : n->left;
    if (proof != nullptr) proof->siblings.push_back(right ? n->left.hash : n->right.hash);
    if (next.empty()) return std::optional<LeafNode>();
    at = NodeKey{next.version, static_cast<uint16_t>(depth + 1), with_bit(at.path, depth, right)};
    IMET_ASSIGN_OR_RETURN(node, load(reader_, at, next.kind, next.hash));
  }
}

util::Result<std::optional<ValueHash>> SparseMerkleTree::get(Version version,
                                                             const Key& key) const {
  IMET_ASSIGN_OR_RETURN(const std::optional<LeafNode> leaf, walk(version, key, nullptr));
  if (leaf && leaf->key == key) return std::optional<ValueHash>(leaf->value_hash);
  return std::optional<ValueHash>();
}

util::Result<ProofResult> SparseMerkleTree::prove(Version version, const Key& key) const {
  ProofResult result;
  IMET_ASSIGN_OR_RETURN(const std::optional<LeafNode> leaf, walk(version, key, &result.proof));
  if (leaf && leaf->key == key) result.value_hash = leaf->value_hash;
  return result;
}

}  // namespace imet::ledger::smt
