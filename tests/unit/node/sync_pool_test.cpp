// node::SyncPool, the block sync scheduler, driven by hand (time is an input): windows spread over
// the peers that have them within the request caps and the span limit; a timed-out window goes to
// another peer and the silent one is asked again only when nobody else can serve; replies are
// handed out in height order whatever order they arrive in; a short reply leaves the rest to be
// asked again; an empty reply lowers the peer's height; a bad peer's buffered blocks are dropped;
// the buffer limit stops requests beyond the first missing window.
// Thread-safety: single-threaded tests. Invariants: none beyond the assertions.
#include "node/sync_pool.h"

#include <gtest/gtest.h>

namespace imet::node {
namespace {

net::PeerId peer(uint8_t b) {
  net::PeerId id{};
  id.fill(b);
  return id;
}

// Blocks [from, from + n) (only their heights matter to the pool).
std::vector<p2p::FinalBlock> blocks(uint64_t from, uint64_t n) {
  std::vector<p2p::FinalBlock> out(n);
  for (uint64_t i = 0; i < n; ++i)
    out[i].block.header.height = from + i;
  return out;
}

SyncOptions small() {
  return {.window_blocks = 4,
          .max_requests = 6,
          .max_requests_per_peer = 2,
          .request_timeout_ms = 1000,
          .max_buffered_bytes = 1000};
}

std::vector<uint64_t> froms(const std::vector<SyncPool::Request>& rs) {
  std::vector<uint64_t> out;
  for (const auto& r : rs)
    out.push_back(r.from);
  return out;
}

TEST(SyncPool, SpreadsWindowsOverPeersWithinTheCaps) {
  SyncPool pool(small());
  pool.set_peer_height(peer(1), 100);
  pool.set_peer_height(peer(2), 100);
  pool.set_peer_height(peer(3), 100);
  pool.set_peer_height(peer(4), 2);  // has none of a whole window
  auto rs = pool.schedule(1, 100, 0);
  ASSERT_EQ(rs.size(), 6u);  // max_requests
  EXPECT_EQ(froms(rs), (std::vector<uint64_t>{1, 5, 9, 13, 17, 21}));
  std::map<net::PeerId, int> per_peer;
  for (const auto& r : rs) {
    EXPECT_EQ(r.count, 4u);
    ++per_peer[r.peer];
  }
  EXPECT_EQ(per_peer.size(), 3u);
  for (const auto& [id, n] : per_peer)
    EXPECT_EQ(n, 2);  // max_requests_per_peer, least busy first
  EXPECT_EQ(pool.in_flight(), 6u);
  EXPECT_TRUE(pool.schedule(1, 100, 0).empty());  // all slots taken
}

TEST(SyncPool, StaysWithinTheTargetAndTheSpan) {
  SyncPool pool(small());
  pool.set_peer_height(peer(1), 10);
  pool.set_peer_height(peer(2), 10);
  auto rs = pool.schedule(1, 10, 0);
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs.back().from, 9u);
  EXPECT_EQ(rs.back().count, 2u);  // 9 and 10
  // Far behind: windows cover at most max_requests * window_blocks heights from `next`.
  SyncPool far(small());
  far.set_peer_height(peer(1), 1000);
  far.set_peer_height(peer(2), 1000);
  far.set_peer_height(peer(3), 1000);
  far.set_peer_height(peer(4), 1000);
  rs = far.schedule(1, 1000, 0);
  EXPECT_EQ(rs.size(), 6u);
  for (const auto& r : rs)
    EXPECT_LE(r.from + r.count, 1u + 6 * 4);
}

TEST(SyncPool, ATimedOutWindowGoesToAnotherPeer) {
  SyncPool pool(small());
  pool.set_peer_height(peer(1), 8);
  auto rs = pool.schedule(1, 8, 0);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_TRUE(pool.expire(999).empty());
  pool.set_peer_height(peer(2), 8);
  auto expired = pool.expire(1000);
  ASSERT_EQ(expired.size(), 2u);
  EXPECT_EQ(expired[0].peer, peer(1));
  rs = pool.schedule(1, 8, 1000);
  ASSERT_EQ(rs.size(), 2u);
  for (const auto& r : rs)
    EXPECT_EQ(r.peer, peer(2));  // peer 1 is stalled
  // The stalled peer's late answer is still taken (it was asked for that window).
  EXPECT_EQ(pool.on_reply(peer(1), blocks(1, 4), 10), SyncPool::ReplyResult::kBuffered);
  // peer 2's answer for the same window comes later: a duplicate.
  EXPECT_EQ(pool.on_reply(peer(2), blocks(1, 4), 10), SyncPool::ReplyResult::kUnsolicited);
  // With only stalled peers left, they are asked again.
  SyncPool alone(small());
  alone.set_peer_height(peer(1), 4);
  ASSERT_EQ(alone.schedule(1, 4, 0).size(), 1u);
  ASSERT_EQ(alone.expire(1000).size(), 1u);
  rs = alone.schedule(1, 4, 1000);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].peer, peer(1));
}

