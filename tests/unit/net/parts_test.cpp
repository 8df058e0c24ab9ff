// The host's pure parts: token bucket, seen cache, address book, ban list.
#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "net/addr_book.h"
#include "net/ban_list.h"
#include "net/seen_cache.h"
#include "net/token_bucket.h"

namespace imet::net {
namespace {

PeerId pid(uint8_t b) {
  PeerId p{};
  p.fill(b);
  return p;
}

TEST(TokenBucket, BurstThenRate) {
  TokenBucket tb(10, 5, 0);  // 10/s, burst 5
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(tb.take(1, 0));
  EXPECT_FALSE(tb.take(1, 0));
  EXPECT_FALSE(tb.take(1, 50));                            // 0.5 token
  EXPECT_TRUE(tb.take(1, 100));                            // 1 token after 100 ms
  EXPECT_TRUE(tb.take(4, 10'000) && !tb.take(2, 10'000));  // refill capped at burst
  EXPECT_TRUE(tb.take(1, 5'000));                          // the one token left
  EXPECT_FALSE(tb.take(1, 5'000));                         // time going backwards adds nothing
}

TEST(SeenCache, ReceiveOnceBroadcastOnce) {
  SeenCache c(100);
  const auto k = SeenCache::key(20, util::Bytes{1, 2, 3});
  EXPECT_NE(k, SeenCache::key(21, util::Bytes{1, 2, 3}));  // type is part of the key
  EXPECT_TRUE(c.on_received(k, pid(1)));
  EXPECT_FALSE(c.on_received(k, pid(2)));
  std::vector<PeerId> holders;
  EXPECT_TRUE(c.on_broadcast(k, &holders));  // relay of received gossip
  EXPECT_EQ(holders, (std::vector<PeerId>{pid(1), pid(2)}));
  EXPECT_FALSE(c.on_broadcast(k, &holders));
  const auto k2 = SeenCache::key(20, util::Bytes{9});
  EXPECT_TRUE(c.on_broadcast(k2, nullptr));
  EXPECT_FALSE(c.on_received(k2, pid(1)));  // our own message coming back
}

TEST(SeenCache, BoundedFifo) {
  SeenCache c(3);
  for (uint8_t i = 0; i < 5; ++i)
    c.on_received(SeenCache::key(20, util::Bytes{i}), pid(1));
  EXPECT_EQ(c.size(), 3u);
  EXPECT_FALSE(c.contains(SeenCache::key(20, util::Bytes{0})));
  EXPECT_FALSE(c.contains(SeenCache::key(20, util::Bytes{1})));
  EXPECT_TRUE(c.contains(SeenCache::key(20, util::Bytes{4})));
}

TEST(AddrBook, BackoffDoublesUpToTheMax) {
  AddrBook b(10, 100, 350);
  std::mt19937_64 rng(1);
  const Endpoint e{"10.0.0.1", 1};
  ASSERT_TRUE(b.add(e, AddrSource::kSeed));
  EXPECT_EQ(b.due(0, 5, rng).size(), 1u);
  b.attempt(e);
  EXPECT_TRUE(b.due(0, 5, rng).empty());  // in use while dialling
  b.failed(e, 1000);
  EXPECT_TRUE(b.due(1099, 5, rng).empty());
  EXPECT_EQ(b.due(1100, 5, rng).size(), 1u);
  b.failed(e, 2000);  // second failure: 200 ms
  EXPECT_TRUE(b.due(2199, 5, rng).empty());
  EXPECT_EQ(b.due(2200, 5, rng).size(), 1u);
  b.failed(e, 3000);  // 400 capped at 350
  EXPECT_EQ(b.due(3350, 5, rng).size(), 1u);
  b.connected(e);
  EXPECT_TRUE(b.due(3350, 5, rng).empty());   // in use while connected
  b.disconnected(e, 4000, /*stable=*/false);  // dropped at once: a fourth failure
  EXPECT_EQ(b.failures(e), 4);
  EXPECT_TRUE(b.due(4349, 5, rng).empty());
  b.connected(e);
  b.disconnected(e, 5000, /*stable=*/true);
  EXPECT_EQ(b.failures(e), 0);
  EXPECT_TRUE(b.due(5099, 5, rng).empty());
  EXPECT_EQ(b.due(5100, 5, rng).size(), 1u);
}

TEST(AddrBook, SelfNeverDialledOrShared) {
  AddrBook b(10, 100, 1000);
  std::mt19937_64 rng(1);
  const Endpoint e{"10.0.0.1", 1};
  b.add(e, AddrSource::kPeer);
  b.mark_self(e);
  EXPECT_TRUE(b.due(0, 5, rng).empty());
  EXPECT_TRUE(b.sample(5, rng).empty());
  EXPECT_TRUE(b.is_self(e));
}

TEST(AddrBook, SavedEntriesAreNodeAndPeerOnesAndRestoreWithTheirFailures) {
  AddrBook b(10, 100, 1000);
  std::mt19937_64 rng(2);
  const Endpoint seed{"10.0.0.1", 1}, node{"10.0.0.2", 2}, peer{"10.0.0.3", 3}, self{"10.0.0.4", 4};
  b.add(seed, AddrSource::kSeed);
  b.add(node, AddrSource::kNode);
  b.add(peer, AddrSource::kPeer);
  b.add(self, AddrSource::kPeer);
  b.mark_self(self);
  uint64_t v = b.version();
  b.attempt(peer);
  EXPECT_EQ(b.version(), v);  // in-use marks are not saved
  b.failed(peer, 0);
  b.failed(peer, 0);
  EXPECT_GT(b.version(), v);
  const auto saved = b.saved();
  ASSERT_EQ(saved.size(), 2u);
  AddrBook r(10, 100, 1000);
  for (const auto& s : saved)
    EXPECT_TRUE(r.restore(s));
  EXPECT_FALSE(r.restore({seed, AddrSource::kSeed, 0}));  // seeds come from the config
  EXPECT_EQ(r.failures(peer), 2);
  EXPECT_EQ(r.failures(node), 0);
  EXPECT_EQ(r.due(0, 5, rng).size(), 2u);  // due at once (backoff is not saved)
}

TEST(AddrBook, SeedsFirstAndSourcesUpgrade) {
  AddrBook b(10, 100, 1000);
  std::mt19937_64 rng(3);
  for (uint16_t p = 1; p <= 5; ++p)
    b.add({"10.0.0.1", p}, AddrSource::kPeer);
  b.add({"10.0.0.9", 9}, AddrSource::kSeed);
  EXPECT_FALSE(b.add({"10.0.0.1", 1}, AddrSource::kPeer));  // already known
  EXPECT_TRUE(b.add({"10.0.0.1", 2}, AddrSource::kNode));   // upgraded
  const auto due = b.due(0, 2, rng);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0], (Endpoint{"10.0.0.9", 9}));
  EXPECT_EQ(due[1], (Endpoint{"10.0.0.1", 2}));
}

TEST(AddrBook, PeerEntriesCappedGoodOnesKept) {
  AddrBook b(2, 100, 1000);
  EXPECT_TRUE(b.add({"a", 1}, AddrSource::kPeer));
  EXPECT_TRUE(b.add({"a", 2}, AddrSource::kPeer));
  EXPECT_FALSE(b.add({"a", 3}, AddrSource::kPeer));  // full of never-failed entries
  b.failed({"a", 1}, 0);
  EXPECT_TRUE(b.add({"a", 3}, AddrSource::kPeer));  // evicts the failed one
  EXPECT_FALSE(b.contains({"a", 1}));
  EXPECT_TRUE(b.add({"s", 1}, AddrSource::kSeed));  // seeds are never refused
  EXPECT_EQ(b.size(), 3u);
}

TEST(AddrBook, OneDialPerNetgroupAndNoneInANetgroupInUse) {
  AddrBook b(100, 100, 1000);
  std::mt19937_64 rng(4);
  const Endpoint a1{"1.2.3.4", 1}, a2{"1.2.9.9", 1}, other{"5.6.7.8", 1};
  b.add(a1, AddrSource::kPeer);
  b.add(a2, AddrSource::kPeer);
  b.add(other, AddrSource::kNode);
  for (int i = 0; i < 20; ++i) {
    const auto due = b.due(0, 5, rng);
    ASSERT_EQ(due.size(), 2u);  // one of 1.2.0.0/16, and 5.6.7.8
    EXPECT_EQ(due[0], other);   // node entries before peer ones
    EXPECT_TRUE(due[1] == a1 || due[1] == a2);
  }
  // 1.2.0.0/16 already has an outbound peer: neither of its addresses.
  const auto due = b.due(0, 5, rng, {"1.2.0.0/16"});
  EXPECT_EQ(due, std::vector<Endpoint>{other});
  // A node entry's netgroup counts for the peer entries after it.
  b.add({"1.2.7.7", 1}, AddrSource::kNode);
  auto due2 = b.due(0, 5, rng);
  std::sort(due2.begin(), due2.end());
  EXPECT_EQ(due2, (std::vector<Endpoint>{{"1.2.7.7", 1}, other}));
}

TEST(AddrBook, SeedsAreDueWhateverTheirNetgroup) {
  AddrBook b(100, 100, 1000);
  std::mt19937_64 rng(5);
  const Endpoint s1{"1.2.3.4", 1}, s2{"1.2.3.5", 1}, peer{"1.2.3.6", 1};
  b.add(s1, AddrSource::kSeed);
  b.add(s2, AddrSource::kSeed);
  b.add(peer, AddrSource::kPeer);
  auto due = b.due(0, 5, rng, {"1.2.0.0/16"});
  std::sort(due.begin(), due.end());
  EXPECT_EQ(due, (std::vector<Endpoint>{s1, s2}));  // the peer entry shares their netgroup
}

TEST(AddrBook, LocalAddressesAndHostNamesAreNotLimited) {
  AddrBook b(100, 100, 1000);
  std::mt19937_64 rng(6);
  for (uint16_t p = 1; p <= 4; ++p) {
    b.add({"127.0.0.1", p}, AddrSource::kPeer);
    b.add({"192.168.1.1", p}, AddrSource::kPeer);
    b.add({"node" + std::to_string(p) + ".example", p}, AddrSource::kPeer);
  }
  EXPECT_EQ(b.due(0, 20, rng, {"local", "name"}).size(), 12u);
  // Unless local netgroups are limited (tests): 127.0.0.0/16 and 192.168.0.0/16 give one each.
  AddrBook limited(100, 100, 1000, /*limit_local=*/true);
  for (uint16_t p = 1; p <= 4; ++p) {
    limited.add({"127.0.0.1", p}, AddrSource::kPeer);
    limited.add({"192.168.1.1", p}, AddrSource::kPeer);
  }
  EXPECT_EQ(limited.due(0, 20, rng).size(), 2u);
}

TEST(AddrBook, AFloodedNetgroupIsNotChosenMoreOftenThanAnother) {
  // 1000 addresses offered in 9.9.0.0/16 (256 kept: 4096 / 16) and one in each of 9 other
  // netgroups. Picking an address at random would pick the flooded netgroup 97% of the time;
  // picking a netgroup first, 10%.
  AddrBook b(4096, 100, 1000);
  size_t kept = 0;
  for (int i = 0; i < 1000; ++i) {
    kept += b.add({"9.9." + std::to_string(i / 200) + "." + std::to_string(i % 200), 1},
                  AddrSource::kPeer)
                ? 1
                : 0;
  }
  EXPECT_EQ(kept, 256u);
  for (int g = 1; g <= 9; ++g)
    b.add({"20." + std::to_string(g) + ".0.1", 1}, AddrSource::kPeer);
  std::mt19937_64 rng(7);
  int flooded = 0;
  const int kRounds = 2000;
  for (int i = 0; i < kRounds; ++i) {
    const auto due = b.due(0, 1, rng);
    ASSERT_EQ(due.size(), 1u);
    flooded += b.group_of(due[0]).key == "9.9.0.0/16" ? 1 : 0;
  }
  EXPECT_GT(flooded, kRounds * 5 / 100);
  EXPECT_LT(flooded, kRounds * 15 / 100);
  // An ADDR answer takes one address of each netgroup in turn.
  const auto sample = b.sample(10, rng);
  ASSERT_EQ(sample.size(), 10u);
  std::set<std::string> groups;
  for (const auto& e : sample)
    groups.insert(b.group_of(e).key);
  EXPECT_EQ(groups.size(), 10u);
  EXPECT_EQ(b.sample(5000, rng).size(), 265u);  // everything, when asked for more
}

TEST(AddrBook, OneNetgroupHoldsAtMostASixteenthOfThePeerEntries) {
  AddrBook b(64, 100, 1000);  // 4 per netgroup
  for (int i = 1; i <= 4; ++i)
    EXPECT_TRUE(b.add({"9.9.0." + std::to_string(i), 1}, AddrSource::kPeer));
  EXPECT_FALSE(b.add({"9.9.0.5", 1}, AddrSource::kPeer));  // full of never-failed entries
  EXPECT_TRUE(b.add({"9.8.0.5", 1}, AddrSource::kPeer));   // another netgroup
  b.failed({"9.9.0.2", 1}, 0);
  EXPECT_TRUE(b.add({"9.9.0.5", 1}, AddrSource::kPeer));  // replaces the failed one
  EXPECT_FALSE(b.contains({"9.9.0.2", 1}));
  EXPECT_TRUE(b.add({"9.9.0.6", 1}, AddrSource::kNode));  // node entries are not capped
  EXPECT_TRUE(b.add({"9.9.0.1", 1}, AddrSource::kNode));  // an upgrade frees a peer slot
  EXPECT_TRUE(b.add({"9.9.0.7", 1}, AddrSource::kPeer));
  EXPECT_FALSE(b.add({"9.9.0.8", 1}, AddrSource::kPeer));
  EXPECT_TRUE(b.add({"10.0.0.1", 1}, AddrSource::kPeer));  // local: not capped per netgroup
  EXPECT_TRUE(b.add({"10.0.0.2", 1}, AddrSource::kPeer));
}

TEST(AddrBook, OneSourceNetgroupTellsAtMostAnEighthOfThePeerEntries) {
  AddrBook b(64, 100, 1000);  // 8 per source netgroup, 4 per netgroup
  const NetGroup attacker = netgroup_of("66.6.0.1");
  size_t kept = 0;
  for (int g = 0; g < 20; ++g)  // 20 addresses in 20 netgroups, all told by one peer
    kept += b.add({"30." + std::to_string(g) + ".0.1", 1}, AddrSource::kPeer, attacker) ? 1 : 0;
  EXPECT_EQ(kept, 8u);
  // Another source, or none (an inbound peer's own listen address), still adds.
  EXPECT_TRUE(b.add({"31.0.0.1", 1}, AddrSource::kPeer, netgroup_of("77.7.0.1")));
  EXPECT_TRUE(b.add({"31.1.0.1", 1}, AddrSource::kPeer));
  // An entry that leaves the peer entries (upgraded to node) frees its source's share.
  EXPECT_TRUE(b.add({"30.0.0.1", 1}, AddrSource::kNode));
  EXPECT_TRUE(b.add({"30.19.0.1", 1}, AddrSource::kPeer, attacker));
  EXPECT_FALSE(b.add({"30.18.0.1", 1}, AddrSource::kPeer, attacker));
  // Local sources are not limited (a testnet on 127.0.0.1).
  const NetGroup local = netgroup_of("127.0.0.1");
  for (int g = 40; g < 52; ++g)
    EXPECT_TRUE(b.add({std::to_string(g) + ".0.0.1", 1}, AddrSource::kPeer, local));
}

TEST(AddrBook, TriedEntriesAreNeverEvictedAndGetEveryOtherDial) {
  AddrBook b(64, 100, 1000);  // 4 per netgroup
  std::mt19937_64 rng(9);
  const Endpoint good{"9.9.0.1", 1};
  ASSERT_TRUE(b.add(good, AddrSource::kPeer));
  EXPECT_FALSE(b.tried(good));
  b.attempt(good);
  b.connected(good);  // handshake done: tried
  EXPECT_TRUE(b.tried(good));
  b.disconnected(good, 0, /*stable=*/false);  // then it failed a few times
  b.failed(good, 0);
  for (int i = 2; i <= 4; ++i)
    EXPECT_TRUE(b.add({"9.9.0." + std::to_string(i), 1}, AddrSource::kPeer));
  // The netgroup is full; the failed tried entry is not evicted for a new address.
  EXPECT_FALSE(b.add({"9.9.0.5", 1}, AddrSource::kPeer));
  EXPECT_TRUE(b.contains(good));
  // Saved and restored with the mark.
  AddrBook r(64, 100, 1000);
  for (const auto& s : b.saved())
    r.restore(s);
  EXPECT_TRUE(r.tried(good));
  EXPECT_FALSE(r.tried({"9.9.0.2", 1}));

  // One tried address among 40 new ones in 40 netgroups: picked first about every other time
  // (a uniform choice over netgroups would pick it 1 time in 41).
  AddrBook c(4096, 100, 1000);
  const Endpoint tried{"50.0.0.1", 1};
  c.add(tried, AddrSource::kPeer);
  c.attempt(tried);
  c.connected(tried);
  c.disconnected(tried, 0, /*stable=*/true);
  for (int g = 0; g < 40; ++g)
    c.add({"60." + std::to_string(g) + ".0.1", 1}, AddrSource::kPeer);
  int first = 0;
  const int kRounds = 2000;
  for (int i = 0; i < kRounds; ++i) {
    const auto due = c.due(1000, 2, rng);
    ASSERT_EQ(due.size(), 2u);
    first += due[0] == tried ? 1 : 0;
    EXPECT_TRUE(due[0] == tried || due[1] == tried);  // tried and new in turn
  }
  EXPECT_GT(first, kRounds * 40 / 100);
  EXPECT_LT(first, kRounds * 60 / 100);
}

TEST(AddrBook, ASkippedDialIsDueAgainWithoutAFailure) {
  AddrBook b(10, 100, 1000);
  std::mt19937_64 rng(8);
  const Endpoint e{"seed.example", 1};
  b.add(e, AddrSource::kPeer);
  b.attempt(e);
  EXPECT_TRUE(b.due(0, 5, rng).empty());
  b.skipped(e, 1000);
  EXPECT_EQ(b.failures(e), 0);
  EXPECT_TRUE(b.due(1099, 5, rng).empty());
  EXPECT_EQ(b.due(1100, 5, rng).size(), 1u);
}

TEST(BanList, ExpiresAndExtends) {
  BanList bl;
  bl.ban_id(pid(1), 1000);
  bl.ban_ip("10.0.0.1", 500);
  EXPECT_TRUE(bl.id_banned(pid(1), 999));
  EXPECT_FALSE(bl.id_banned(pid(1), 1000));
  EXPECT_FALSE(bl.id_banned(pid(2), 0));
  EXPECT_TRUE(bl.ip_banned("10.0.0.1", 0));
  bl.ban_id(pid(1), 800);  // never shortens
  EXPECT_TRUE(bl.id_banned(pid(1), 900));
  bl.expire(600);
  EXPECT_EQ(bl.size(), 1u);
  EXPECT_FALSE(bl.ip_banned("10.0.0.1", 0));
}

}  // namespace
}  // namespace imet::net
