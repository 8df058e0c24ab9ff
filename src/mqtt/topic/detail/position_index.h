// PositionIndex (internal): an open-addressing hash index from a 32-bit hash to a position in a
// dense vector owned by the caller (ChildTable, KeyedVector). Each slot is 8 bytes: the hash in the
// high half, position + 1 in the low half (0 = empty); linear probing, load factor <= 1/2,
// backward-shift deletion (no tombstones). Comparing the stored hash first means a lookup touches
// the caller's element only on a full 32-bit hash match. About 12-16 bytes per element, versus
// ~56 for std::unordered_map.
// Thread-safety: none; single owner.
// Invariants: every element of the owner's vector has exactly one slot holding its hash and
// position; the slot count is a power of two and at least twice the element count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace imet::mqtt::detail {

// Spreads any 64-bit hash (libstdc++'s integer hash is the identity) into 32 well-mixed bits.
inline uint32_t mix_hash(uint64_t h) {
  return static_cast<uint32_t>((h * 0x9E3779B97F4A7C15ULL) >> 32);
}

class PositionIndex {
 public:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  // Position of the element with hash `h` for which is_match(position) is true, or kNone.
  template <typename IsMatch>
  size_t find(uint32_t h, IsMatch&& is_match) const {
    if (slots_.empty()) return kNone;
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const uint64_t s = slots_[i];
      if (s == 0) return kNone;
      if (hash_of(s) == h && is_match(pos_of(s))) return pos_of(s);
    }
  }

  // Precondition: no slot holds `pos`.
  void insert(uint32_t h, size_t pos) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.empty() ? 16 : slots_.size() * 2);
    place(h, pos);
    ++size_;
  }

  // Removes the slot (h, pos). Precondition: it exists.
  void erase(uint32_t h, size_t pos) {
    erase_slot(slot_of(h, pos));
    --size_;
    if (slots_.size() > 16 && size_ * 8 < slots_.size()) rehash(slots_.size() / 4);
  }

  // The element with hash `h` moved from position `from` to `to`.
  void relocate(uint32_t h, size_t from, size_t to) { slots_[slot_of(h, from)] = make(h, to); }

  void reserve(size_t n) {
    size_t want = 16;
    while (want < n * 2)
      want *= 2;
    if (want > slots_.size()) rehash(want);
  }

  size_t size() const { return size_; }

 private:
  static uint64_t make(uint32_t h, size_t pos) {
    return (static_cast<uint64_t>(h) << 32) | static_cast<uint64_t>(pos + 1);
  }
  static uint32_t hash_of(uint64_t s) { return static_cast<uint32_t>(s >> 32); }
  static size_t pos_of(uint64_t s) { return static_cast<size_t>(s & 0xFFFFFFFFu) - 1; }

  size_t slot_of(uint32_t h, size_t pos) const {
    const size_t mask = slots_.size() - 1;
    const uint64_t want = make(h, pos);
    size_t i = h & mask;
    while (slots_[i] != want)
      i = (i + 1) & mask;
    return i;
  }

  void place(uint32_t h, size_t pos) {
    const size_t mask = slots_.size() - 1;
    size_t i = h & mask;
    while (slots_[i] != 0)
      i = (i + 1) & mask;
    slots_[i] = make(h, pos);
  }

  void erase_slot(size_t i) {
    const size_t mask = slots_.size() - 1;
    for (size_t j = (i + 1) & mask; slots_[j] != 0; j = (j + 1) & mask) {
      const size_t home = hash_of(slots_[j]) & mask;
      // The entry at j may stay only if its home lies cyclically in (i, j].
      const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = 0;
  }

  void rehash(size_t count) {
    std::vector<uint64_t> old(count, 0);
    old.swap(slots_);
    for (const uint64_t s : old) {
      if (s != 0) place(hash_of(s), pos_of(s));
    }
  }

  std::vector<uint64_t> slots_;
  size_t size_ = 0;
};

}  // namespace imet::mqtt::detail