TEST(SyncPool, OutOfOrderRepliesAreHandedOutInHeightOrder) {
  SyncPool pool(small());
  pool.set_peer_height(peer(1), 12);
  pool.set_peer_height(peer(2), 12);
  auto rs = pool.schedule(1, 12, 0);
  ASSERT_EQ(rs.size(), 3u);
  const auto asked = [&](uint64_t from) {
    for (const auto& r : rs)
      if (r.from == from) return r.peer;
    return net::PeerId{};
  };
  EXPECT_EQ(pool.on_reply(asked(9), blocks(9, 4), 100), SyncPool::ReplyResult::kBuffered);
  EXPECT_EQ(pool.on_reply(asked(5), blocks(5, 4), 100), SyncPool::ReplyResult::kBuffered);
  EXPECT_FALSE(pool.pop_ready(1));  // 1-4 missing
  EXPECT_EQ(pool.buffered_blocks(), 8u);
  EXPECT_EQ(pool.buffered_bytes(), 200u);
  // Not asked of this peer for that window, or no window starts there: ignored.
  EXPECT_EQ(pool.on_reply(peer(9), blocks(1, 4), 100), SyncPool::ReplyResult::kUnsolicited);
  EXPECT_EQ(pool.on_reply(asked(1), blocks(2, 3), 100), SyncPool::ReplyResult::kUnsolicited);
  EXPECT_EQ(pool.on_reply(asked(1), blocks(1, 6), 100), SyncPool::ReplyResult::kBuffered);
  auto r = pool.pop_ready(1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->source, asked(1));
  ASSERT_EQ(r->blocks.size(), 4u);  // the heights beyond the window were not kept
  EXPECT_EQ(r->blocks.back().block.header.height, 4u);
  r = pool.pop_ready(5);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->blocks.front().block.header.height, 5u);
  r = pool.pop_ready(9);
  ASSERT_TRUE(r);
  EXPECT_FALSE(pool.pop_ready(13));
  EXPECT_EQ(pool.buffered_bytes(), 0u);
}

TEST(SyncPool, AShortReplyLeavesTheRestToAskAgain) {
  SyncPool pool(small());
  pool.set_peer_height(peer(1), 8);
  ASSERT_EQ(pool.schedule(1, 8, 0).size(), 2u);
  ASSERT_EQ(pool.on_reply(peer(1), blocks(1, 2), 10), SyncPool::ReplyResult::kBuffered);
  auto r = pool.pop_ready(1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->blocks.size(), 2u);
  auto rs = pool.schedule(3, 8, 0);  // 3-4 asked again
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].from, 3u);
  EXPECT_EQ(rs[0].count, 2u);
}

