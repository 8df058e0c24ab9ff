// SubscriptionTree<Key, T>: the broker's subscription index. A trie keyed by topic-filter levels
// (split on '/'), holding per filter a map subscriber Key -> T (the subscription options), plus the
// shared subscriptions ("$share/{group}/{filter}") of that filter as groups with a member list and
// a round-robin cursor. match(topic) visits every subscription whose filter matches a topic name,
// walking per level only the exact child, the '+' child and the '#' entry, so its cost depends on
// the topic's depth and the number of matches, not on the number of subscriptions.
//
// Reporting policy: match() reports every matching (subscriber, T, filter) separately; the filter
// comes as a FilterRef, which rebuilds the filter string only if asked (str()), so the trie does
// not store each filter a second time. If one subscriber has several overlapping filters ("a/+" and
// "a/#"), it is reported once per filter; the broker merges them as MQTT 5 §3.3.4 requires (one
// delivery at the maximum granted QoS carrying the subscription identifiers of all matching
// subscriptions; MQTT 3.1.1 allows either). Each matching shared group is reported once, as a
// SharedGroup&; the broker picks one member with next_member(available) (round-robin, skipping
// members it marks unavailable).
//
// Filters are given as clients send them (raw SUBSCRIBE/UNSUBSCRIBE filters). insert() validates
// them with parse_subscription_filter (protocol rules only; check broker limits before) and
// rejects invalid ones, so the trie only ever holds valid filters.
//
// Thread-safety: none. A single owner (the broker's topic-tree strand/thread) uses it; no locks
// inside. The tree must not be modified from inside a match() callback.
// Invariants: every node except the root has a non-empty entry, a '+' child, a '#' entry or a
// child (empty nodes are pruned on removal), so memory is proportional to the live subscriptions
// (about 270 bytes for a subscription to its own "dev/<16 hex digits>/cmd", see bench_topic);
// node_count() counts non-root nodes; size() counts plain subscriptions plus shared-group
// memberships; a SharedGroup exists iff it has at least one member. Pointers/references handed
// out (SharedGroup&, const T*) stay valid until the next insert/erase/clear.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "mqtt/topic/detail/trie_parts.h"
#include "mqtt/topic/validation.h"

namespace imet::mqtt {

template <typename Key, typename T, typename Hash = std::hash<Key>,
          typename KeyEqual = std::equal_to<Key>>
class SubscriptionTree {
 public:
  using Member = detail::Member<Key, T>;  // {key, value}

 private:
  struct Node;

 public:
  // The filter of a matching subscription: a pointer to its trie node. str() rebuilds the text
  // ("a/+/b", "a/#", "#"; for a shared subscription the inner filter, without "$share/<group>/").
  class FilterRef {
   public:
    std::string str() const {
      std::vector<std::string_view> levels;
      for (const Node* n = node_; n->parent != nullptr; n = n->parent)
        levels.push_back(n->name());
      std::string out;
      for (auto it = levels.rbegin(); it != levels.rend(); ++it) {
        if (it != levels.rbegin()) out.push_back('/');
        out.append(*it);
      }
      if (hash_) out.append(levels.empty() ? "#" : "/#");
      return out;
    }

   private:
    friend class SubscriptionTree;
    FilterRef(const Node* node, bool hash) : node_(node), hash_(hash) {}
    const Node* node_;
    bool hash_;  // the filter is node's path + "/#"
  };

  // The members of one shared subscription (group name + filter). Handed out by match().
  class SharedGroup {
   public:
    std::string_view name() const { return name_; }
    FilterRef filter() const { return filter_; }
    size_t size() const { return members_.size(); }
    const T* find(const Key& key) const { return members_.find(key); }
    auto begin() const { return members_.begin(); }
    auto end() const { return members_.end(); }

    // Round-robin choice: the first member at or after the cursor for which `available(member)`
    // is true; the cursor moves past it. nullptr if no member is available.
    template <typename Available>
    const Member* next_member(Available&& available) {
      const size_t n = members_.size();
      size_t i = cursor_ < n ? cursor_ : 0;
      for (size_t tried = 0; tried < n; ++tried) {
        const Member& m = members_[i];
        if (++i == n) i = 0;
        if (available(m)) {
          cursor_ = i;
          return &m;
        }
      }
      return nullptr;
    }
    const Member* next_member() {
      return next_member([](const Member&) { return true; });
    }

   private:
    friend class SubscriptionTree;
    SharedGroup(std::string_view name, FilterRef filter) : name_(name), filter_(filter) {}

    std::string name_;
    FilterRef filter_;
    detail::KeyedVector<Key, T, Hash, KeyEqual> members_;
    size_t cursor_ = 0;
  };

  enum class Change : uint8_t { kAdded, kReplaced, kInvalidFilter };

  SubscriptionTree() = default;
  SubscriptionTree(const SubscriptionTree&) = delete;
  SubscriptionTree& operator=(const SubscriptionTree&) = delete;
  ~SubscriptionTree() { clear(); }

