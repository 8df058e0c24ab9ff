// Duplicate connections to one identity, driven step by step with hand-driven peers (RawPeer) so
// that each ordering of a simultaneous dial is exercised deterministically: both sides keep the
// connection initiated by the lower key, only the initiator of the other one closes it, the
// connection in use is never closed under the peer, and no duplicate surfaces as a disconnect.
#include <gtest/gtest.h>

#include "host_fixture.h"
#include "raw_peer.h"

namespace imet::net::testing {
namespace {

class DuplicateTest : public HostTest {
 protected:
  // Dials `peer_listener` at start, then never again (the only tick with work is the first one),
  // so the peer snapshot changes only on connection events.
  static NetConfig dialling(const RawListener& peer_listener) {
    NetConfig c = config({peer_listener.address()});
    c.tick_ms = 60'000;
    return c;
  }
  // A key whose public key sorts below (or above) `than`.
  static crypto::SigningKey key_ordered(const PeerId& than, bool lower) {
    while (true) {
      auto k = crypto::SigningKey::generate();
      if ((k.public_key() < than) == lower) return k;
    }
  }
  std::optional<PeerInfo> peer_info(size_t h, const PeerId& id) {
    for (const auto& p : host(h).peers()) {
      if (p.id == id) return p;
    }
    return std::nullopt;
  }
  // The next frame of `type` from the host, skipping others (GETADDR, ADDR).
  static std::optional<Frame> read_type(RawPeer& p, uint8_t type, int timeout_ms = 3000) {
    while (auto f = p.read_frame(timeout_ms)) {
      if (f->type == type) return f;
    }
    return std::nullopt;
  }
  // The connection still works both ways.
  void expect_usable(size_t h, RawPeer& p) {
    host(h).send(p.id(), 40, util::Bytes{4, 0});
    auto f = read_type(p, 40);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->payload, (util::Bytes{4, 0}));
    const size_t before = rec(h).message_count();
    p.send_frame(41, 0, util::Bytes{4, 1});
    ASSERT_TRUE(wait_for([&] { return rec(h).message_count() == before + 1; }));
    EXPECT_EQ(rec(h).messages().back().from, p.id());
  }
  void expect_one_connect_no_disconnect(size_t h) {
    // on_link_closed of a dropped connection is posted: give it time to run.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(host(h).peers().size(), 1u);
    EXPECT_EQ(rec(h).connected().size(), 1u);
    EXPECT_TRUE(rec(h).disconnected().empty());
  }
};

// The host has the higher key. Its own connection is up first; the peer's arrives second and wins:
// the host moves to it, closes its own, and reports nothing.
TEST_F(DuplicateTest, HigherKeyMovesToTheLowerKeysConnectionAndClosesItsOwn) {
  RawListener listener;
  ASSERT_NE(listener.port(), 0);
  const size_t h = add(dialling(listener));
  const auto key = key_ordered(host(h).id(), /*lower=*/true);
  RawPeer ours(test_network(), key);  // dialled by the host: it loses the tie-break
  ASSERT_TRUE(ours.respond(listener.accept(), listener.port()).ok());
  ASSERT_TRUE(wait_for([&] { return has_peer(h, key.public_key()); }));
  EXPECT_TRUE(peer_info(h, key.public_key())->outbound);

  RawPeer theirs(test_network(), key);
  ASSERT_TRUE(theirs.handshake(host(h).port()).ok());
  EXPECT_TRUE(ours.closed_by_host(3000));
  // The snapshot follows the move at once (the next tick is a minute away).
  ASSERT_TRUE(peer_info(h, key.public_key()).has_value());
  EXPECT_FALSE(peer_info(h, key.public_key())->outbound);
  expect_one_connect_no_disconnect(h);
  EXPECT_EQ(host(h).stats().duplicate_connections, 1u);
  expect_usable(h, theirs);
}

// The host has the lower key. The peer's connection is up first (the peer may be using it); the
// host's own arrives second and wins. The host must not close the peer's connection: the peer
// could see that before the winner is ready on its side, and report a disconnect. It moves to its
// own connection, asks for addresses on it, and lets the peer close the other.
TEST_F(DuplicateTest, LowerKeyLeavesThePeersConnectionForThePeerToClose) {
  RawListener listener;
  ASSERT_NE(listener.port(), 0);
  const size_t h = add(dialling(listener));
  const auto key = key_ordered(host(h).id(), /*lower=*/false);
  RawPeer theirs(test_network(), key);  // dialled by the peer: it loses the tie-break
  ASSERT_TRUE(theirs.handshake(host(h).port()).ok());
  ASSERT_TRUE(wait_for([&] { return has_peer(h, key.public_key()); }));
  EXPECT_FALSE(peer_info(h, key.public_key())->outbound);

  RawPeer ours(test_network(), key);
  ASSERT_TRUE(ours.respond(listener.accept(), listener.port()).ok());
  EXPECT_FALSE(theirs.closed_by_host(300));
  ASSERT_TRUE(wait_for([&] { return peer_info(h, key.public_key())->outbound; }));
  auto getaddr = ours.read_frame(3000);  // per connection: asked again on the new one
  ASSERT_TRUE(getaddr.has_value());
  EXPECT_EQ(getaddr->type, static_cast<uint8_t>(NetMessage::kGetAddr));
  // What the peer sent on its connection before closing it is still delivered.
  theirs.send_frame(42, 0, util::Bytes{4, 2});
  ASSERT_TRUE(wait_for([&] { return rec(h).message_count() == 1; }));
  theirs.close();
  expect_one_connect_no_disconnect(h);
  EXPECT_TRUE(peer_info(h, key.public_key())->outbound);
  expect_usable(h, ours);
}

// The host has the lower key and its own connection is up first; the peer's arrives second and
// loses. The host leaves it open for the peer to close, and closes it itself only if the peer
// has not after a handshake timeout.
TEST_F(DuplicateTest, LowerKeyClosesALosingConnectionThePeerKeepsOpen) {
  RawListener listener;
  ASSERT_NE(listener.port(), 0);
  NetConfig c = config({listener.address()});
  c.handshake_timeout_ms = 500;
  const size_t h = add(c);
  const auto key = key_ordered(host(h).id(), /*lower=*/false);
  RawPeer ours(test_network(), key);
  ASSERT_TRUE(ours.respond(listener.accept(), listener.port()).ok());
  ASSERT_TRUE(wait_for([&] { return has_peer(h, key.public_key()); }));

  RawPeer theirs(test_network(), key);
  ASSERT_TRUE(theirs.handshake(host(h).port()).ok());
  EXPECT_TRUE(theirs.closed_by_host(5000));
  expect_one_connect_no_disconnect(h);
  EXPECT_TRUE(peer_info(h, key.public_key())->outbound);
  EXPECT_EQ(host(h).stats().duplicate_connections, 1u);
  expect_usable(h, ours);
}

// The peer dialled twice (two addresses, or a restart): its own order decides which connection
// it keeps, so the host closes neither and stays connected through whichever survives.
TEST_F(DuplicateTest, TwoConnectionsFromThePeerSurviveTheOneItCloses) {
  NetConfig c = config();
  c.tick_ms = 60'000;
  const size_t h = add(c);
  RawPeer first(test_network());
  ASSERT_TRUE(first.handshake(host(h).port()).ok());
  ASSERT_TRUE(wait_for([&] { return has_peer(h, first.id()); }));
  RawPeer second(test_network(), first.key());
  ASSERT_TRUE(second.handshake(host(h).port()).ok());
  ASSERT_TRUE(wait_for([&] { return host(h).stats().duplicate_connections == 1; }));
  EXPECT_FALSE(first.closed_by_host(200));
  EXPECT_FALSE(second.closed_by_host(200));
  second.close();  // the host was using the newer one
  expect_one_connect_no_disconnect(h);
  expect_usable(h, first);
}

}  // namespace
}  // namespace imet::net::testing
