// Netgroups of addresses and the choice of the inbound connection to evict (pure functions),
// checked against the rules written in netgroup.h and eviction.h.
#include "net/eviction.h"

#include <algorithm>
#include <random>

#include <gtest/gtest.h>

#include "net/netgroup.h"

namespace imet::net {
namespace {

TEST(NetGroup, PublicAddressesGroupByIpv4Slash16AndIpv6Slash32) {
  EXPECT_EQ(netgroup_of("203.0.113.5").key, "203.0.0.0/16");
  EXPECT_EQ(netgroup_of("203.0.7.9").key, "203.0.0.0/16");
  EXPECT_EQ(netgroup_of("203.1.113.5").key, "203.1.0.0/16");
  EXPECT_TRUE(netgroup_of("203.0.113.5").limited);
  EXPECT_EQ(netgroup_of("2001:db8:1:2::5").key, "2001:db8::/32");
  EXPECT_EQ(netgroup_of("2001:db8:ffff::1").key, "2001:db8::/32");
  EXPECT_EQ(netgroup_of("2001:db9::1").key, "2001:db9::/32");
  EXPECT_TRUE(netgroup_of("2001:db8::1").limited);
  // An IPv4-mapped IPv6 address (a dual-stack listener) is its IPv4 address.
  EXPECT_EQ(netgroup_of("::ffff:203.0.113.5").key, "203.0.0.0/16");
  // 172.32/16 is just outside the private 172.16/12.
  EXPECT_EQ(netgroup_of("172.32.0.1").key, "172.32.0.0/16");
  EXPECT_FALSE(is_local_address("172.32.0.1"));
}

TEST(NetGroup, LocalAddressesShareOneUnlimitedGroupUnlessLimited) {
  for (const char* ip : {"127.0.0.1", "127.5.6.7", "10.1.2.3", "172.16.0.1", "172.31.255.255",
                         "192.168.1.1", "169.254.3.4", "0.0.0.0", "::1", "::", "fe80::1",
                         "fd12:3456::1", "fc00::1", "::ffff:192.168.0.1"}) {
    EXPECT_TRUE(is_local_address(ip)) << ip;
    const NetGroup g = netgroup_of(ip);
    EXPECT_EQ(g.key, "local") << ip;
    EXPECT_FALSE(g.limited) << ip;
  }
  const NetGroup l = netgroup_of("127.1.2.3", /*limit_local=*/true);
  EXPECT_EQ(l.key, "127.1.0.0/16");
  EXPECT_TRUE(l.limited);
  EXPECT_EQ(netgroup_of("fd12:3456:789a::1", true).key, "fd12:3456::/32");
}

TEST(NetGroup, HostNamesAreOneUnlimitedGroup) {
  for (const char* host : {"seed.example.org", "localhost", "", "1.2.3", "[::1]", "300.1.1.1"}) {
    EXPECT_FALSE(is_local_address(host)) << host;
    const NetGroup g = netgroup_of(host, true);
    EXPECT_EQ(g.key, "name") << host;
    EXPECT_FALSE(g.limited) << host;
  }
}

EvictionCandidate peer(uint64_t id, std::string group, int64_t connected_ms) {
  EvictionCandidate c;
  c.id = id;
  c.netgroup = std::move(group);
  c.netgroup_rank = 0;
  c.connected_ms = connected_ms;
  return c;
}

constexpr EvictionRules kNoProtectionRules{0, 0, 0};  // only "half the rest by age" remains

TEST(Eviction, NobodyToEvict) {
  EXPECT_FALSE(select_eviction({}).has_value());
  // One peer: its netgroup's representative (default rules protect 4 netgroups).
  EXPECT_FALSE(select_eviction({peer(1, "a", 1)}).has_value());
  // Eight peers in eight netgroups, all with round trips: 4 by netgroup, 4 by latency.
  std::vector<EvictionCandidate> c;
  for (uint64_t i = 0; i < 8; ++i) {
    c.push_back(peer(i, "g" + std::to_string(i), static_cast<int64_t>(i)));
    c.back().netgroup_rank = i;
    c.back().min_rtt_ms = 10;
  }
  EXPECT_FALSE(select_eviction(c).has_value());
}

TEST(Eviction, TheNetgroupWithTheMostConnectionsLosesItsNewest) {
  // By age, A1 A2 A3 B1 are protected (the older half); left: B2 C1 B3 A4. B has two of them, so
  // B3 goes, not A4, the newest overall.
  const std::vector<EvictionCandidate> c = {peer(1, "A", 1), peer(2, "A", 2), peer(3, "A", 3),
                                            peer(4, "B", 4), peer(5, "B", 5), peer(6, "C", 6),
                                            peer(7, "B", 7), peer(8, "A", 8)};
  auto e = select_eviction(c, kNoProtectionRules);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->id, 7u);
  EXPECT_EQ(e->netgroup, "B");
  EXPECT_NE(e->reason.find("netgroup B has the most unprotected inbound connections (2 of 4)"),
            std::string::npos)
      << e->reason;
  EXPECT_NE(e->reason.find("newest"), std::string::npos) << e->reason;
}

TEST(Eviction, ATieBetweenNetgroupsGoesToTheOneWithTheNewestConnection) {
  // Protected by age: 1..4. Left: X(5), Y(6), X(7), Y(8): a tie, Y has the newest. Within Y, 6
  // has a score, so 6 goes (had X been chosen, 7 would have).
  std::vector<EvictionCandidate> c = {peer(1, "X", 1), peer(2, "Y", 2), peer(3, "X", 3),
                                      peer(4, "Y", 4), peer(5, "X", 5), peer(6, "Y", 6),
                                      peer(7, "X", 7), peer(8, "Y", 8)};
  c[5].score = 5;
  auto e = select_eviction(c, kNoProtectionRules);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->id, 6u);
  EXPECT_EQ(e->netgroup, "Y");
}