  // Adds `key`'s subscription to `filter` ("a/+/b" or "$share/g/a/+/b"), or replaces its options.
  Change insert(std::string_view filter, const Key& key, T value) {
    const ParsedSubscription p = parse_subscription_filter(filter);
    if (!p.check.ok()) return Change::kInvalidFilter;
    const auto [node, slot] = slot_for(p.filter);
    if (!*slot) *slot = std::make_unique<Entry>();
    Entry& e = **slot;
    bool added = false;
    if (!p.shared) {
      added = e.subscribers.insert_or_assign(key, std::move(value));
    } else {
      SharedGroup* g = e.find_group(p.group);
      if (g == nullptr) {
        g = e.add_group(p.group, FilterRef(node, slot == &node->hash_entry));
        ++group_count_;
      }
      added = g->members_.insert_or_assign(key, std::move(value));
    }
    if (added) ++size_;
    return added ? Change::kAdded : Change::kReplaced;
  }

  // Removes `key`'s subscription to `filter` (raw, as in insert). False if there was none.
  bool erase(std::string_view filter, const Key& key) {
    const auto shared = split_shared_subscription(filter);
    const auto [node, slot] = locate(*this, shared ? shared->filter : filter);
    if (slot == nullptr || !*slot) return false;
    Entry& e = **slot;
    if (!shared) {
      if (e.subscribers.erase(key) == kNone) return false;
    } else {
      SharedGroup* g = e.find_group(shared->group);
      if (g == nullptr || g->members_.erase(key) == kNone) return false;
      if (g->members_.empty()) {
        e.erase_group(g);
        --group_count_;
      }
    }
    --size_;
    if (e.empty()) {
      slot->reset();
      prune(node);
    }
    return true;
  }

  // Removes `key` from each of `filters` (any range of string-likes: the subscriber's filters,
  // which the caller tracks - an MQTT session stores them anyway). Returns how many were removed.
  template <typename Range>
  size_t erase_all(const Key& key, const Range& filters) {
    size_t removed = 0;
    for (const auto& f : filters)
      removed += erase(std::string_view(f), key) ? 1 : 0;
    return removed;
  }

  // The options of `key`'s subscription to `filter` (raw), or nullptr.
  const T* find(std::string_view filter, const Key& key) const {
    const auto shared = split_shared_subscription(filter);
    const auto [node, slot] = locate(*this, shared ? shared->filter : filter);
    if (slot == nullptr || !*slot) return nullptr;
    const Entry& e = **slot;
    if (!shared) return e.subscribers.find(key);
    const SharedGroup* g = e.find_group(shared->group);
    return g == nullptr ? nullptr : g->find(key);
  }

