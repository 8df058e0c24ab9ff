// A host whose inbound slots are full, facing hand-driven peers (RawPeer) on 127.0.0.1: a new
// connection replaces the peer select_eviction() picks (the newest unprotected one, a stalled
// handshake before any peer, never a recently useful one), or is refused when nobody may go; the
// per-netgroup inbound cap (with the local exemption switched off, 127.x.0.0/16 are netgroups).
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "host_fixture.h"
#include "raw_peer.h"

namespace imet::net::testing {
namespace {

class EvictionTest : public HostTest {
 protected:
  // Connects a raw peer (optionally from `source`) and waits until the host lists it, so that
  // peers connect in order with distinct times.
  std::unique_ptr<RawPeer> connect(size_t h, const std::string& source = "") {
    auto p = std::make_unique<RawPeer>(test_network());
    if (!source.empty()) p->set_source(source);
    auto hello = p->handshake(host(h).port());
    EXPECT_TRUE(hello.ok()) << hello.status().to_string();
    EXPECT_TRUE(wait_for([&] { return has_peer(h, p->id()); }));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return p;
  }
  // A host with max_inbound = 4, all four slots taken by raw peers, connected in order.
  size_t full_host(std::vector<std::unique_ptr<RawPeer>>& peers) {
    NetConfig c = config();
    c.max_inbound = 4;
    const size_t h = add(c);
    for (int i = 0; i < 4; ++i)
      peers.push_back(connect(h));
    return h;
  }
  bool disconnected(size_t h, const PeerId& id) {
    for (const auto& d : rec(h).disconnected()) {
      if (d == id) return true;
    }
    return false;
  }
};

TEST_F(EvictionTest, FullInboundEvictsTheNewestUnprotectedPeer) {
  std::vector<std::unique_ptr<RawPeer>> p;
  const size_t a = full_host(p);
  // All four share the netgroup "local": its oldest (p0) is protected, then half of the other
  // three by age (p1); p3 is the newest of the rest.
  auto fifth = connect(a);
  EXPECT_TRUE(p[3]->closed_by_host(2000));
  ASSERT_TRUE(wait_for([&] { return disconnected(a, p[3]->id()); }));
  EXPECT_EQ(host(a).stats().evicted_inbound, 1u);
  EXPECT_EQ(host(a).stats().refused_full, 0u);
  EXPECT_TRUE(has_peer(a, fifth->id()));
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(has_peer(a, p[static_cast<size_t>(i)]->id())) << i;
  EXPECT_EQ(host(a).peers().size(), 4u);
}

TEST_F(EvictionTest, ARecentlyUsefulPeerIsNotEvicted) {
  std::vector<std::unique_ptr<RawPeer>> p;
  const size_t a = full_host(p);
  host(a).mark_useful(p[3]->id());  // say it relayed a new block
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // p0 (netgroup), p3 (useful) and p1 (the older of p1, p2) are protected: p2 goes.
  auto fifth = connect(a);
  EXPECT_TRUE(p[2]->closed_by_host(2000));
  ASSERT_TRUE(wait_for([&] { return disconnected(a, p[2]->id()); }));
  EXPECT_TRUE(has_peer(a, p[3]->id()));
  EXPECT_TRUE(has_peer(a, fifth->id()));
  EXPECT_EQ(host(a).stats().evicted_inbound, 1u);
}

TEST_F(EvictionTest, AStalledHandshakeMakesRoomBeforeAnyPeer) {
  NetConfig c = config();
  c.max_inbound = 3;
  const size_t a = add(c);
  auto p0 = connect(a);
  auto p1 = connect(a);
  RawPeer stalled(test_network());
  ASSERT_TRUE(stalled.connect(host(a).port()));  // TCP only, no handshake message
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto p2 = connect(a);
  EXPECT_TRUE(stalled.closed_by_host(2000));
  EXPECT_EQ(host(a).stats().evicted_inbound, 1u);
  EXPECT_TRUE(has_peer(a, p0->id()));
  EXPECT_TRUE(has_peer(a, p1->id()));
  EXPECT_TRUE(has_peer(a, p2->id()));
  EXPECT_TRUE(rec(a).disconnected().empty());
}

TEST_F(EvictionTest, WhenEveryPeerIsProtectedTheNewConnectionIsRefused) {
  NetConfig c = config();
  c.max_inbound = 1;
  const size_t a = add(c);
  auto p0 = connect(a);  // protected as its netgroup's oldest peer
  RawPeer late(test_network());
  ASSERT_TRUE(late.connect(host(a).port()));
  EXPECT_TRUE(late.closed_by_host(2000));
  EXPECT_EQ(host(a).stats().refused_full, 1u);
  EXPECT_EQ(host(a).stats().evicted_inbound, 0u);
  EXPECT_TRUE(has_peer(a, p0->id()));
}

TEST_F(EvictionTest, OneNetgroupCannotTakeMoreThanItsShare) {
  NetConfig c = config();
  c.limit_local_netgroups = true;  // 127.0.0.0/16 and 127.1.0.0/16 are two netgroups
  c.max_inbound_per_netgroup = 2;
  const size_t a = add(c);
  auto p0 = connect(a, "127.0.0.1");
  auto p1 = connect(a, "127.0.5.6");
  RawPeer third(test_network());
  third.set_source("127.0.9.9");
  ASSERT_TRUE(third.connect(host(a).port()));
  EXPECT_TRUE(third.closed_by_host(2000));
  EXPECT_EQ(host(a).stats().refused_netgroup, 1u);
  auto other = connect(a, "127.1.0.1");  // another netgroup is still welcome
  EXPECT_TRUE(has_peer(a, other->id()));
  EXPECT_EQ(host(a).peers().size(), 3u);
  // Without the limit on local addresses, loopback is exempt.
  NetConfig cb = config();
  cb.max_inbound_per_netgroup = 1;
  const size_t b = add(cb);
  auto q0 = connect(b);
  auto q1 = connect(b);
  EXPECT_EQ(host(b).stats().refused_netgroup, 0u);
}

}  // namespace
}  // namespace imet::net::testing
