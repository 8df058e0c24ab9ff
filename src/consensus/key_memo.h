// KeyMemo<V>: a small memo from 32-byte public keys to values, for per-message lookups on the
// consensus hot path (the engine's voter key -> (witness?, address) memo is asked once per vote;
// with a node-based hash map each lookup chased a bucket and a node pointer). Open addressing with
// linear probing over an inline array of (key, value index) slots, values kept in a vector. Keys
// come from peers (any 32 bytes), so slots are chosen by all 32 bytes mixed with a per-process
// random key: a peer cannot aim many keys at one probe chain.
// Thread-safety: not thread-safe (owned by one engine). Invariants: the slot table's size is a
// power of two and at least twice the number of values; every used slot names a distinct value;
// references returned by find()/insert() stay valid until the next insert() or clear().
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "crypto/ed25519.h"
#include "crypto/sodium.h"

namespace imet::consensus {

template <typename V>
class KeyMemo {
 public:
  size_t size() const { return values_.size(); }
  void clear() {
    slots_.clear();
    values_.clear();
  }
  // The value memoized for `key`, or nullptr.
  const V* find(const crypto::PublicKey& key) const {
    if (slots_.empty()) return nullptr;
    const Slot& s = slots_[probe(key)];
    return s.used ? &values_[s.index] : nullptr;
  }
  // Memoizes `value` for `key` (which must not be present) and returns it.
  const V& insert(const crypto::PublicKey& key, V value) {
    if (2 * (values_.size() + 1) > slots_.size()) grow();
    Slot& s = slots_[probe(key)];
    s.key = key;
    s.used = true;
    s.index = static_cast<uint32_t>(values_.size());
    values_.push_back(std::move(value));
    return values_.back();
  }

 private:
  struct Slot {
    crypto::PublicKey key{};
    uint32_t index = 0;
    bool used = false;
  };
  // The slot holding `key`, or the free slot where it would go. Requires a non-empty table with
  // a free slot.
  size_t probe(const crypto::PublicKey& key) const {
    static const uint64_t seed = [] {
      uint64_t k = 0;
      crypto::random_bytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&k), sizeof k));
      return k;
    }();
    uint64_t h = seed;
    for (size_t off = 0; off < 32; off += 8) {
      uint64_t w = 0;
      std::memcpy(&w, key.data() + off, sizeof w);
      h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
      h ^= h >> 29;
    }
    const size_t mask = slots_.size() - 1;
    size_t i = static_cast<size_t>(h) & mask;
    while (slots_[i].used && slots_[i].key != key)
      i = (i + 1) & mask;
    return i;
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    for (const Slot& s : old) {
      if (s.used) slots_[probe(s.key)] = s;
    }
  }

  std::vector<Slot> slots_;
  std::vector<V> values_;
};

}  // namespace imet::consensus