  // Visits every subscription matching topic name `topic`:
  //   on_subscriber(const Key&, const T&, FilterRef filter) per plain subscription,
  //   on_shared(SharedGroup&) per shared group (const SharedGroup& from a const tree).
  // Order is unspecified. No allocation unless more than 64 '+' branches are pending at once.
  template <typename OnSubscriber, typename OnShared>
  void match(std::string_view topic, OnSubscriber&& on_subscriber, OnShared&& on_shared) {
    match_impl(*this, topic, on_subscriber, on_shared);
  }
  template <typename OnSubscriber, typename OnShared>
  void match(std::string_view topic, OnSubscriber&& on_subscriber, OnShared&& on_shared) const {
    match_impl(*this, topic, on_subscriber, on_shared);
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t shared_group_count() const { return group_count_; }
  size_t node_count() const { return node_count_; }

  void clear() {
    std::vector<detail::NodePtr<Node>> work;
    root_.release_children(work);
    root_.entry.reset();
    root_.hash_entry.reset();
    while (!work.empty()) {  // iterative: a 32k-level filter must not overflow the stack
      detail::NodePtr<Node> n = std::move(work.back());
      work.pop_back();
      n->release_children(work);
    }
    size_ = group_count_ = node_count_ = 0;
  }

 private:
  static constexpr size_t kNone = detail::KeyedVector<Key, T, Hash, KeyEqual>::kNone;

  // Subscriptions of one filter. Shared groups are rare, so their list is allocated on demand.
  struct Entry {
    SharedGroup* find_group(std::string_view name) const {
      if (groups) {
        for (const auto& g : *groups) {
          if (g->name_ == name) return g.get();
        }
      }
      return nullptr;
    }
    SharedGroup* add_group(std::string_view name, FilterRef filter) {
      if (!groups) groups = std::make_unique<std::vector<std::unique_ptr<SharedGroup>>>();
      groups->push_back(std::unique_ptr<SharedGroup>(new SharedGroup(name, filter)));
      return groups->back().get();
    }
    void erase_group(const SharedGroup* g) {
      for (auto& slot : *groups) {
        if (slot.get() == g) {
          slot = std::move(groups->back());
          groups->pop_back();
          break;
        }
      }
      if (groups->empty()) groups.reset();
    }
    bool empty() const { return subscribers.empty() && !groups; }

    detail::KeyedVector<Key, T, Hash, KeyEqual> subscribers;
    std::unique_ptr<std::vector<std::unique_ptr<SharedGroup>>> groups;  // null or non-empty
  };

  struct Node {
    Node(uint32_t len, Node* p) : name_len(len), parent(p) {}
    // The level name is stored right after the node (detail::make_node); the root's is empty.
    std::string_view name() const { return {reinterpret_cast<const char*>(this + 1), name_len}; }
    bool prunable() const { return !entry && !hash_entry && !plus && children.empty(); }
    void release_children(std::vector<detail::NodePtr<Node>>& out) {
      children.release_into(out);
      if (plus) out.push_back(std::move(plus));
    }

    uint32_t name_len;
    Node* parent;
    detail::ChildTable<Node> children;  // exact-level children
    detail::NodePtr<Node> plus;         // the '+' child
    std::unique_ptr<Entry> entry;       // filters ending at this node
    std::unique_ptr<Entry> hash_entry;  // filters ending with this node's path + "/#"
  };

  // {node, entry slot} for a valid filter, creating the nodes on the way.
  std::pair<Node*, std::unique_ptr<Entry>*> slot_for(std::string_view filter) {
    Node* n = &root_;
    size_t pos = 0;
    while (pos != detail::kNoLevel) {
      const std::string_view level = detail::split_level(filter, pos);
      if (level == "#") return {n, &n->hash_entry};  // valid filters have '#' last
      if (level == "+") {
        if (!n->plus) {
          n->plus = detail::make_node<Node>(level, n);
          ++node_count_;
        }
        n = n->plus.get();
      } else {
        Node* c = n->children.find(level);
        if (c == nullptr) {
          c = n->children.insert(detail::make_node<Node>(level, n));
          ++node_count_;
        }
        n = c;
      }
    }
    return {n, &n->entry};
  }

  // Entry slot for `filter` if its nodes exist (the slot itself may be empty): {node, slot}, or
  // {nullptr, nullptr}. Const-ness follows `self`.
  template <typename Self>
  static auto locate(Self& self, std::string_view filter) {
    constexpr bool kConst = std::is_const_v<Self>;
    using NodePtr = std::conditional_t<kConst, const Node*, Node*>;
    using Slot = std::conditional_t<kConst, const std::unique_ptr<Entry>, std::unique_ptr<Entry>>;
    using Result = std::pair<NodePtr, Slot*>;
    NodePtr n = &self.root_;
    size_t pos = 0;
    while (pos != detail::kNoLevel) {
      const std::string_view level = detail::split_level(filter, pos);
      if (level == "#") {
        if (pos != detail::kNoLevel) return Result{};
        return Result{n, &n->hash_entry};
      }
      n = level == "+" ? n->plus.get() : n->children.find(level);
      if (n == nullptr) return Result{};
    }
    return Result{n, &n->entry};
  }

  void prune(Node* n) {
    while (n != &root_ && n->prunable()) {
      Node* parent = n->parent;
      if (parent->plus.get() == n) {
        parent->plus.reset();
      } else {
        parent->children.erase(n);
      }
      --node_count_;
      n = parent;
    }
  }

  template <typename Self, typename OnSubscriber, typename OnShared>
  static void match_impl(Self& self, std::string_view topic, OnSubscriber& on_subscriber,
                         OnShared& on_shared) {
    constexpr bool kConst = std::is_const_v<Self>;
    using NodePtr = std::conditional_t<kConst, const Node*, Node*>;
    using GroupRef = std::conditional_t<kConst, const SharedGroup&, SharedGroup&>;
    const auto report = [&](const Entry& e, const Node* node, bool hash) {
      const FilterRef filter(node, hash);
      for (const Member& m : e.subscribers)
        on_subscriber(m.key, m.value, filter);
      if (e.groups) {
        for (const auto& g : *e.groups)
          on_shared(static_cast<GroupRef>(*g));
      }
    };
    struct Frame {
      NodePtr node;
      size_t pos;  // start of the next topic level, or kNoLevel when all are consumed
    };
    NodePtr root = &self.root_;
    // MQTT-4.7.2-1: '+' and '#' in the first filter level do not match names starting with '$'.
    const bool dollar = !topic.empty() && topic.front() == '$';
    detail::SmallStack<Frame, 64> pending;  // '+' branches still to walk
    pending.push({root, 0});
    while (!pending.empty()) {
      const Frame f = pending.pop();
      NodePtr node = f.node;
      size_t pos = f.pos;
      for (;;) {  // follow the exact-level path, queueing '+' branches
        const bool wildcards = !(dollar && node == root);
        if (wildcards && node->hash_entry) report(*node->hash_entry, node, true);
        if (pos == detail::kNoLevel) {
          if (node->entry) report(*node->entry, node, false);
          break;
        }
        const std::string_view level = detail::split_level(topic, pos);
        if (wildcards && node->plus) pending.push({node->plus.get(), pos});
        NodePtr child = node->children.find(level);
        if (child == nullptr) break;
        node = child;
      }
    }
  }

  Node root_{0, nullptr};
  size_t size_ = 0;
  size_t group_count_ = 0;
  size_t node_count_ = 0;
};

}  // namespace imet::mqtt
