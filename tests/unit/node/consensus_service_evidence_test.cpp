// ConsensusService's evidence gossip over real sockets: a service on 127.0.0.1 (real net::Host,
// Noise XX) over a node::Chain whose only witness is not running, so nothing becomes final and the
// pending pool stays observable, and test peers that are plain net::Hosts. Valid evidence sent to
// the service is accepted and gossiped (the sender, which sent it directly, gets it back); a
// peer that connects later receives the pending pool; an undecodable evidence message gets the
// sender banned; evidence against a key that is no delegate scores the sender down without a
// relay.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <gtest/gtest.h>

#include "ledger/genesis.h"
#include "node/consensus_service.h"
#include "store/memory_store.h"

namespace imet::node {
namespace {

using namespace std::chrono_literals;

crypto::SigningKey key(uint8_t b) {
  crypto::Seed s{};
  s.fill(b);
  return crypto::SigningKey::from_seed(s);
}

ledger::Address address(const crypto::SigningKey& k) {
  return crypto::address_bytes_of(k.public_key());
}

ledger::Evidence evidence(const crypto::SigningKey& k, const std::string& chain, uint64_t height,
                          uint32_t attempt = 0) {
  auto vote = [&](uint8_t fill) {
    ledger::WitnessVote v;
    v.chain_id = chain;
    v.height = height;
    v.attempt = attempt;
    v.block_hash.fill(fill);
    v.sign(k);
    return v;
  };
  return *ledger::make_evidence(vote(1), vote(2));
}

// A P2P peer that records what it receives.
struct TestPeer final : net::Handler {
  std::mutex mu;
  std::condition_variable cv;
  bool connected = false;
  bool disconnected = false;
  std::optional<net::PeerId> service;
  std::vector<util::Bytes> evidence;  // kEvidence payloads received

  void on_peer_connected(const net::PeerId& id, const net::PeerInfo&) override {
    std::lock_guard lock(mu);
    connected = true;
    service = id;
    cv.notify_all();
  }
  void on_peer_disconnected(const net::PeerId&) override {
    std::lock_guard lock(mu);
    disconnected = true;
    cv.notify_all();
  }
  void on_message(const net::PeerId&, uint8_t type, util::ByteSpan payload) override {
    if (type != p2p::kEvidence) return;
    std::lock_guard lock(mu);
    evidence.emplace_back(payload.begin(), payload.end());
    cv.notify_all();
  }
  template <typename Pred>
  bool wait(Pred pred, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, pred);
  }
};

class ServiceEvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The absent witness is the only one elected; alice is a delegate; this node only observes.
    genesis_ = ledger::make_testnet_genesis({address(witness_), address(alice_)}, 1'000, "sv", 500);
    genesis_.params.n_min = 1;
    genesis_.params.n_max = 1;
    for (auto& a : genesis_.accounts)
      a.votes = {address(witness_)};
    ASSERT_TRUE(genesis_.validate().ok());
    chain_ = Chain::open(db_, genesis_, {.serial_verifier = true}).value();
    NodeConfig config;
    config.p2p = {"127.0.0.1", 0};
    io_thread_ = std::thread([this] { io_.run(); });  // start() waits on the service strand
    auto svc =
        ConsensusService::start(io_, *chain_, chain_mu_, db_, node_key_, config, genesis_.hash());
    ASSERT_TRUE(svc.ok()) << svc.status().to_string();
    service_ = std::move(svc).value();
  }
  void TearDown() override {
    for (auto& h : hosts_)
      h->stop();
    if (service_) service_->stop();
    work_.reset();
    io_.stop();
    if (io_thread_.joinable()) io_thread_.join();
  }

  // A new test peer, owned by the fixture: hosts may call it until TearDown() joins the I/O thread.
  TestPeer& new_peer() { return *peers_.emplace_back(std::make_unique<TestPeer>()); }

  std::shared_ptr<net::Host> connect(TestPeer& peer) {
    net::NetConfig nc;
    nc.listen_host = "127.0.0.1";
    nc.seeds = {"127.0.0.1:" + std::to_string(service_->p2p_port())};
    const ledger::Hash gh = genesis_.hash();
    std::copy(gh.begin(), gh.end(), nc.network_id.begin());
    auto host = net::Host::start(io_, nc, crypto::SigningKey::generate(), peer);
    EXPECT_TRUE(host.ok()) << host.status().to_string();
    hosts_.push_back(*host);
    EXPECT_TRUE(peer.wait([&] { return peer.connected; }));
    return *host;
  }

  crypto::SigningKey witness_ = key(80), alice_ = key(81), stranger_ = key(82);
  crypto::SigningKey node_key_ = key(83);
  ledger::Genesis genesis_;
  store::MemoryStore db_;
  std::mutex chain_mu_;
  std::unique_ptr<Chain> chain_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::unique_ptr<ConsensusService> service_;
  std::vector<std::unique_ptr<TestPeer>> peers_;
  std::vector<std::shared_ptr<net::Host>> hosts_;
  std::thread io_thread_;
};

TEST_F(ServiceEvidenceTest, ValidEvidenceIsGossipedAndGivenToPeersThatConnectLater) {
  TestPeer& a = new_peer();
  auto host_a = connect(a);
  const util::Bytes ev = codec::encode(evidence(alice_, "sv", 1));
  host_a->send(*a.service, p2p::kEvidence, ev);
  // Accepted and gossiped: `a` sent it directly (not as gossip), so the relay reaches it too.
  ASSERT_TRUE(a.wait([&] { return !a.evidence.empty(); })) << "no relay of accepted evidence";
  {
    std::lock_guard lock(a.mu);
    EXPECT_EQ(a.evidence[0], ev);
  }
  // A peer that connects afterwards gets the pending pool.
  TestPeer& b = new_peer();
  connect(b);
  ASSERT_TRUE(b.wait([&] { return !b.evidence.empty(); })) << "pending evidence not sent";
  {
    std::lock_guard lock(b.mu);
    EXPECT_EQ(b.evidence[0], ev);
  }
  // The same evidence again is a duplicate: not relayed a second time, and `a` stays connected.
  host_a->send(*a.service, p2p::kEvidence, ev);
  EXPECT_FALSE(a.wait([&] { return a.evidence.size() > 1 || a.disconnected; }, 1s));
}

TEST_F(ServiceEvidenceTest, MalformedEvidenceBansTheSender) {
  TestPeer& a = new_peer();
  auto host_a = connect(a);
  util::Bytes garbage = codec::encode(evidence(alice_, "sv", 1));
  garbage.resize(garbage.size() - 10);  // truncated: does not decode
  host_a->send(*a.service, p2p::kEvidence, garbage);
  EXPECT_TRUE(a.wait([&] { return a.disconnected; })) << "sender of malformed evidence kept";
  std::lock_guard lock(a.mu);
  EXPECT_TRUE(a.evidence.empty());
}

TEST_F(ServiceEvidenceTest, InvalidEvidenceIsNotRelayedAndScoresTheSenderDown) {
  TestPeer& a = new_peer();
  auto host_a = connect(a);
  // Signed correctly, but the offender is no delegate: invalid (25 points each; ban at 100).
  for (uint32_t attempt = 0; attempt < 4; ++attempt) {
    host_a->send(*a.service, p2p::kEvidence, codec::encode(evidence(stranger_, "sv", 1, attempt)));
  }
  EXPECT_TRUE(a.wait([&] { return a.disconnected; })) << "repeated invalid evidence tolerated";
  std::lock_guard lock(a.mu);
  EXPECT_TRUE(a.evidence.empty());
}

}  // namespace
}  // namespace imet::node
