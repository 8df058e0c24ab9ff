// SeenCache: the gossip duplicate filter. Keys are BLAKE2b-256 over (type || payload). An entry
// remembers whether this host has broadcast the message and which peers (up to kMaxHolders) sent
// it to us, so a relay skips them.
//   on_received: true the first time a key is seen (deliver it), false for a duplicate.
//   on_broadcast: true if this host has not broadcast the key yet (send it), else false. A message
//   that was only received may be broadcast once: that is how the application relays gossip after
//   validating it.
// Thread-safety: not safe for concurrent use; Host guards it with a mutex.
// Invariants: at most `capacity` entries; the oldest entry is evicted first (FIFO by first sight).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

#include "crypto/hash.h"
#include "net/types.h"

namespace imet::net {

class SeenCache {
 public:
  using Key = crypto::Hash256;
  static constexpr size_t kMaxHolders = 8;

  explicit SeenCache(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  static Key key(uint8_t type, util::ByteSpan payload);

  bool on_received(const Key& key, const PeerId& from);
  // On true, `holders` (if not null) gets the peers known to have the message already.
  bool on_broadcast(const Key& key, std::vector<PeerId>* holders);
  bool contains(const Key& key) const { return map_.count(key) != 0; }
  size_t size() const { return map_.size(); }

 private:
  struct KeyHash {
    size_t operator()(const Key& k) const {
      size_t h = 0;
      for (size_t i = 0; i < sizeof(size_t); ++i)
        h = (h << 8) | k[i];
      return h;
    }
  };
  struct Entry {
    bool broadcast = false;
    std::vector<PeerId> holders;
  };
  Entry& insert(const Key& key, bool& inserted);

  size_t capacity_;
  std::unordered_map<Key, Entry, KeyHash> map_;
  std::deque<Key> order_;
};

}  // namespace imet::net
