// Building blocks shared by SubscriptionTree and RetainedIndex (internal, namespace detail):
//  - make_node / NodePtr: a trie node and its level name in one allocation;
//  - ChildTable<Node>: the children of a trie node keyed by level name;
//  - KeyedVector<Key, Value>: a small map kept as a dense vector (fast iteration on the match
//  path);
//  - SmallStack<T, N>: a LIFO stack with N inline slots, spilling to the heap only when deeper.
// The tables scan linearly while small and add a PositionIndex (hash -> position) once they grow,
// so a node with one child or one subscriber costs no hash table, while a node with 100k children
// or subscribers still finds one in O(1). Removal moves the last element into the hole.
// Thread-safety: none; each object has a single owner (the enclosing trie).
// Invariants: ChildTable: names are unique; a single child is held inline, two or more in `many_`;
// a node's name never changes after make_node. KeyedVector: keys are unique. Where an index
// exists it maps exactly every element to its position. Positions fit in uint32_t.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string_view>
#include <utility>
#include <vector>

#include "mqtt/topic/detail/position_index.h"

namespace imet::mqtt::detail {

inline constexpr size_t kNoLevel = std::string_view::npos;

// Returns the level of `s` starting at `pos` and moves `pos` to the start of the next level, or to
// kNoLevel when this was the last one. "a/" has the levels "a" and "".
inline std::string_view split_level(std::string_view s, size_t& pos) {
  const size_t slash = s.find('/', pos);
  std::string_view level;
  if (slash == std::string_view::npos) {
    level = s.substr(pos);
    pos = kNoLevel;
  } else {
    level = s.substr(pos, slash - pos);
    pos = slash + 1;
  }
  return level;
}

template <typename Node>
struct NodeDeleter {
  void operator()(Node* n) const noexcept {
    n->~Node();
    ::operator delete(static_cast<void*>(n));
  }
};
template <typename Node>
using NodePtr = std::unique_ptr<Node, NodeDeleter<Node>>;

// One allocation holding a Node and, right after it, its level name (read back by Node::name()
// as {this + 1, name_len}). Node must be constructible as Node(uint32_t name_len, args...).
template <typename Node, typename... Args>
NodePtr<Node> make_node(std::string_view name, Args&&... args) {
  void* mem = ::operator new(sizeof(Node) + name.size());
  if (!name.empty()) std::memcpy(static_cast<char*>(mem) + sizeof(Node), name.data(), name.size());
  return NodePtr<Node>(new (mem)
                           Node(static_cast<uint32_t>(name.size()), std::forward<Args>(args)...));
}

inline uint32_t hash_level(std::string_view name) {
  return mix_hash(std::hash<std::string_view>{}(name));
}

// The exact-level children of a trie node: none, one (held inline, no allocation) or many (a
// vector, scanned linearly up to kIndexAbove children, hash-indexed beyond).
template <typename Node>
class ChildTable {
 public:
  static constexpr size_t kIndexAbove = 8;
  static constexpr size_t kDropAtOrBelow = 4;

  Node* find(std::string_view name) const {
    if (single_) return single_->name() == name ? single_.get() : nullptr;
    return many_ ? many_->find(name) : nullptr;
  }

  // Precondition: no child with the same name.
  Node* insert(NodePtr<Node> child) {
    Node* raw = child.get();
    if (!single_ && !many_) {
      single_ = std::move(child);
    } else {
      if (!many_) {
        many_ = std::make_unique<Many>();
        many_->push(std::move(single_));
      }
      many_->push(std::move(child));
    }
    return raw;
  }

  // Destroys `child`, which must be in this table.
  void erase(const Node* child) {
    if (single_) {
      single_.reset();
      return;
    }
    many_->erase(child);
    if (many_->items.size() == 1) {
      single_ = std::move(many_->items.front());
      many_.reset();
    }
  }

  bool empty() const { return !single_ && !many_; }
  size_t size() const { return single_ ? 1 : many_ ? many_->items.size() : 0; }

  template <typename Fn>
  void for_each(Fn&& fn) const {
    if (single_) {
      fn(static_cast<const Node*>(single_.get()));
    } else if (many_) {
      for (const auto& c : many_->items)
        fn(static_cast<const Node*>(c.get()));
    }
  }

  // Moves all children to `out` (for iterative teardown of deep tries).
  void release_into(std::vector<NodePtr<Node>>& out) {
    if (single_) out.push_back(std::move(single_));
    if (many_) {
      for (auto& c : many_->items)
        out.push_back(std::move(c));
      many_.reset();
    }
  }

