// Network: the simulated P2P network's shape (tests/sim, docs/consensus.md "Simulation"): which
// nodes are linked (a full mesh, or a sparse random graph: a ring plus random chords, so every
// node has a few peers and messages reach the others only by relay), the current partition
// (each node in group 0 or 1; a link works only inside a group) and each node's gossip seen
// cache, modelled on net::SeenCache: a message is delivered to a node the first time it arrives
// by gossip and dropped after that, and a node gossips a message (its own or a relayed one) at
// most once; a repeat of its own goes to its peers directly, bypassing the caches (as
// node::ConsensusService does for the engine's re-sends).
// Thread-safety: not thread-safe (one per simulation). Invariants: links are symmetric, never a
// self-link, and the graph is connected, also without its dishonest nodes; each seen cache
// remembers at least the last kSeenGeneration keys (two generations of open-addressing tables:
// when the current one is half full it becomes the old one) and is emptied when its node crashes
// (the host restarts empty).
#pragma once

#include <cstdint>
#include <vector>

#include "rng.h"
#include "util/bytes.h"

namespace imet::sim {

class Network {
 public:
  static constexpr size_t kSeenSlots = 16'384;  // per generation table (a power of two)
  static constexpr size_t kSeenGeneration = kSeenSlots / 2;

  // A full mesh over the nodes, or (mesh = false) a ring over the honest ones (so they stay
  // connected without the others), two links from each other node to random honest ones, and
  // `chords` random extra links per node.
  void build(Rng& rng, const std::vector<bool>& honest, bool mesh, uint32_t chords);

  const std::vector<uint32_t>& peers(uint32_t node) const { return peers_[node]; }
  bool mesh() const { return mesh_; }
  size_t links() const { return links_; }
  // A link works (both ends linked and in the same partition group).
  bool up(uint32_t a, uint32_t b) const { return group_[a] == group_[b]; }
  // Splits the nodes into two random groups.
  void partition(Rng& rng);
  void heal();

  // The gossip key of a message (BLAKE2b of the bytes, truncated).
  static uint64_t key(util::ByteSpan bytes);
  // True the first time `node` receives `key` by gossip (deliver it); false for a duplicate.
  bool on_received(uint32_t node, uint64_t key);
  // True if `node` has not gossiped `key` yet (then it is marked as gossiped).
  bool on_broadcast(uint32_t node, uint64_t key);
  // Whether `node` already has `key` (received or sent): gossip to it would be dropped.
  bool has(uint32_t node, uint64_t key) const;
  // A hint before has() is asked about `key` at each of `nodes`: starts loading the slots it will
  // read (each node's tables are far apart in memory, so the lookups of one gossip round would
  // otherwise each wait for memory in turn). No effect on any answer.
  void prefetch(const std::vector<uint32_t>& nodes, uint64_t key) const;
  void forget_all(uint32_t node);

 private:
  // Open addressing, linear probing. A slot holds (key & ~3) | flags (bit 0: received, bit 1:
  // gossiped; never 0 when used), so keys are compared on their upper 62 bits.
  struct Table {
    std::vector<uint64_t> slots;
    size_t used = 0;
    // The slot holding k, or the empty slot where it would go (slots must be allocated).
    const uint64_t* find(uint64_t k) const;
    bool contains(uint64_t k) const { return !slots.empty() && *find(k) != 0; }
  };
  struct Seen {
    Table cur, old;
  };
  void link(uint32_t a, uint32_t b);
  // The current-generation slot of `key` at `node`, created (with the flags an old-generation
  // entry had, else none) if missing.
  uint64_t* slot_of(uint32_t node, uint64_t key);

  bool mesh_ = true;
  size_t links_ = 0;
  std::vector<std::vector<uint32_t>> peers_;
  std::vector<uint8_t> group_;
  std::vector<Seen> seen_;
};

}  // namespace imet::sim
