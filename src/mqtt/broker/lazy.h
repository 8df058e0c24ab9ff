// Lazy<C>: a standard container (unordered_map / unordered_set) that is allocated on first use.
// Per-session and per-connection state such as topic aliases, QoS 2 packet ids awaiting PUBREL
// and the subscription list is empty for most clients (an idle device never fills it), and an
// empty std::unordered_map still costs 56 bytes inside its owner; Lazy costs one pointer until
// something is stored. Only the operations the broker needs are forwarded.
//
// Thread-safety: none of its own; the owner's lock (or strand) guards it, as for the container.
// Invariants: get() is null until mut() (or an inserting call) created the container; clear()
// frees it; erase() keeps it (a QoS 2 flow inserts and erases an id per message: no churn).
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

namespace imet::mqtt::broker {

template <class C>
class Lazy {
 public:
  // The container, or null while nothing was ever stored (read access, iteration).
  const C* get() const { return c_.get(); }
  C* ptr() { return c_.get(); }
  // The container, created if needed (write access).
  C& mut() {
    if (!c_) c_ = std::make_unique<C>();
    return *c_;
  }

  bool empty() const { return !c_ || c_->empty(); }
  size_t size() const { return c_ ? c_->size() : 0; }
  template <class K>
  size_t count(const K& key) const {
    return c_ ? c_->count(key) : 0;
  }
  template <class K>
  size_t erase(const K& key) {
    return c_ ? c_->erase(key) : 0;
  }
  // Maps: the value stored under `key`, or null.
  template <class K>
  auto* find(const K& key) {
    using Mapped = typename C::mapped_type;
    Mapped* found = nullptr;
    if (c_) {
      if (auto it = c_->find(key); it != c_->end()) found = &it->second;
    }
    return found;
  }
  // Empties the container and gives its memory back.
  void clear() { c_.reset(); }

 private:
  std::unique_ptr<C> c_;
};

}  // namespace imet::mqtt::broker