 private:
  struct Many {
    Node* find(std::string_view name) const {
      if (index) {
        const size_t pos =
            index->find(hash_level(name), [&](size_t p) { return items[p]->name() == name; });
        return pos == PositionIndex::kNone ? nullptr : items[pos].get();
      }
      for (const auto& c : items) {
        if (c->name() == name) return c.get();
      }
      return nullptr;
    }
    void push(NodePtr<Node> child) {
      items.push_back(std::move(child));
      if (index) {
        index->insert(hash_level(items.back()->name()), items.size() - 1);
      } else if (items.size() > kIndexAbove) {
        index = std::make_unique<PositionIndex>();
        index->reserve(items.size());
        for (size_t i = 0; i < items.size(); ++i)
          index->insert(hash_level(items[i]->name()), i);
      }
    }
    void erase(const Node* child) {
      size_t pos = 0;
      if (index) {
        const uint32_t h = hash_level(child->name());
        pos = index->find(h, [&](size_t p) { return items[p].get() == child; });
        index->erase(h, pos);
      } else {
        while (items[pos].get() != child)
          ++pos;
      }
      const size_t last = items.size() - 1;
      if (pos != last) {
        if (index) index->relocate(hash_level(items[last]->name()), last, pos);
        items[pos] = std::move(items[last]);  // destroys child
      }
      items.pop_back();
      if (index && items.size() <= kDropAtOrBelow) index.reset();
      if (items.capacity() > 16 && items.size() < items.capacity() / 4) items.shrink_to_fit();
    }

    std::vector<NodePtr<Node>> items;
    std::unique_ptr<PositionIndex> index;
  };

  NodePtr<Node> single_;
  std::unique_ptr<Many> many_;
};

template <typename Key, typename Value>
struct Member {
  Key key;
  Value value;
};

template <typename Key, typename Value, typename Hash, typename KeyEqual>
class KeyedVector {
 public:
  using Item = Member<Key, Value>;
  static constexpr size_t kIndexAbove = 16;
  static constexpr size_t kDropAtOrBelow = 8;
  static constexpr size_t kNone = PositionIndex::kNone;

  size_t position(const Key& key) const {
    if (index_) {
      return index_->find(hash(key), [&](size_t p) { return KeyEqual{}(items_[p].key, key); });
    }
    for (size_t i = 0; i < items_.size(); ++i) {
      if (KeyEqual{}(items_[i].key, key)) return i;
    }
    return kNone;
  }

  const Value* find(const Key& key) const {
    const size_t pos = position(key);
    return pos == kNone ? nullptr : &items_[pos].value;
  }

  // Returns true if `key` was added, false if its value was replaced.
  bool insert_or_assign(const Key& key, Value value) {
    const size_t pos = position(key);
    if (pos != kNone) {
      items_[pos].value = std::move(value);
      return false;
    }
    items_.push_back(Item{key, std::move(value)});
    if (index_) {
      index_->insert(hash(key), items_.size() - 1);
    } else if (items_.size() > kIndexAbove) {
      index_ = std::make_unique<PositionIndex>();
      index_->reserve(items_.size());
      for (size_t i = 0; i < items_.size(); ++i)
        index_->insert(hash(items_[i].key), i);
    }
    return true;
  }

  // Returns the position the key had, or kNone if absent. The last item moves into that position.
  size_t erase(const Key& key) {
    const size_t pos = position(key);
    if (pos == kNone) return kNone;
    const size_t last = items_.size() - 1;
    if (index_) {
      index_->erase(hash(key), pos);
      if (pos != last) index_->relocate(hash(items_[last].key), last, pos);
    }
    if (pos != last) items_[pos] = std::move(items_[last]);
    items_.pop_back();
    if (index_ && items_.size() <= kDropAtOrBelow) index_.reset();
    if (items_.capacity() > 16 && items_.size() < items_.capacity() / 4) items_.shrink_to_fit();
    return pos;
  }

  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const Item& operator[](size_t i) const { return items_[i]; }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  static uint32_t hash(const Key& key) { return mix_hash(Hash{}(key)); }

  std::vector<Item> items_;
  std::unique_ptr<PositionIndex> index_;
};

// LIFO stack: the first N elements live inline (no allocation for normal topic depths).
template <typename T, size_t N>
class SmallStack {
 public:
  void push(const T& v) {
    if (size_ < N) {
      inline_[size_++] = v;
    } else {
      spill_.push_back(v);
    }
  }
  bool empty() const { return size_ == 0 && spill_.empty(); }
  // Precondition: !empty().
  T pop() {
    if (!spill_.empty()) {
      T v = spill_.back();
      spill_.pop_back();
      return v;
    }
    return inline_[--size_];
  }

 private:
  std::array<T, N> inline_;  // not value-initialized: only slots below size_ are read
  size_t size_ = 0;
  std::vector<T> spill_;
};

}  // namespace imet::mqtt::detail
