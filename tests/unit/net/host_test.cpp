// Hosts talking over real sockets on 127.0.0.1: handshake and identities, network separation,
// self and duplicate connections, large messages, gossip over a line and a ring, duplicate
// suppression, bans, peer exchange, node-fed addresses, pings.
#include <random>

#include <gtest/gtest.h>

#include "host_fixture.h"

namespace imet::net::testing {
namespace {

util::Bytes random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  util::Bytes b(n);
  for (auto& x : b)
    x = static_cast<uint8_t>(rng());
  return b;
}

TEST_F(HostTest, HandshakeProvesBothIdentities) {
  const size_t a = add(config());
  const size_t b = add(config({addr(host(a))}));
  // The handler runs just after the peer list is updated.
  ASSERT_TRUE(
      wait_for([&] { return rec(a).connected().size() == 1 && rec(b).connected().size() == 1; }));
  EXPECT_EQ(rec(a).connected()[0], host(b).id());
  EXPECT_EQ(rec(b).connected()[0], host(a).id());
  const PeerInfo at_b = rec(b).infos()[0];
  EXPECT_TRUE(at_b.outbound);
  EXPECT_EQ(at_b.listen_port, host(a).port());
  EXPECT_EQ(at_b.software_version, "test/1");
  EXPECT_EQ(at_b.protocol_version, kProtocolVersion);
  const PeerInfo at_a = rec(a).infos()[0];
  EXPECT_FALSE(at_a.outbound);
  EXPECT_EQ(at_a.listen_port, host(b).port());
  EXPECT_EQ(host(a).stats().handshakes_ok, 1u);
}

TEST_F(HostTest, WrongNetworkIsRefused) {
  const size_t a = add(config());
  NetConfig other = config({addr(host(a))});
  other.network_id = test_network(0x43);
  const size_t b = add(other);
  // b (initiator) learns a's network from message 2 and refuses.
  ASSERT_TRUE(wait_for([&] { return host(b).stats().refused_network >= 2; }));
  EXPECT_TRUE(host(a).peers().empty());
  EXPECT_TRUE(host(b).peers().empty());
  EXPECT_TRUE(rec(a).connected().empty());
  EXPECT_TRUE(rec(b).connected().empty());
  EXPECT_GE(host(a).stats().handshakes_failed, 1u);  // a only sees the connection drop
}

TEST_F(HostTest, ConnectionToSelfIsDroppedAndNotRetried) {
  NetConfig c = config();
  c.listen_port = 0;
  const size_t a = add(c);
  host(a).add_addresses({addr(host(a))});
  ASSERT_TRUE(wait_for([&] { return host(a).stats().self_connections >= 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // 10 backoff periods
  EXPECT_EQ(host(a).stats().self_connections, 1u);
  EXPECT_TRUE(host(a).peers().empty());
  EXPECT_TRUE(rec(a).connected().empty());
}

TEST_F(HostTest, SimultaneousDialsLeaveOneConnection) {
  const size_t a = add(config());
  const size_t b = add(config());
  // Both learn each other at once and dial.
  host(a).add_addresses({addr(host(b))});
  host(b).add_addresses({addr(host(a))});
  ASSERT_TRUE(wait_for([&] { return has_peer(a, host(b).id()) && has_peer(b, host(a).id()); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(host(a).peers().size(), 1u);
  ASSERT_EQ(host(b).peers().size(), 1u);
  // Both sides kept the same TCP connection: one is outbound, the other inbound.
  EXPECT_NE(host(a).peers()[0].outbound, host(b).peers()[0].outbound);
  EXPECT_EQ(rec(a).connected().size(), 1u);
  EXPECT_EQ(rec(b).connected().size(), 1u);
  EXPECT_TRUE(rec(a).disconnected().empty());
  EXPECT_TRUE(rec(b).disconnected().empty());
  // Still usable.
  host(a).send(host(b).id(), 40, util::Bytes{1});
  EXPECT_TRUE(wait_for([&] { return rec(b).message_count() == 1; }));
}

// Several pairs at once on the fixture's two io threads: more handshakes in flight make the
// orderings of a simultaneous dial that once surfaced a disconnect (DuplicateTest) far likelier.
TEST_F(HostTest, ManySimultaneousDialsLeaveOneConnectionEach) {
  constexpr size_t kPairs = 6;
  std::vector<std::pair<size_t, size_t>> pairs;
  for (size_t i = 0; i < kPairs; ++i)
    pairs.emplace_back(add(config()), add(config()));
  for (const auto& [a, b] : pairs) {
    host(a).add_addresses({addr(host(b))});
    host(b).add_addresses({addr(host(a))});
  }
  ASSERT_TRUE(wait_for([&] {
    for (const auto& [a, b] : pairs) {
      if (!has_peer(a, host(b).id()) || !has_peer(b, host(a).id())) return false;
    }
    return true;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (const auto& pair : pairs) {
    const size_t a = pair.first;  // not a structured binding: Clang 14 cannot capture those
    const size_t b = pair.second;
    SCOPED_TRACE("pair " + std::to_string(a) + "-" + std::to_string(b));
    ASSERT_EQ(host(a).peers().size(), 1u);
    ASSERT_EQ(host(b).peers().size(), 1u);
    EXPECT_NE(host(a).peers()[0].outbound, host(b).peers()[0].outbound);
    EXPECT_EQ(rec(a).connected().size(), 1u);
    EXPECT_EQ(rec(b).connected().size(), 1u);
    EXPECT_TRUE(rec(a).disconnected().empty());
    EXPECT_TRUE(rec(b).disconnected().empty());
    host(a).send(host(b).id(), 40, util::Bytes{1});
    EXPECT_TRUE(wait_for([&] { return rec(b).message_count() == 1; }));
  }
}

TEST_F(HostTest, FiveMebibyteMessagesRoundTrip) {
  const size_t a = add(config());
  const size_t b = add(config({addr(host(a))}));
  ASSERT_TRUE(wait_for([&] { return has_peer(a, host(b).id()) && has_peer(b, host(a).id()); }));
  const util::Bytes big = random_bytes(5 << 20, 1);
  host(b).send(host(a).id(), 77, big);
  ASSERT_TRUE(wait_for([&] { return rec(a).message_count() == 1; }, 20000));
  const auto got = rec(a).messages()[0];
  EXPECT_EQ(got.type, 77);
  EXPECT_EQ(got.from, host(b).id());
  EXPECT_TRUE(got.payload == big);
  const util::Bytes back = random_bytes((5 << 20) + 3, 2);
  host(a).send(host(b).id(), 78, back);
  ASSERT_TRUE(wait_for([&] { return rec(b).message_count() == 1; }, 20000));
  EXPECT_TRUE(rec(b).messages()[0].payload == back);
}

TEST_F(HostTest, LinksKeepWorkingAcrossManyRekeys) {
  NetConfig c = config();
  c.rekey_interval_messages = 3;  // both ends: part of the protocol
  const size_t a = add(c);
  c.seeds = {addr(host(a))};
  const size_t b = add(c);
  ASSERT_TRUE(wait_for([&] { return has_peer(a, host(b).id()) && has_peer(b, host(a).id()); }));
  const int kMessages = 300;  // about 100 rekeys in each direction
  auto payload = [](int i) {
    return util::Bytes{static_cast<uint8_t>(i), static_cast<uint8_t>(i >> 8)};
  };
  for (int i = 0; i < kMessages; ++i) {
    host(a).send(host(b).id(), 20, payload(i));
    host(b).send(host(a).id(), 21, payload(i));
  }
  // A 1 MiB message spans 17 Noise messages: rekeys inside one frame.
  const util::Bytes big = random_bytes(size_t{1} << 20, 11);
  host(a).send(host(b).id(), 22, big);
  ASSERT_TRUE(wait_for([&] {
    return rec(a).message_count() == kMessages && rec(b).message_count() == kMessages + 1;
  }));
  const auto at_a = rec(a).messages(), at_b = rec(b).messages();
  for (int i = 0; i < kMessages; ++i) {
    EXPECT_EQ(at_a[static_cast<size_t>(i)].payload, payload(i)) << i;
    EXPECT_EQ(at_b[static_cast<size_t>(i)].payload, payload(i)) << i;
  }
  EXPECT_EQ(at_b.back().type, 22);
  EXPECT_EQ(at_b.back().payload, big);
  EXPECT_TRUE(rec(a).disconnected().empty());
  EXPECT_TRUE(rec(b).disconnected().empty());
}

TEST_F(HostTest, MessagesAboveTheCapAreNotSent) {
  NetConfig c = config();
  c.max_message_bytes = 1000;
  c.rate_bytes_burst = 2000;
  const size_t a = add(c);
  EXPECT_FALSE(host(a).broadcast(40, util::Bytes(1001, 0)));
  EXPECT_FALSE(host(a).broadcast(3, util::Bytes{1}));  // reserved type
  EXPECT_TRUE(host(a).broadcast(40, util::Bytes(1000, 0)));
}

// Builds hosts where host i dials host i+1 (and the last dials the first if `ring`), one
// outbound connection each so the topology stays as built; every application relays gossip.
void build_chain(HostTest* t, size_t n, bool ring, std::vector<size_t>& ids,
                 const std::function<size_t(NetConfig)>& add_host,
                 const std::function<Host&(size_t)>& host_at,
                 const std::function<Recorder&(size_t)>& rec_at,
                 const std::function<std::shared_ptr<Host>(size_t)>& ptr_at) {
  (void)t;
  for (size_t i = 0; i < n; ++i) {
    NetConfig c;
    c.listen_host = "127.0.0.1";
    c.network_id = test_network();
    c.tick_ms = 20;
    c.dial_backoff_min_ms = 50;
    c.max_outbound = 1;
    ids.push_back(add_host(c));
  }
  for (size_t i = 0; i + 1 < n; ++i)
    host_at(ids[i]).add_addresses({"127.0.0.1:" + std::to_string(host_at(ids[i + 1]).port())});
  if (ring)
    host_at(ids[n - 1]).add_addresses({"127.0.0.1:" + std::to_string(host_at(ids[0]).port())});
  for (size_t i = 0; i < n; ++i)
    rec_at(ids[i]).relay_through(ptr_at(ids[i]));
}

class GossipTest : public HostTest {
 protected:
  std::vector<size_t> chain(size_t n, bool ring) {
    std::vector<size_t> ids;
    build_chain(
        this, n, ring, ids, [this](NetConfig c) { return add(std::move(c)); },
        [this](size_t i) -> Host& { return host(i); },
        [this](size_t i) -> Recorder& { return rec(i); }, [this](size_t i) { return hosts_[i]; });
    return ids;
  }
};

TEST_F(GossipTest, LineOfFourDeliversOnceToEachApplication) {
  const auto ids = chain(4, false);
  // Inner hosts have two peers, the ends one.
  ASSERT_TRUE(wait_for([&] {
    return host(ids[0]).peers().size() == 1 && host(ids[1]).peers().size() == 2 &&
           host(ids[2]).peers().size() == 2 && host(ids[3]).peers().size() == 1;
  }));
  for (uint8_t m = 0; m < 10; ++m)
    ASSERT_TRUE(host(ids[0]).broadcast(50, util::Bytes{m, 1, 2}));
  ASSERT_TRUE(wait_for([&] { return rec(ids[3]).message_count() == 10; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(rec(ids[0]).message_count(), 0u);  // the origin never hears its own message
  for (size_t i = 1; i < 4; ++i) {
    ASSERT_EQ(rec(ids[i]).message_count(), 10u) << "host " << i;
    std::set<util::Bytes> distinct;
    for (const auto& m : rec(ids[i]).messages())
      distinct.insert(m.payload);
    EXPECT_EQ(distinct.size(), 10u);
  }
  // Each hop came from the previous host.
  EXPECT_EQ(rec(ids[3]).messages()[0].from, host(ids[2]).id());
}

TEST_F(GossipTest, RingOfFourDeliversOnceAndSuppressesTheSecondCopy) {
  const auto ids = chain(4, true);
  ASSERT_TRUE(wait_for([&] {
    for (size_t i : ids) {
      if (host(i).peers().size() != 2) return false;
    }
    return true;
  }));
  for (uint8_t m = 0; m < 10; ++m)
    ASSERT_TRUE(host(ids[0]).broadcast(51, util::Bytes{m}));
  ASSERT_TRUE(wait_for([&] {
    return rec(ids[1]).message_count() == 10 && rec(ids[2]).message_count() == 10 &&
           rec(ids[3]).message_count() == 10;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(rec(ids[0]).message_count(), 0u);
  for (size_t i = 1; i < 4; ++i)
    EXPECT_EQ(rec(ids[i]).message_count(), 10u) << "host " << i;
  // Host 2 is two hops away both ways round: it gets every message twice and delivers it once.
  uint64_t dups = 0;
  for (size_t i : ids)
    dups += host(i).stats().gossip_duplicates;
  EXPECT_GE(dups, 10u);
}

TEST_F(HostTest, BroadcastOfASeenMessageIsANoOp) {
  const size_t a = add(config());
  const size_t b = add(config({addr(host(a))}));
  ASSERT_TRUE(wait_for([&] { return has_peer(a, host(b).id()) && has_peer(b, host(a).id()); }));
  EXPECT_TRUE(host(b).broadcast(60, util::Bytes{9, 9}));
  EXPECT_FALSE(host(b).broadcast(60, util::Bytes{9, 9}));
  EXPECT_TRUE(host(b).broadcast(61, util::Bytes{9, 9}));  // another type is another message
  ASSERT_TRUE(wait_for([&] { return rec(a).message_count() == 2; }));
  // a received it: it may relay it once (back to nobody: b is where it came from).
  EXPECT_TRUE(host(a).broadcast(60, util::Bytes{9, 9}));
  EXPECT_FALSE(host(a).broadcast(60, util::Bytes{9, 9}));
  // Direct sends are not de-duplicated.
  host(b).send(host(a).id(), 62, util::Bytes{1});
  host(b).send(host(a).id(), 62, util::Bytes{1});
  ASSERT_TRUE(wait_for([&] { return rec(a).message_count() == 4; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(rec(a).message_count(), 4u);
  EXPECT_EQ(rec(b).message_count(), 0u);
}

TEST_F(HostTest, BanAfterPenaltiesUntilItExpires) {
  NetConfig ca = config();
  ca.ban_seconds = 2;
  ca.ban_threshold = 100;
  const size_t a = add(ca);
  const size_t b = add(config({addr(host(a))}));
  ASSERT_TRUE(wait_for([&] { return has_peer(a, host(b).id()); }));
  host(a).penalize(host(b).id(), 60, "invalid block");
  ASSERT_TRUE(wait_for([&] {
    auto p = host(a).peers();
    return p.size() == 1 && p[0].score >= 59;
  }));
  EXPECT_FALSE(host(a).is_banned(host(b).id()));
  host(a).penalize(host(b).id(), 50, "invalid vote");
  ASSERT_TRUE(wait_for([&] { return host(a).is_banned(host(b).id()); }));
  ASSERT_TRUE(wait_for([&] { return host(a).peers().empty() && host(b).peers().empty(); }));
  EXPECT_EQ(host(a).stats().bans, 1u);
  ASSERT_TRUE(wait_for([&] { return rec(a).disconnected().size() == 1; }));
  // b keeps redialling (backoff 50..400 ms); a refuses it while the ban lasts.
  ASSERT_TRUE(wait_for([&] { return host(a).stats().refused_banned >= 2; }, 1800));
  EXPECT_EQ(rec(a).connected().size(), 1u);
  // After the ban, b is back.
  ASSERT_TRUE(wait_for([&] { return rec(a).connected().size() == 2; }, 5000));
  EXPECT_FALSE(host(a).is_banned(host(b).id()));
}

TEST_F(HostTest, PeerExchangeFindsAnUnconfiguredPeer) {
  const size_t c = add(config());
  const size_t b = add(config({addr(host(c))}));
  ASSERT_TRUE(wait_for([&] { return has_peer(b, host(c).id()); }));
  const size_t a = add(config({addr(host(b))}));  // a is told only about b
  ASSERT_TRUE(wait_for([&] { return has_peer(a, host(c).id()); }));
  // The dialer finishes the Noise XX handshake first (it sends the last message): c registers a a
  // moment later.
  EXPECT_TRUE(wait_for([&] { return has_peer(c, host(a).id()); }));
  EXPECT_TRUE(has_peer(a, host(b).id()));
}

TEST_F(HostTest, NodeRegistryAddressesAreDialled) {
  const size_t b = add(config());
  const size_t a = add(config());
  EXPECT_EQ(host(a).add_addresses({"not an address", addr(host(b)), "x:0"}), 1u);
  ASSERT_TRUE(wait_for([&] { return has_peer(a, host(b).id()); }));
}

TEST_F(HostTest, OutboundCountIsCapped) {
  std::vector<std::string> seeds;
  for (int i = 0; i < 4; ++i)
    seeds.push_back(addr(host(add(config()))));
  NetConfig c = config(seeds);
  c.max_outbound = 2;
  const size_t a = add(c);
  ASSERT_TRUE(wait_for([&] { return host(a).peers().size() == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  size_t outbound = 0;
  for (const auto& p : host(a).peers())
    outbound += p.outbound ? 1 : 0;
  EXPECT_EQ(outbound, 2u);
}

TEST_F(HostTest, OneOutboundPeerPerNetgroupExceptSeeds) {
  // With local netgroups limited (as they are for public addresses), 127.0.0.0/16 and
  // 127.1.0.0/16 are two netgroups.
  auto listening_on = [&](const char* ip) {
    NetConfig c = config();
    c.listen_host = ip;
    return add(c);
  };
  const size_t x1 = listening_on("127.0.0.1"), x2 = listening_on("127.0.0.2");
  const size_t y = listening_on("127.1.0.1");
  const std::string x1_addr = "127.0.0.1:" + std::to_string(host(x1).port());
  const std::string x2_addr = "127.0.0.2:" + std::to_string(host(x2).port());
  NetConfig c = config();
  c.limit_local_netgroups = true;
  const size_t a = add(c);
  EXPECT_EQ(
      host(a).add_addresses({x1_addr, x2_addr, "127.1.0.1:" + std::to_string(host(y).port())}), 3u);
  ASSERT_TRUE(wait_for([&] { return host(a).peers().size() == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // many ticks: no third dial
  EXPECT_EQ(host(a).peers().size(), 2u);
  EXPECT_TRUE(has_peer(a, host(y).id()));
  EXPECT_NE(has_peer(a, host(x1).id()), has_peer(a, host(x2).id()));
  // Seeds are dialled whatever their netgroup.
  NetConfig cs = config({x1_addr, x2_addr});
  cs.limit_local_netgroups = true;
  const size_t s = add(cs);
  EXPECT_TRUE(wait_for([&] { return has_peer(s, host(x1).id()) && has_peer(s, host(x2).id()); }));
}

TEST_F(HostTest, AHostNameIsNotDialledIntoANetgroupInUse) {
  const size_t x1 = add(config()), x2 = add(config());  // both on 127.0.0.1
  NetConfig c = config();
  c.limit_local_netgroups = true;
  const size_t a = add(c);
  host(a).add_addresses({addr(host(x1))});
  ASSERT_TRUE(wait_for([&] { return has_peer(a, host(x1).id()); }));
  // "localhost" resolves into 127.0.0.0/16, where a already has its outbound peer x1.
  host(a).add_addresses({"localhost:" + std::to_string(host(x2).port())});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(has_peer(a, host(x2).id()));
  // Once x1 is gone the netgroup is free, and the name is dialled.
  host(x1).stop();
  EXPECT_TRUE(wait_for([&] { return has_peer(a, host(x2).id()); }));
}

TEST_F(HostTest, InboundCountIsCapped) {
  NetConfig ca = config();
  ca.max_inbound = 1;
  const size_t a = add(ca);
  const size_t b = add(config({addr(host(a))}));
  ASSERT_TRUE(wait_for([&] { return has_peer(a, host(b).id()); }));
  const size_t c = add(config({addr(host(a))}));
  ASSERT_TRUE(wait_for([&] { return host(a).stats().refused_full >= 1; }));
  EXPECT_FALSE(has_peer(a, host(c).id()));
}

TEST_F(HostTest, PingsMeasureRoundTrips) {
  NetConfig c = config();
  c.ping_interval_ms = 50;
  const size_t a = add(c);
  const size_t b = add(config({addr(host(a))}));
  ASSERT_TRUE(wait_for([&] {
    auto p = host(a).peers();
    return p.size() == 1 && p[0].rtt_ms >= 0;
  }));
  (void)b;
}

TEST_F(HostTest, StartRefusesBadConfigAndBusyPort) {
  Recorder r;
  NetConfig c = config({"no-port"});
  auto h = Host::start(io_, c, crypto::SigningKey::generate(), r);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("seed"), std::string::npos) << h.status().message();
  const std::vector<std::pair<std::function<void(NetConfig&)>, std::string>> bad = {
      {[](NetConfig& b) { b.max_write_queue_bytes = 1000; }, "max_write_queue_bytes"},
      {[](NetConfig& b) { b.max_inbound_per_netgroup = 0; },
       "max_inbound_per_netgroup must be at least 1"},
      {[](NetConfig& b) { b.rekey_interval_messages = 0; },
       "rekey_interval_messages must be at least 1"},
  };
  for (const auto& [mutate, message] : bad) {
    c = config();
    mutate(c);
    h = Host::start(io_, c, crypto::SigningKey::generate(), r);
    ASSERT_FALSE(h.ok()) << message;
    EXPECT_NE(h.status().message().find(message), std::string::npos) << h.status().message();
  }
  const size_t a = add(config());
  c = config();
  c.listen_port = host(a).port();
  h = Host::start(io_, c, crypto::SigningKey::generate(), r);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("cannot listen on 127.0.0.1:"), std::string::npos)
      << h.status().message();
}

}  // namespace
}  // namespace imet::net::testing
