// SyncPool: which final blocks a node behind its peers asks whom for, and the replies waiting to
// be applied (compare CometBFT's blocksync pool and Bitcoin Core's blocks-in-flight). The heights
// from the node's next height up to the best height a peer reported are cut into windows of
// `window_blocks`; up to `max_requests` windows are requested at once, spread over the peers that
// reported them (at most `max_requests_per_peer` each, the least busy first); a request not
// answered within `request_timeout_ms` is taken back and given to another peer (the silent one is
// "stalled": asked again only when no other peer can serve). Replies may arrive in any order; each
// is kept until every height below it has been applied, then handed out by pop_ready(). Nothing
// here checks a block: the caller verifies each one (certificate and execution) in height order
// and calls drop_peer() on the sender of an invalid one. Pure: time is an input.
// Thread-safety: not safe for concurrent use; ConsensusService uses it on its strand only.
// Invariants: windows never overlap; every window lies in [next, next + max_requests *
// window_blocks) for the `next` of the last schedule() (a window may start below a later `next`
// until pop_ready() or schedule() trims it); at most max_requests windows are in flight, at most
// max_requests_per_peer per peer, each assigned to a known peer; a received window holds only
// blocks of its own heights, in ascending order; buffered_bytes() is the sum of the received
// windows' reply sizes, and no window beyond the first missing one is requested while it is at or
// above max_buffered_bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "net/types.h"
#include "node/p2p_protocol.h"
#include "util/status.h"

namespace imet::node {

struct SyncOptions {
  uint32_t window_blocks = 64;                   // blocks per request (<= p2p::kMaxSyncBlocks)
  size_t max_requests = 8;                       // windows in flight over all peers
  size_t max_requests_per_peer = 4;              // windows in flight per peer
  uint64_t request_timeout_ms = 10'000;          // then the window goes to another peer
  size_t max_buffered_bytes = size_t{32} << 20;  // replies waiting for a lower height
  util::Status validate() const;
};

class SyncPool {
 public:
  struct Request {
    net::PeerId peer{};
    uint64_t from = 0;
    uint32_t count = 0;
  };
  struct Ready {
    net::PeerId source{};                 // the peer that sent these blocks
    std::vector<p2p::FinalBlock> blocks;  // ascending, the first at the `next` given
  };
  enum class ReplyResult {
    kBuffered,     // kept for its window
    kEmpty,        // the peer has none of the window: asked elsewhere
    kUnsolicited,  // no window asked of this peer starts there, or it is already received
  };

  explicit SyncPool(SyncOptions options) : options_(options) {}

  // Peers and the final height each reported (a new peer starts at 0).
  void set_peer_height(const net::PeerId& peer, uint64_t final_height);
  // The peer left: its requests are taken back (asked elsewhere); what it sent is kept.
  void forget_peer(const net::PeerId& peer);
  // The peer sent an invalid block: forgotten, and everything it sent and is not yet applied is
  // dropped (asked elsewhere).
  void drop_peer(const net::PeerId& peer);
  std::vector<net::PeerId> peers() const;
  uint64_t best_height() const;

  // Trims windows below `next`, creates the missing ones up to min(target, the span limit) and
  // assigns the unassigned ones to peers. Returns the requests to send now.
  std::vector<Request> schedule(uint64_t next, uint64_t target, uint64_t now_ms);
  // Requests past their deadline: taken back, their peers marked stalled. Call schedule() next.
  std::vector<Request> expire(uint64_t now_ms);
  // A reply from `peer`; `bytes` is its encoded size (counted until it is applied).
  ReplyResult on_reply(const net::PeerId& peer, std::vector<p2p::FinalBlock> blocks, size_t bytes);
  // The received window that holds `next`, if any, with its blocks from `next` on; removed from
  // the pool (heights it did not deliver are requested again by the next schedule()).
  std::optional<Ready> pop_ready(uint64_t next);

  size_t in_flight() const;
  size_t buffered_blocks() const;
  size_t buffered_bytes() const { return buffered_bytes_; }

 private:
  struct Window {
    uint32_t count = 0;
    std::optional<net::PeerId> peer{};  // asked, reply pending
    uint64_t deadline_ms = 0;
    uint64_t asked_seq = 0;            // order of requests (matches empty replies)
    std::vector<net::PeerId> tried{};  // asked before: timed out or had nothing
    bool received = false;
    net::PeerId source{};
    std::vector<p2p::FinalBlock> blocks{};
    size_t bytes = 0;
  };
  struct PeerState {
    uint64_t height = 0;
    bool stalled = false;  // a request to it timed out and it has not answered since
  };
  using Windows = std::map<uint64_t, Window>;  // by first height

  void erase(Windows::iterator it);
  size_t in_flight_of(const net::PeerId& peer) const;
  std::optional<net::PeerId> choose(uint64_t from, uint64_t last, const Window& w) const;

  SyncOptions options_;
  std::map<net::PeerId, PeerState> peers_;
  Windows windows_;
  size_t buffered_bytes_ = 0;
  uint64_t seq_ = 0;
};

}  // namespace imet::node