TEST(Eviction, TheHighestRankedNetgroupsKeepTheirOldestPeer) {
  // X has one peer, the newest; Z three older ones.
  auto c = std::vector<EvictionCandidate>{peer(1, "X", 10), peer(2, "Z", 1), peer(3, "Z", 2),
                                          peer(4, "Z", 3)};
  // Without netgroup protection: Z1 Z2 protected by age, left Z3 and X (a tie): X is newer.
  EXPECT_EQ(select_eviction(c, kNoProtectionRules)->id, 1u);
  // X ranks highest: its peer is protected; left Z1 Z2 Z3, Z1 protected by age, Z3 goes.
  c[0].netgroup_rank = 999;
  for (size_t i = 1; i < 4; ++i)
    c[i].netgroup_rank = 1;
  EXPECT_EQ(select_eviction(c, EvictionRules{1, 0, 0})->id, 4u);
  // Z ranks highest: Z's oldest (Z1) is protected, then Z2 by age; X and Z3 tie, X is newer.
  c[0].netgroup_rank = 1;
  for (size_t i = 1; i < 4; ++i)
    c[i].netgroup_rank = 999;
  EXPECT_EQ(select_eviction(c, EvictionRules{1, 0, 0})->id, 1u);
}

TEST(Eviction, TheFastestPeersAreProtectedOnlyWithAMeasuredRoundTrip) {
  std::vector<EvictionCandidate> c;
  for (uint64_t i = 1; i <= 6; ++i)
    c.push_back(peer(i, "A", static_cast<int64_t>(i)));
  // Without round trips: 1..3 protected by age, 6 goes.
  EXPECT_EQ(select_eviction(c, EvictionRules{0, 2, 0})->id, 6u);
  c[5].min_rtt_ms = 40;  // 6
  c[4].min_rtt_ms = 5;   // 5
  c[0].min_rtt_ms = 90;  // 1 (slowest of three measured)
  // 5 and 6 are the two fastest; of 1..4, 1 and 2 by age: 4 goes.
  EXPECT_EQ(select_eviction(c, EvictionRules{0, 2, 0})->id, 4u);
}

TEST(Eviction, TheMostRecentlyUsefulPeersAreProtected) {
  std::vector<EvictionCandidate> c;
  for (uint64_t i = 1; i <= 6; ++i)
    c.push_back(peer(i, "A", static_cast<int64_t>(i)));
  c[5].last_useful_ms = 100;  // 6: most recent
  c[4].last_useful_ms = 50;   // 5
  c[3].last_useful_ms = 70;   // 4
  // One protected by usefulness: 6. Of 1..5, 1 and 2 by age; 5 (newest left) goes.
  EXPECT_EQ(select_eviction(c, EvictionRules{0, 0, 1})->id, 5u);
  // Two: 6 and 4. Of 1 2 3 5: 1 and 2 by age; 5 goes.
  EXPECT_EQ(select_eviction(c, EvictionRules{0, 0, 2})->id, 5u);
  // Three: 6, 4, 5. Of 1 2 3: 1 by age; 3 goes.
  EXPECT_EQ(select_eviction(c, EvictionRules{0, 0, 3})->id, 3u);
}

