// AddrBook: the endpoints this host knows and may dial, with where each came from, exponential
// dial backoff and "in use" marks. Sources rank seed > node (on-chain registry) > peer (ADDR
// messages, inbound peers' listen ports); an address keeps its best source. Random choices
// (due(), sample()) pick a netgroup (net/netgroup.h) first and then an address in it, so a
// netgroup flooded with addresses is chosen no more often than any other. In the spirit of
// Bitcoin Core's "new" and "tried" tables (own code, docs/design/p2p.md "Eclipse resistance"): an
// address this host has completed a handshake with is *tried*; due() draws peer addresses from
// the tried and the new ones in turn, so addresses gossiped in bulk cannot crowd out peers known
// to be real, and tried entries are never evicted to make room; peer addresses learned from one
// limited source netgroup (the netgroup of the peer whose ADDR told us) are at most capacity / 8.
// Pure: time and randomness are inputs.
// Thread-safety: not safe for concurrent use; the host uses it on its strand only.
// Invariants: at most `capacity` peer-sourced entries, at most capacity / 16 (at least 1) in
// one limited netgroup and at most capacity / 8 (at least 1) learned from one limited source
// netgroup (seed and node entries are never evicted or refused; tried entries are never
// evicted); an entry marked self is never returned by due() or sample(); due() returns at most
// one address per limited netgroup and none in a limited netgroup already in use, except seeds;
// after n consecutive failures an entry is not due again for min(max_backoff, min_backoff *
// 2^(n-1)) ms; version() changes whenever what saved() returns may have changed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "net/netgroup.h"
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
    bool tried = false;
  };

  // `limit_local`: local addresses are grouped like public ones (NetConfig::limit_local_netgroups).
  AddrBook(size_t capacity, int64_t backoff_min_ms, int64_t backoff_max_ms,
           bool limit_local = false)
      : capacity_(capacity),
        group_capacity_(std::max<size_t>(1, capacity / 16)),
        source_capacity_(std::max<size_t>(1, capacity / 8)),
        backoff_min_ms_(backoff_min_ms),
        backoff_max_ms_(backoff_max_ms),
        limit_local_(limit_local) {}

  // Adds or upgrades an entry; false if it was already known with this or a better source, or
  // the book (or the entry's netgroup) is full of peer addresses that are tried or have never
  // failed, or (a peer address) `from` is a limited netgroup that already told us capacity / 8.
  // `from`: the netgroup of the peer that sent the address (empty: not learned from a peer).
  bool add(const Endpoint& e, AddrSource source, const NetGroup& from = {});
  // Up to `n` endpoints due for a dial at `now_ms` (not self, not in use, backoff elapsed): every
  // due seed first, whatever its netgroup; then node-registry entries, then peer entries, tried
  // and new in turn (starting with either at random), each time a random netgroup first and a
  // random address in it, at most one per limited netgroup and none in `groups_in_use` (the
  // netgroups of the outbound connections and dials) or in the netgroup of a seed returned.
  std::vector<Endpoint> due(int64_t now_ms, size_t n, std::mt19937_64& rng,
                            const std::set<std::string>& groups_in_use = {}) const;
  // A dial started / failed / produced a connection / the connection ended.
  void attempt(const Endpoint& e);
  void failed(const Endpoint& e, int64_t now_ms);
  // A dial started and given up before connecting for a reason that is not the address's fault
  // (its netgroup turned out to be in use): due again after the minimum backoff, no failure.
  void skipped(const Endpoint& e, int64_t now_ms);
  // A dialled connection completed its handshake: the entry is in use and tried from now on.
  void connected(const Endpoint& e);
  // `stable`: the connection lasted long enough to count as a success (failures reset, retry
  // after the minimum backoff); otherwise it counts as one more failure (a peer that accepts and
  // then drops us, e.g. because it banned us, is not redialled in a tight loop).
  void disconnected(const Endpoint& e, int64_t now_ms, bool stable);
  // The endpoint reached this host itself: never dial it again.
  void mark_self(const Endpoint& e);
  // Marks an endpoint as used by a live connection (e.g. an inbound peer's listen address).
  void set_in_use(const Endpoint& e, bool in_use);
  // Up to `n` random known endpoints (not self) for an ADDR answer: netgroups in turn, in random
  // order, a random address of each.
  std::vector<Endpoint> sample(size_t n, std::mt19937_64& rng) const;
  // The netgroup of an endpoint as this book sees it.
  NetGroup group_of(const Endpoint& e) const { return netgroup_of(e.host, limit_local_); }

  std::vector<Saved> saved() const;
  // Adds a saved entry (subject to the capacity, like add()) with its failure count; due at once.
  bool restore(const Saved& saved);
  uint64_t version() const { return version_; }

  bool contains(const Endpoint& e) const { return entries_.count(e) != 0; }
  bool is_self(const Endpoint& e) const;
  int failures(const Endpoint& e) const;
  bool tried(const Endpoint& e) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    AddrSource source = AddrSource::kPeer;
    int failures = 0;
    int64_t next_try_ms = 0;
    bool in_use = false;
    bool self = false;
    bool tried = false;
    NetGroup group;
    std::string from;  // the limited source netgroup of a peer entry learned from a peer, or ""
  };
  // Removes the untried peer entry with the most failures (among those of `group` if given);
  // false if every candidate has never failed.
  bool evict_one_peer_entry(const std::string* group);
  void count_peer_entry(const Entry& en, int delta);

  size_t capacity_;
  size_t group_capacity_;
  size_t source_capacity_;
  int64_t backoff_min_ms_;
  int64_t backoff_max_ms_;
  bool limit_local_;
  size_t peer_entries_ = 0;
  std::map<std::string, size_t> peer_entries_per_group_;   // limited netgroups only
  std::map<std::string, size_t> peer_entries_per_source_;  // Entry::from, when not empty
  uint64_t version_ = 0;
  std::map<Endpoint, Entry> entries_;
};

}  // namespace imet::net
