// AddrBook: the endpoints this host knows and may dial, with where each came from, exponential
// dial backoff and "in use" marks. Sources rank seed > node (on-chain registry) > peer (ADDR
// messages, inbound peers' listen ports); an address keeps its best source. Pure: time and
// randomness are inputs.
// Thread-safety: not safe for concurrent use; the host uses it on its strand only.
// Invariants: at most `capacity` peer-sourced entries (seed and node entries are never evicted or
// refused); an entry marked self is never returned by due() or sample(); after n consecutive
// failures an entry is not due again for min(max_backoff, min_backoff * 2^(n-1)) ms; version()
// changes whenever what saved() returns may have changed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "net/wire.h"

namespace imet::net {

enum class AddrSource : uint8_t { kPeer = 0, kNode = 1, kSeed = 2 };

class AddrBook {
 public:
  // What is kept across restarts (peers file): node and peer entries, not seeds (they come from
  // the config) and not self.
  struct Saved {
    Endpoint endpoint;
    AddrSource source = AddrSource::kPeer;
    int failures = 0;
  };

  AddrBook(size_t capacity, int64_t backoff_min_ms, int64_t backoff_max_ms)
      : capacity_(capacity), backoff_min_ms_(backoff_min_ms), backoff_max_ms_(backoff_max_ms) {}

  // Adds or upgrades an entry; false if it was already known with this or a better source, or
  // the book is full of peer addresses that have never failed.
  bool add(const Endpoint& e, AddrSource source);
  // Up to `n` endpoints due for a dial at `now_ms` (not self, not in use, backoff elapsed), seeds
  // and node-registry entries first, random order within a source.
  std::vector<Endpoint> due(int64_t now_ms, size_t n, std::mt19937_64& rng) const;
  // A dial started / failed / produced a connection / the connection ended.
  void attempt(const Endpoint& e);
  void failed(const Endpoint& e, int64_t now_ms);
  void connected(const Endpoint& e);
  // `stable`: the connection lasted long enough to count as a success (failures reset, retry
  // after the minimum backoff); otherwise it counts as one more failure (a peer that accepts and
  // then drops us, e.g. because it banned us, is not redialled in a tight loop).
  void disconnected(const Endpoint& e, int64_t now_ms, bool stable);
  // The endpoint reached this host itself: never dial it again.
  void mark_self(const Endpoint& e);
  // Marks an endpoint as used by a live connection (e.g. an inbound peer's listen address).
  void set_in_use(const Endpoint& e, bool in_use);
  // Up to `n` random known endpoints (not self) for an ADDR answer.
  std::vector<Endpoint> sample(size_t n, std::mt19937_64& rng) const;

  std::vector<Saved> saved() const;
  // Adds a saved entry (subject to the capacity, like add()) with its failure count; due at once.
  bool restore(const Saved& saved);
  uint64_t version() const { return version_; }

  bool contains(const Endpoint& e) const { return entries_.count(e) != 0; }
  bool is_self(const Endpoint& e) const;
  int failures(const Endpoint& e) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    AddrSource source = AddrSource::kPeer;
    int failures = 0;
    int64_t next_try_ms = 0;
    bool in_use = false;
    bool self = false;
  };
  bool evict_one_peer_entry();

  size_t capacity_;
  int64_t backoff_min_ms_;
  int64_t backoff_max_ms_;
  size_t peer_entries_ = 0;
  uint64_t version_ = 0;
  std::map<Endpoint, Entry> entries_;
};

}  // namespace imet::net