TEST(Eviction, WithinTheNetgroupAStalledHandshakeGoesFirstThenTheWorstScore) {
  std::vector<EvictionCandidate> c = {peer(1, "A", 1), peer(2, "A", 2), peer(3, "A", 3),
                                      peer(4, "A", 4), peer(5, "A", 5), peer(6, "A", 6)};
  // Ages protect 1..3 of the six; left 4 5 6: the newest goes.
  EXPECT_EQ(select_eviction(c, kNoProtectionRules)->id, 6u);
  c[3].score = 30;  // 4 misbehaved
  c[4].score = 10;
  auto e = select_eviction(c, kNoProtectionRules);
  EXPECT_EQ(e->id, 4u);
  EXPECT_NE(e->reason.find("worst misbehaviour score (30.0)"), std::string::npos) << e->reason;
  // Two connections not in use (handshakes), one of them the oldest overall: never protected,
  // and they go before any peer of their netgroup, the longest-running first.
  c.push_back(peer(7, "A", 0));
  c.back().in_use = false;
  c.push_back(peer(8, "A", 7));
  c.back().in_use = false;
  e = select_eviction(c, kNoProtectionRules);
  EXPECT_EQ(e->id, 7u);
  EXPECT_NE(e->reason.find("not in use"), std::string::npos) << e->reason;
  // Even a lone handshake when every peer is protected.
  e = select_eviction({peer(1, "A", 1), [] {
                         auto h = peer(2, "B", 0);
                         h.in_use = false;
                         return h;
                       }()});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->id, 2u);
}

TEST(Eviction, ResultDoesNotDependOnTheOrderOfTheSnapshot) {
  std::mt19937_64 rng(7);
  std::vector<EvictionCandidate> c;
  for (uint64_t i = 0; i < 40; ++i) {
    c.push_back(peer(i, "g" + std::to_string(rng() % 6), static_cast<int64_t>(rng() % 50)));
    c.back().netgroup_rank = std::hash<std::string>{}(c.back().netgroup);
    if (rng() % 2) c.back().min_rtt_ms = static_cast<int64_t>(rng() % 5);
    if (rng() % 3 == 0) c.back().last_useful_ms = static_cast<int64_t>(rng() % 4);
    c.back().in_use = rng() % 8 != 0;
  }
  const auto first = select_eviction(c);
  ASSERT_TRUE(first.has_value());
  for (int round = 0; round < 20; ++round) {
    std::shuffle(c.begin(), c.end(), rng);
    const auto e = select_eviction(c);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->id, first->id);
  }
}

TEST(Eviction, AnAttackerFillingTheSlotsFromOneNetgroupEvictsItsOwnPeers) {
  // Eight honest peers, old, in distinct netgroups, answering pings; 24 attacker connections from
  // one /16, newer, with no useful messages. Default rules. The attacker's newest goes, and with
  // every further connection the attacker's next newest: the honest peers are never chosen.
  std::vector<EvictionCandidate> c;
  for (uint64_t i = 0; i < 8; ++i) {
    c.push_back(peer(i, "honest" + std::to_string(i), static_cast<int64_t>(i)));
    c.back().netgroup_rank = 1000 + i;
    c.back().min_rtt_ms = 50 + static_cast<int64_t>(i);
  }
  for (uint64_t i = 0; i < 24; ++i) {
    c.push_back(peer(100 + i, "6.6.0.0/16", 100 + static_cast<int64_t>(i)));
    c.back().netgroup_rank = 5000;  // even if its netgroup ranks first
  }
  for (int round = 0; round < 10; ++round) {
    const auto e = select_eviction(c);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->netgroup, "6.6.0.0/16");
    EXPECT_GE(e->id, 100u);
    std::erase_if(c, [&](const EvictionCandidate& x) { return x.id == e->id; });
    // The attacker's replacement connection is newer still.
    c.push_back(peer(200 + static_cast<uint64_t>(round), "6.6.0.0/16", 1000 + round));
  }
  EXPECT_EQ(std::count_if(c.begin(), c.end(), [](const auto& x) { return x.id < 8; }), 8);
}

}  // namespace
}  // namespace imet::net
