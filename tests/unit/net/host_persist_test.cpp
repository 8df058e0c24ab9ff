// net::Host with a peers file (NetConfig::peers_file) over real sockets on 127.0.0.1: a banned
// identity is still refused after the host restarts; a ban that expired while the host was down is
// dropped on load, and one further out than ban_seconds is cut to it; addresses learned in one run
// are dialled in the next; a garbage file is ignored (the host starts, with nothing banned) and
// replaced by a valid one.
// Thread-safety: see host_fixture.h. Invariants: every test works in its own temporary directory.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "host_fixture.h"
#include "net/peer_file.h"
#include "util/clock.h"
#include "util/fs.h"

namespace imet::net::testing {
namespace {

class HostPersistTest : public HostTest {
 protected:
  void SetUp() override {
    HostTest::SetUp();
    std::string tmpl = (std::filesystem::temp_directory_path() / "imet-peers-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    file_ = dir_ + "/p2p_peers.json";
  }
  void TearDown() override {
    HostTest::TearDown();
    std::filesystem::remove_all(dir_);
  }

  NetConfig persisted(std::vector<std::string> seeds = {}) {
    NetConfig c = config(std::move(seeds));
    c.peers_file = file_;
    c.peers_save_interval_ms = 50;
    return c;
  }
  // Like add(), with a given identity (a restarted node keeps its key).
  size_t add_with(NetConfig c, const crypto::SigningKey& key) {
    recorders_.push_back(std::make_unique<Recorder>());
    auto r = Host::start(io_, std::move(c), key, *recorders_.back());
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    hosts_.push_back(*r);
    return hosts_.size() - 1;
  }
  PeerFileData read_back() {
    auto text = util::read_file(file_);
    EXPECT_TRUE(text.ok()) << text.status().to_string();
    auto d = decode_peer_file(text.ok() ? *text : "");
    EXPECT_TRUE(d.ok()) << d.status().to_string();
    return d.ok() ? *d : PeerFileData{};
  }
  void write(const std::string& text) {
    std::ofstream(file_, std::ios::binary | std::ios::trunc) << text;
  }
  static int64_t now_unix() { return util::SystemClock::instance().now_unix_ms(); }

  std::string dir_, file_;
  crypto::SigningKey key_a_ = crypto::SigningKey::generate();
  crypto::SigningKey key_b_ = crypto::SigningKey::generate();
};

TEST_F(HostPersistTest, ABannedPeerIsStillRefusedAfterARestart) {
  const size_t a = add_with(persisted(), key_a_);
  const size_t b = add_with(config({addr(host(a))}), key_b_);
  ASSERT_TRUE(wait_for([&] { return has_peer(a, host(b).id()); }));
  host(a).penalize(host(b).id(), 100, "invalid block");
  ASSERT_TRUE(wait_for([&] { return host(a).is_banned(host(b).id()); }));
  host(b).stop();
  host(a).stop();  // writes the file
  const PeerFileData saved = read_back();
  ASSERT_EQ(saved.banned_ids.size(), 1u);
  EXPECT_EQ(saved.banned_ids[0].first, host(b).id());
  EXPECT_GT(saved.banned_ids[0].second, now_unix() + 3'500'000);  // ban_seconds 3600
  EXPECT_TRUE(saved.banned_ips.empty());                          // loopback is not IP-banned

  // The restarted node (same key, new port) refuses b at once; another peer gets in.
  const size_t a2 = add_with(persisted(), key_a_);
  EXPECT_TRUE(host(a2).is_banned(key_b_.public_key()));
  const size_t b2 = add_with(config({addr(host(a2))}), key_b_);
  ASSERT_TRUE(wait_for([&] { return host(a2).stats().refused_banned >= 1; }));
  const size_t c = add(config({addr(host(a2))}));
  ASSERT_TRUE(wait_for([&] { return has_peer(a2, host(c).id()); }));
  EXPECT_FALSE(has_peer(a2, host(b2).id()));
  EXPECT_EQ(rec(a2).connected().size(), 1u);
}

TEST_F(HostPersistTest, ExpiredBansAreDroppedOnLoadAndLongOnesCut) {
  PeerId expired{}, current{}, far{};
  expired.fill(1);
  current.fill(2);
  far.fill(3);
  PeerFileData d;
  d.banned_ids = {{expired, now_unix() - 1000},
                  {current, now_unix() + 30'000},
                  {far, now_unix() + 10LL * 365 * 24 * 3'600'000}};
  d.banned_ips = {{"203.0.113.5", now_unix() - 1}, {"203.0.113.6", now_unix() + 30'000}};
  write(encode_peer_file(d));
  NetConfig c = persisted();
  c.ban_seconds = 60;
  const size_t a = add(c);
  EXPECT_FALSE(host(a).is_banned(expired));
  EXPECT_TRUE(host(a).is_banned(current));
  EXPECT_TRUE(host(a).is_banned(far));
  host(a).stop();
  const PeerFileData back = read_back();
  ASSERT_EQ(back.banned_ids.size(), 2u);
  for (const auto& [id, until] : back.banned_ids) {
    EXPECT_NE(id, expired);
    EXPECT_LE(until, now_unix() + 60'000);  // at most ban_seconds from now
  }
  ASSERT_EQ(back.banned_ips.size(), 1u);
  EXPECT_EQ(back.banned_ips[0].first, "203.0.113.6");
}

TEST_F(HostPersistTest, LearnedAddressesAreDialledAfterARestart) {
  const size_t b = add(config());
  const size_t a = add_with(persisted(), key_a_);
  EXPECT_EQ(host(a).add_addresses({addr(host(b))}), 1u);
  ASSERT_TRUE(wait_for([&] { return has_peer(a, host(b).id()); }));
  host(a).stop();
  const PeerFileData saved = read_back();  // b, and maybe a's own address b told it about
  auto it = std::find_if(
      saved.addresses.begin(), saved.addresses.end(),
      [&](const AddrBook::Saved& s) { return s.endpoint.to_string() == addr(host(b)); });
  ASSERT_NE(it, saved.addresses.end());
  EXPECT_EQ(it->source, AddrSource::kNode);
  // No seeds and nothing added: the restarted host finds b through the file alone.
  const size_t a2 = add_with(persisted(), key_a_);
  ASSERT_TRUE(wait_for([&] { return has_peer(a2, host(b).id()); }));
}

TEST_F(HostPersistTest, AGarbageFileIsIgnoredAndReplaced) {
  for (const std::string& garbage :
       {std::string("\x00\xff garbage \x01", 13), std::string("{\"version\": 1, \"banned_ids\": ["),
        std::string(R"({"version": 1, "banned_ids": [{"id": "zz", "until_unix_ms": 1}]})")}) {
    write(garbage);
    const size_t a = add(persisted());
    EXPECT_EQ(host(a).stats().bans, 0u);
    const size_t b = add(config({addr(host(a))}));
    ASSERT_TRUE(wait_for([&] { return has_peer(a, host(b).id()); }));
    host(a).stop();
    const PeerFileData back = read_back();  // valid again
    EXPECT_TRUE(back.banned_ids.empty());
  }
  // A directory where the file should be: cannot be read or written; the host still runs.
  std::filesystem::remove(file_);
  std::filesystem::create_directory(file_);
  const size_t a = add(persisted());
  const size_t b = add(config({addr(host(a))}));
  ASSERT_TRUE(wait_for([&] { return has_peer(a, host(b).id()); }));
}

}  // namespace
}  // namespace imet::net::testing
