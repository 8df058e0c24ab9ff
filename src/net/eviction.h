// Inbound eviction: when every inbound slot is taken and a new connection arrives, which existing
// inbound connection makes room for it (in the spirit of Bitcoin Core's AttemptToEvictConnection;
// docs/design/p2p.md, "Eclipse resistance"). Each rule protects peers by a property an attacker
// cannot cheaply fake, in this order:
//   1. one peer (the longest connected) of each of the `protect_netgroups` netgroups that rank
//      highest by a keyed hash only this node knows (an attacker cannot aim for them);
//   2. the `protect_fastest` peers with the lowest measured round trip (needs being close);
//   3. the `protect_useful` peers that most recently sent a new valid block, vote or transaction
//      (needs doing useful work);
//   4. half of the rest, the longest connected (needs having been there first).
// Connections not in use (a handshake still running, a spare duplicate) are never protected.
// From what is left, the netgroup with the most connections is chosen (a tie goes to the one with
// the newest connection), and within it the connection still in its handshake the longest, else
// the peer with the highest misbehaviour score, else the newest. Nothing left: nobody is evicted
// and the new connection is refused.
// Thread-safety: pure functions over a snapshot.
// Invariants: the result is a candidate not protected by any rule, and depends only on the input
// (never on its order, ties being broken by id).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace imet::net {

struct EvictionCandidate {
  uint64_t id = 0;             // the caller's handle, returned when this one is chosen
  std::string netgroup;        // netgroup_of(ip).key
  uint64_t netgroup_rank = 0;  // keyed hash of the netgroup (secret to peers)
  int64_t connected_ms = 0;    // when the connection started (any monotonic clock)
  int64_t min_rtt_ms = -1;     // best ping round trip; -1 before the first pong
  int64_t last_useful_ms = 0;  // last new valid block/vote/transaction; 0: never
  double score = 0;            // misbehaviour points
  bool in_use = true;          // false: still in its handshake, or an unused duplicate
};

struct EvictionRules {
  size_t protect_netgroups = 4;
  size_t protect_fastest = 8;
  size_t protect_useful = 4;
};

struct Eviction {
  uint64_t id = 0;
  std::string netgroup;
  std::string reason;  // for the log: why this one
};

std::optional<Eviction> select_eviction(std::vector<EvictionCandidate> candidates,
                                        const EvictionRules& rules = {});

}  // namespace imet::net
