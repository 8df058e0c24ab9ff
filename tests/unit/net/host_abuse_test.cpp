// A host facing a hand-driven peer (RawPeer): garbage and truncated handshakes, tampered transport
// messages, oversized and malformed frames, unknown net messages, floods, a peer that never reads,
// a silent peer, IP bans. The host must close the connection, score the peer where the fault is
// provably the peer's, and keep serving others.
#include <gtest/gtest.h>

#include "host_fixture.h"
#include "raw_peer.h"

namespace imet::net::testing {
namespace {

class AbuseTest : public HostTest {
 protected:
  // The host still accepts a well-behaved peer.
  void expect_still_serving(size_t h) {
    RawPeer good(test_network());
    auto hello = good.handshake(host(h).port());
    ASSERT_TRUE(hello.ok()) << hello.status().to_string();
    EXPECT_EQ(hello->identity, host(h).id());
    ASSERT_TRUE(wait_for([&] { return has_peer(h, good.id()); }));
  }
};

TEST_F(AbuseTest, RawPeerHandshakeIsAccepted) {
  const size_t a = add(config());
  RawPeer p(test_network());
  auto hello = p.handshake(host(a).port());
  ASSERT_TRUE(hello.ok()) << hello.status().to_string();
  EXPECT_EQ(hello->identity, host(a).id());
  EXPECT_EQ(hello->listen_port, host(a).port());
  ASSERT_TRUE(wait_for([&] { return has_peer(a, p.id()); }));
  p.send_frame(30, 0, util::Bytes{1, 2, 3});
  ASSERT_TRUE(wait_for([&] { return rec(a).message_count() == 1; }));
  EXPECT_EQ(rec(a).messages()[0].payload, (util::Bytes{1, 2, 3}));
  EXPECT_EQ(rec(a).messages()[0].from, p.id());
  host(a).send(p.id(), 31, util::Bytes{7});
  auto f = p.read_frame(2000);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->type, 31);
  EXPECT_EQ(f->flags, 0);
  EXPECT_EQ(f->payload, util::Bytes{7});
}

TEST_F(AbuseTest, RawPeerOfAnotherNetworkIsRefusedByTheResponder) {
  const size_t a = add(config());
  RawPeer p(test_network(0x99));
  ASSERT_TRUE(p.handshake(host(a).port()).ok());  // the raw peer does not check
  EXPECT_TRUE(p.closed_by_host(2000));
  ASSERT_TRUE(wait_for([&] { return host(a).stats().refused_network == 1; }));
  EXPECT_TRUE(rec(a).connected().empty());
}

TEST_F(AbuseTest, GarbageFirstMessageClosesTheConnection) {
  const size_t a = add(config());
  RawPeer p(test_network());
  ASSERT_TRUE(p.connect(host(a).port()));
  util::Bytes junk(102, 0x5A);  // a 100-byte "message 1": a key and a 68-byte plaintext payload
  junk[0] = 0;
  junk[1] = 100;
  p.send_raw(junk);
  EXPECT_TRUE(p.closed_by_host(2000));
  ASSERT_TRUE(wait_for([&] { return host(a).stats().handshakes_failed == 1; }));
  expect_still_serving(a);
}

TEST_F(AbuseTest, RandomBytesCloseTheConnection) {
  const size_t a = add(config());
  std::mt19937 rng(5);
  for (int round = 0; round < 5; ++round) {
    RawPeer p(test_network());
    ASSERT_TRUE(p.connect(host(a).port()));
    util::Bytes junk(3000);
    for (auto& b : junk)
      b = static_cast<uint8_t>(rng());
    junk[0] = 0x00;  // a plausible length so the host reads a whole message
    junk[1] = 0x40;
    p.send_raw(junk);
    EXPECT_TRUE(p.closed_by_host(3000)) << "round " << round;
  }
  expect_still_serving(a);
}

TEST_F(AbuseTest, TruncatedHandshakeTimesOut) {
  NetConfig c = config();
  c.handshake_timeout_ms = 300;
  const size_t a = add(c);
  RawPeer p(test_network());
  ASSERT_TRUE(p.connect(host(a).port()));
  p.send_raw(util::Bytes{0x00, 0x20, 1, 2, 3});  // announces 32 bytes, sends 3
  EXPECT_TRUE(p.closed_by_host(3000));
  RawPeer silent(test_network());
  ASSERT_TRUE(silent.connect(host(a).port()));
  EXPECT_TRUE(silent.closed_by_host(3000));
  ASSERT_TRUE(wait_for([&] { return host(a).stats().handshakes_failed == 2; }));
  expect_still_serving(a);
}

TEST_F(AbuseTest, GarbageThirdMessageClosesTheConnection) {
  const size_t a = add(config());
  RawPeer p(test_network());
  ASSERT_TRUE(p.connect(host(a).port()));
  auto pattern = crypto::noise::pattern_by_name("XX");
  crypto::noise::HandshakeConfig hc;
  hc.pattern = *pattern;
  hc.role = crypto::noise::Role::kInitiator;
  hc.prologue = util::to_bytes(kNoisePrologue);
  hc.local_static = crypto::X25519KeyPair::generate();
  auto hs = crypto::noise::HandshakeState::create(std::move(hc));
  ASSERT_TRUE(hs.ok());
  p.send_noise(*hs->write_message({}));
  auto m2 = p.read_noise(2000);
  ASSERT_TRUE(m2.has_value());
  ASSERT_TRUE(hs->read_message(*m2).ok());
  // A correct message 3 except that its payload is not a Hello.
  auto m3 = hs->write_message(util::Bytes{1, 2, 3});
  ASSERT_TRUE(m3.ok());
  p.send_noise(*m3);
  EXPECT_TRUE(p.closed_by_host(2000));
  ASSERT_TRUE(wait_for([&] { return host(a).stats().handshakes_failed == 1; }));
  EXPECT_TRUE(rec(a).connected().empty());
}

TEST_F(AbuseTest, TamperedTransportMessageClosesWithoutPenalty) {
  const size_t a = add(config());
  RawPeer p(test_network());
  ASSERT_TRUE(p.handshake(host(a).port()).ok());
  ASSERT_TRUE(wait_for([&] { return has_peer(a, p.id()); }));
  p.send_plain(encode_frame(30, 0, util::Bytes{1}), /*tamper=*/true);
  EXPECT_TRUE(p.closed_by_host(2000));
  ASSERT_TRUE(wait_for([&] { return rec(a).disconnected().size() == 1; }));
  EXPECT_EQ(rec(a).message_count(), 0u);
  // Corruption on the path is not proof against the peer: no ban.
  EXPECT_FALSE(host(a).is_banned(p.id()));
  expect_still_serving(a);
}

TEST_F(AbuseTest, TransportRekeysAndAPeerThatDoesNotIsCutOff) {
  NetConfig c = config();
  c.rekey_interval_messages = 4;
  const size_t a = add(c);
  RawPeer in_step(test_network());
  in_step.set_rekey_interval(4);
  ASSERT_TRUE(in_step.handshake(host(a).port()).ok());
  ASSERT_TRUE(wait_for([&] { return has_peer(a, in_step.id()); }));
  for (uint8_t i = 0; i < 10; ++i)
    in_step.send_frame(30, 0, util::Bytes{i});
  ASSERT_TRUE(wait_for([&] { return rec(a).message_count() == 10; }));
  for (uint8_t i = 0; i < 10; ++i)
    host(a).send(in_step.id(), 31, util::Bytes{i});
  for (uint8_t i = 0; i < 10; ++i) {
    auto f = in_step.read_frame(2000);
    ASSERT_TRUE(f.has_value()) << static_cast<int>(i);
    EXPECT_EQ(f->payload, util::Bytes{i});
  }
  // A peer that keeps its first keys: its fifth message does not decrypt, the host closes.
  RawPeer stale(test_network());
  stale.set_rekey_interval(0);
  ASSERT_TRUE(stale.handshake(host(a).port()).ok());
  ASSERT_TRUE(wait_for([&] { return has_peer(a, stale.id()); }));
  for (uint8_t i = 0; i < 6; ++i)
    stale.send_frame(32, 0, util::Bytes{i});
  EXPECT_TRUE(stale.closed_by_host(2000));
  ASSERT_TRUE(wait_for([&] { return !has_peer(a, stale.id()); }));
  size_t from_stale = 0;
  for (const auto& m : rec(a).messages())
    from_stale += m.from == stale.id() ? 1 : 0;
  EXPECT_EQ(from_stale, 4u);
  EXPECT_EQ(host(a).stats().violations, 0u);  // not attributable: closed, no penalty
  EXPECT_TRUE(has_peer(a, in_step.id()));
}

TEST_F(AbuseTest, OversizedFrameIsAViolationAndBans) {
  NetConfig c = config();
  c.max_message_bytes = 1 << 20;
  c.rate_bytes_burst = 4 << 20;
  const size_t a = add(c);
  RawPeer p(test_network());
  ASSERT_TRUE(p.handshake(host(a).port()).ok());
  ASSERT_TRUE(wait_for([&] { return has_peer(a, p.id()); }));
  const auto h = encode_frame_header(30, 0, (1 << 20) + 1);
  p.send_plain(h);
  EXPECT_TRUE(p.closed_by_host(2000));
  ASSERT_TRUE(wait_for([&] { return host(a).is_banned(p.id()); }));
  EXPECT_EQ(host(a).stats().violations, 1u);
  EXPECT_EQ(host(a).stats().bans, 1u);
}

TEST_F(AbuseTest, BannedIdentityIsRefusedOnReconnect) {
  NetConfig c = config();
  c.max_message_bytes = 1000;
  c.rate_bytes_burst = 5000;
  const size_t a = add(c);
  const auto key = crypto::SigningKey::generate();
  {
    RawPeer p(test_network(), key);
    ASSERT_TRUE(p.handshake(host(a).port()).ok());
    ASSERT_TRUE(wait_for([&] { return has_peer(a, p.id()); }));
    p.send_frame(30, 0x04, {});  // unknown flag bit
    EXPECT_TRUE(p.closed_by_host(2000));
  }
  ASSERT_TRUE(wait_for([&] { return host(a).is_banned(key.public_key()); }));
  RawPeer back(test_network(), key);
  ASSERT_TRUE(back.handshake(host(a).port()).ok());  // identity is only known after message 3
  EXPECT_TRUE(back.closed_by_host(2000));
  EXPECT_EQ(host(a).stats().refused_banned, 1u);
  EXPECT_EQ(rec(a).connected().size(), 1u);
}

TEST_F(AbuseTest, IpBanRefusesAtAcceptWhenLoopbackBansAreOn) {
  NetConfig c = config();
  c.ban_loopback_ips = true;
  const size_t a = add(c);
  RawPeer p(test_network());
  ASSERT_TRUE(p.handshake(host(a).port()).ok());
  ASSERT_TRUE(wait_for([&] { return has_peer(a, p.id()); }));
  host(a).penalize(p.id(), 1000, "test");
  EXPECT_TRUE(p.closed_by_host(2000));
  RawPeer other(test_network());  // a new identity from the same IP
  ASSERT_TRUE(other.connect(host(a).port()));
  EXPECT_TRUE(other.closed_by_host(2000));
  ASSERT_TRUE(wait_for([&] { return host(a).stats().refused_banned == 1; }));
  EXPECT_EQ(host(a).stats().handshakes_ok, 1u);
}

TEST_F(AbuseTest, UnknownNetMessageIsAViolation) {
  const size_t a = add(config());
  RawPeer p(test_network());
  ASSERT_TRUE(p.handshake(host(a).port()).ok());
  ASSERT_TRUE(wait_for([&] { return has_peer(a, p.id()); }));
  p.send_frame(9, 0, {});
  EXPECT_TRUE(p.closed_by_host(2000));
  ASSERT_TRUE(wait_for([&] { return host(a).is_banned(p.id()); }));
}

TEST_F(AbuseTest, MalformedAddrIsAViolation) {
  const size_t a = add(config());
  RawPeer p(test_network());
  ASSERT_TRUE(p.handshake(host(a).port()).ok());
  ASSERT_TRUE(wait_for([&] { return has_peer(a, p.id()); }));
  p.send_frame(static_cast<uint8_t>(NetMessage::kAddr), 0, util::Bytes{0xE9, 0x07});
  EXPECT_TRUE(p.closed_by_host(2000));
  ASSERT_TRUE(wait_for([&] { return host(a).stats().violations == 1; }));
}

TEST_F(AbuseTest, PingIsAnsweredAndGetAddrGetsAddresses) {
  const size_t b = add(config());
  const size_t a = add(config({addr(host(b))}));
  ASSERT_TRUE(wait_for([&] { return has_peer(a, host(b).id()); }));
  RawPeer p(test_network());
  ASSERT_TRUE(p.handshake(host(a).port()).ok());
  p.send_frame(static_cast<uint8_t>(NetMessage::kPing), 0, encode_ping(1234));
  p.send_frame(static_cast<uint8_t>(NetMessage::kGetAddr), 0, {});
  bool pong = false;
  bool addr_seen = false;
  for (int i = 0; i < 10 && !(pong && addr_seen); ++i) {
    auto f = p.read_frame(2000);
    ASSERT_TRUE(f.has_value());
    if (f->type == static_cast<uint8_t>(NetMessage::kPong)) {
      EXPECT_EQ(*decode_ping(f->payload), 1234u);
      pong = true;
    }
    if (f->type == static_cast<uint8_t>(NetMessage::kAddr)) {
      auto eps = decode_addr(f->payload);
      ASSERT_TRUE(eps.ok());
      EXPECT_NE(std::find(eps->begin(), eps->end(), Endpoint{"127.0.0.1", host(b).port()}),
                eps->end());
      addr_seen = true;
    }
  }
  EXPECT_TRUE(pong);
  EXPECT_TRUE(addr_seen);
}

TEST_F(AbuseTest, DuplicateGossipFromAPeerIsDeliveredOnce) {
  const size_t a = add(config());
  RawPeer p(test_network());
  ASSERT_TRUE(p.handshake(host(a).port()).ok());
  ASSERT_TRUE(wait_for([&] { return has_peer(a, p.id()); }));
  p.send_frame(40, kFlagGossip, util::Bytes{5});
  p.send_frame(40, kFlagGossip, util::Bytes{5});
  p.send_frame(40, 0, util::Bytes{5});  // a direct message is not filtered
  ASSERT_TRUE(wait_for([&] { return rec(a).message_count() == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(rec(a).message_count(), 2u);
  EXPECT_EQ(host(a).stats().gossip_duplicates, 1u);
}

TEST_F(AbuseTest, FloodTripsTheRateLimitAndEndsInABan) {
  NetConfig c = config();
  c.rate_messages_per_second = 20;
  c.rate_messages_burst = 20;
  c.penalty_rate_limited = 1;
  c.ban_threshold = 100;
  const size_t a = add(c);
  RawPeer p(test_network());
  ASSERT_TRUE(p.handshake(host(a).port()).ok());
  ASSERT_TRUE(wait_for([&] { return has_peer(a, p.id()); }));
  for (int i = 0; i < 300; ++i)
    p.send_frame(40, 0, util::Bytes{static_cast<uint8_t>(i)});
  EXPECT_TRUE(p.closed_by_host(3000));
  ASSERT_TRUE(wait_for([&] { return host(a).is_banned(p.id()); }));
  EXPECT_GE(host(a).stats().rate_limited, 100u);
  // About the burst got through (plus what refilled while the flood arrived), not the flood.
  EXPECT_GE(rec(a).message_count(), 20u);
  EXPECT_LT(rec(a).message_count(), 60u);
}

TEST_F(AbuseTest, PeerThatNeverReadsIsDropped) {
  NetConfig c = config();
  c.max_message_bytes = 1 << 20;
  c.rate_bytes_burst = 4 << 20;
  c.max_write_queue_bytes = 3 << 20;
  const size_t a = add(c);
  RawPeer p(test_network());
  ASSERT_TRUE(p.connect(host(a).port()));
  p.set_receive_buffer(4096);
  ASSERT_TRUE(p.handshake_on_connected().ok());
  ASSERT_TRUE(wait_for([&] { return has_peer(a, p.id()); }));
  const util::Bytes mib(1 << 20, 0xAB);
  for (int i = 0; i < 64 && has_peer(a, p.id()); ++i) {
    host(a).send(p.id(), 40, mib);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(wait_for([&] { return !has_peer(a, p.id()); }));
  EXPECT_GE(host(a).stats().slow_peers_dropped, 1u);
  EXPECT_TRUE(wait_for([&] { return rec(a).disconnected().size() == 1; }));
}

TEST_F(AbuseTest, StalledWriteTimesOut) {
  NetConfig c = config();
  c.write_timeout_ms = 300;
  const size_t a = add(c);
  RawPeer p(test_network());
  ASSERT_TRUE(p.connect(host(a).port()));
  p.set_receive_buffer(4096);
  ASSERT_TRUE(p.handshake_on_connected().ok());
  ASSERT_TRUE(wait_for([&] { return has_peer(a, p.id()); }));
  host(a).send(p.id(), 40, util::Bytes(8 << 20, 1));  // fits the queue, never drains
  ASSERT_TRUE(wait_for([&] { return !has_peer(a, p.id()); }, 5000));
  EXPECT_TRUE(wait_for([&] { return rec(a).disconnected().size() == 1; }));
}

TEST_F(AbuseTest, SilentPeerIsDroppedAfterTheIdleTimeout) {
  NetConfig c = config();
  c.idle_timeout_ms = 300;
  c.ping_interval_ms = 100;
  const size_t a = add(c);
  RawPeer p(test_network());
  ASSERT_TRUE(p.handshake(host(a).port()).ok());  // never answers pings
  ASSERT_TRUE(wait_for([&] { return has_peer(a, p.id()); }));
  EXPECT_TRUE(p.closed_by_host(3000));
  EXPECT_FALSE(host(a).is_banned(p.id()));  // idleness is not misbehaviour
}

}  // namespace
}  // namespace imet::net::testing