TEST(SyncPool, AnEmptyReplyLowersThePeersHeightAndFreesTheWindow) {
  SyncPool pool(small());
  pool.set_peer_height(peer(1), 8);
  pool.set_peer_height(peer(2), 8);
  auto rs = pool.schedule(1, 8, 0);
  ASSERT_EQ(rs.size(), 2u);
  const net::PeerId first = rs[0].peer;
  EXPECT_EQ(pool.on_reply(first, {}, 1), SyncPool::ReplyResult::kEmpty);
  EXPECT_EQ(pool.on_reply(peer(7), {}, 1), SyncPool::ReplyResult::kUnsolicited);
  rs = pool.schedule(1, 8, 0);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].from, 1u);
  EXPECT_NE(rs[0].peer, first);  // it has nothing from height 1
}

TEST(SyncPool, DroppingABadPeerDropsWhatItSent) {
  SyncPool pool(small());
  pool.set_peer_height(peer(1), 8);
  ASSERT_EQ(pool.schedule(1, 8, 0).size(), 2u);
  ASSERT_EQ(pool.on_reply(peer(1), blocks(5, 4), 50), SyncPool::ReplyResult::kBuffered);
  pool.drop_peer(peer(1));
  EXPECT_EQ(pool.buffered_blocks(), 0u);
  EXPECT_EQ(pool.buffered_bytes(), 0u);
  EXPECT_EQ(pool.in_flight(), 0u);
  EXPECT_TRUE(pool.peers().empty());
  pool.set_peer_height(peer(2), 8);
  EXPECT_EQ(froms(pool.schedule(1, 8, 0)), (std::vector<uint64_t>{1, 5}));
  // A peer that merely left keeps its replies.
  ASSERT_EQ(pool.on_reply(peer(2), blocks(5, 4), 50), SyncPool::ReplyResult::kBuffered);
  pool.forget_peer(peer(2));
  EXPECT_EQ(pool.buffered_blocks(), 4u);
  EXPECT_EQ(pool.in_flight(), 0u);
}

TEST(SyncPool, AFullBufferStopsRequestsBeyondTheFirstMissingWindow) {
  SyncPool pool(small());
  pool.set_peer_height(peer(1), 100);
  pool.set_peer_height(peer(2), 100);
  pool.set_peer_height(peer(3), 100);
  auto rs = pool.schedule(1, 100, 0);
  ASSERT_EQ(rs.size(), 6u);
  // Windows 5..24 arrive first, 1000 bytes in all (the limit); then a short reply for 1-4.
  for (const auto& r : rs) {
    if (r.from != 1) {
      ASSERT_EQ(pool.on_reply(r.peer, blocks(r.from, 4), 200), SyncPool::ReplyResult::kBuffered);
    }
  }
  ASSERT_EQ(pool.on_reply(rs[0].peer, blocks(1, 1), 200), SyncPool::ReplyResult::kBuffered);
  ASSERT_TRUE(pool.pop_ready(1));
  EXPECT_EQ(pool.buffered_bytes(), 1000u);
  // 2-4 and 25 are missing: only the window holding up the buffered ones is asked for.
  rs = pool.schedule(2, 100, 0);
  EXPECT_EQ(froms(rs), (std::vector<uint64_t>{2}));
  // Once the buffer drains below the limit, the span beyond is asked for again.
  ASSERT_EQ(pool.on_reply(rs[0].peer, blocks(2, 3), 100), SyncPool::ReplyResult::kBuffered);
  ASSERT_TRUE(pool.pop_ready(2));
  ASSERT_TRUE(pool.pop_ready(5));
  EXPECT_EQ(pool.buffered_bytes(), 800u);
  EXPECT_EQ(froms(pool.schedule(9, 100, 0)), (std::vector<uint64_t>{25, 26, 30}));
}

TEST(SyncPool, OptionsAreValidated) {
  EXPECT_TRUE(SyncOptions{}.validate().ok());
  EXPECT_FALSE(SyncOptions{.window_blocks = 0}.validate().ok());
  EXPECT_FALSE(SyncOptions{.window_blocks = 257}.validate().ok());
  EXPECT_FALSE(SyncOptions{.max_requests = 0}.validate().ok());
}

}  // namespace
}  // namespace imet::node
