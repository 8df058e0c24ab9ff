// RetainedIndex<T>: which topic names have a retained message, as a trie keyed by topic levels,
// holding one T per topic name (a handle to the message; the bodies live elsewhere). When a client
// subscribes, find(filter) visits every retained topic the filter matches: exact levels are looked
// up, '+' visits every child, '#' the whole subtree, and at the first level wildcards skip topics
// starting with '$' (MQTT-4.7.2-1). Cost is proportional to the nodes visited, not to the index
// size (except for filters like "#" that match everything). Thread-safety: none. A single owner
// uses it; no locks inside. Do not modify the index from inside a find() callback. Invariants: only
// valid topic names (validate_topic_name, protocol rules) are stored; the root never holds a value;
// every non-root node holds a value or has a child (empty nodes are pruned on erase); size() is the
// number of stored topic names; node_count() counts non-root nodes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mqtt/topic/detail/trie_parts.h"
#include "mqtt/topic/validation.h"

namespace imet::mqtt {

template <typename T>
class RetainedIndex {
 public:
  enum class Change : uint8_t { kAdded, kReplaced, kInvalidTopic };

  RetainedIndex() = default;
  RetainedIndex(const RetainedIndex&) = delete;
  RetainedIndex& operator=(const RetainedIndex&) = delete;
  ~RetainedIndex() { clear(); }

  // Stores (or replaces) the value for topic name `topic`; kInvalidTopic for an invalid name.
  Change set(std::string_view topic, T value) {
    if (!validate_topic_name(topic).ok()) return Change::kInvalidTopic;
    Node* n = &root_;
    size_t pos = 0;
    while (pos != detail::kNoLevel) {
      const std::string_view level = detail::split_level(topic, pos);
      Node* c = n->children.find(level);
      if (c == nullptr) {
        c = n->children.insert(detail::make_node<Node>(level, n));
        ++node_count_;
      }
      n = c;
    }
    const bool added = !n->value.has_value();
    n->value = std::move(value);
    if (added) ++size_;
    return added ? Change::kAdded : Change::kReplaced;
  }

  // Removes `topic`; false if it was not stored.
  bool erase(std::string_view topic) {
    Node* n = locate(*this, topic);
    if (n == nullptr || !n->value) return false;
    n->value.reset();
    --size_;
    while (n != &root_ && !n->value && n->children.empty()) {
      Node* parent = n->parent;
      parent->children.erase(n);
      --node_count_;
      n = parent;
    }
    return true;
  }

  const T* get(std::string_view topic) const {
    const Node* n = locate(*this, topic);
    return n != nullptr && n->value ? &*n->value : nullptr;
  }
  T* get(std::string_view topic) {
    Node* n = locate(*this, topic);
    return n != nullptr && n->value ? &*n->value : nullptr;
  }

  // Calls fn(std::string_view topic_name, const T&) for every stored topic matching topic filter
  // `filter` (a valid filter; a shared subscription's inner filter). Order is unspecified; the
  // topic_name view is valid only during the call.
  template <typename Fn>
  void find(std::string_view filter, Fn&& fn) const {
    constexpr size_t kEverything = detail::kNoLevel - 1;  // inside a '#': report the subtree
    struct Frame {
      const Node* node;
      size_t pos;       // start of the next filter level, kNoLevel (done) or kEverything
      size_t path_len;  // length of the parent's topic name in `path`
    };
    std::string path;
    std::vector<Frame> pending;
    // Children of the root whose name starts with '$' are skipped by wildcard levels.
    const auto push_children = [&](const Node* n, size_t pos) {
      n->children.for_each([&](const Node* c) {
        if (n == &root_ && c->name_len != 0 && c->name().front() == '$') return;
        pending.push_back({c, pos, path.size()});
      });
    };
    const auto visit = [&](const Frame& f) {  // the filter's next level at f.node
      if (f.pos == kEverything || f.pos == detail::kNoLevel) {
        if (f.node->value) fn(std::string_view(path), *f.node->value);
        if (f.pos == kEverything) push_children(f.node, kEverything);
        return;
      }
      size_t next = f.pos;
      const std::string_view level = detail::split_level(filter, next);
      if (level == "#") {  // matches this level ("sport/#" matches "sport") and everything below
        if (f.node->value) fn(std::string_view(path), *f.node->value);
        push_children(f.node, kEverything);
      } else if (level == "+") {
        push_children(f.node, next);
      } else if (const Node* c = f.node->children.find(level)) {
        pending.push_back({c, next, path.size()});
      }
    };
    visit({&root_, 0, 0});
    while (!pending.empty()) {
      const Frame f = pending.back();
      pending.pop_back();
      path.resize(f.path_len);
      if (f.node->parent != &root_) path.push_back('/');
      path.append(f.node->name());
      visit(f);
    }
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t node_count() const { return node_count_; }

  void clear() {
    std::vector<detail::NodePtr<Node>> work;
    root_.children.release_into(work);
    while (!work.empty()) {  // iterative: deep topics must not overflow the stack
      detail::NodePtr<Node> n = std::move(work.back());
      work.pop_back();
      n->children.release_into(work);
    }
    size_ = node_count_ = 0;
  }

 private:
  struct Node {
    Node(uint32_t len, Node* p) : name_len(len), parent(p) {}
    // The level name is stored right after the node (detail::make_node); the root's is empty.
    std::string_view name() const { return {reinterpret_cast<const char*>(this + 1), name_len}; }

    uint32_t name_len;
    Node* parent;
    detail::ChildTable<Node> children;
    std::optional<T> value;
  };

  template <typename Self>
  static auto locate(Self& self, std::string_view topic) -> decltype(&self.root_) {
    auto n = &self.root_;
    size_t pos = 0;
    while (pos != detail::kNoLevel && n != nullptr)
      n = n->children.find(detail::split_level(topic, pos));
    return n;
  }

  Node root_{0, nullptr};
  size_t size_ = 0;
  size_t node_count_ = 0;
};

}  // namespace imet::mqtt
