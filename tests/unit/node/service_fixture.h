// Test fixture for ConsensusService over real sockets (shared by the service's unit tests): a
// service on 127.0.0.1 (real net::Host, Noise XX) over a node::Chain whose only witness is not
// running, so nothing becomes final and pending state stays observable; alice is a funded
// delegate; TestPeers are plain net::Hosts that record every message they receive, by type.
// Thread-safety: ServiceLink/TestPeer members are guarded by its mutex (hosts call it on the I/O
// thread).
#pragma once

#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <gtest/gtest.h>

#include "ledger/genesis.h"
#include "node/consensus_service.h"
#include "node/p2p_protocol.h"
#include "store/memory_store.h"

namespace imet::node {

using namespace std::chrono_literals;

inline crypto::SigningKey key(uint8_t b) {
  crypto::Seed s{};
  s.fill(b);
  return crypto::SigningKey::from_seed(s);
}

inline ledger::Address address(const crypto::SigningKey& k) {
  return crypto::address_bytes_of(k.public_key());
}

// A P2P peer's view of its link to the service: connected/disconnected, and a wait on them (or
// on anything else the derived peer keeps under `mu`). Test peers learn each other's addresses
// from the service and may connect to each other too: only the link to the service counts.
struct ServiceLink : net::Handler {
  explicit ServiceLink(net::PeerId service_id) : expected(service_id) {}
  const net::PeerId expected;  // the service's identity
  std::mutex mu;
  std::condition_variable cv;
  bool connected = false;     // to the service
  bool disconnected = false;  // from the service
  std::optional<net::PeerId> service;

  void on_peer_connected(const net::PeerId& id, const net::PeerInfo&) override {
    if (id != expected) return;
    std::lock_guard lock(mu);
    connected = true;
    service = id;
    cv.notify_all();
  }
  void on_peer_disconnected(const net::PeerId& id) override {
    if (id != expected) return;
    std::lock_guard lock(mu);
    disconnected = true;
    cv.notify_all();
  }
  template <typename Pred>
  bool wait(Pred pred, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, pred);
  }
};

// A P2P peer that records what the service sends it.
struct TestPeer final : ServiceLink {
  using ServiceLink::ServiceLink;
  std::map<uint8_t, std::vector<util::Bytes>> received;  // the service's payloads by type
  std::vector<util::Bytes>& evidence = received[p2p::kEvidence];

  void on_message(const net::PeerId& from, uint8_t type, util::ByteSpan payload) override {
    if (from != expected) return;
    std::lock_guard lock(mu);
    received[type].emplace_back(payload.begin(), payload.end());
    cv.notify_all();
  }
};

class ServiceFixture : public ::testing::Test {
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
    auto svc = ConsensusService::start(io_, *chain_, chain_mu_, db_, node_key_, config,
                                       genesis_.hash(), sync_options_);
    ASSERT_TRUE(svc.ok()) << svc.status().to_string();
    service_ = std::move(svc).value();
  }
  void TearDown() override {
    for (auto& h : hosts_)
      h->stop();
    if (service_) service_->stop();
    work_.reset();
    // Host::stop() only posts the closing of its links (a link holds its host): let that and the
    // aborted operations it causes run before stopping the loop, or the host-link pairs leak.
    for (int round = 0; round < 3; ++round) {
      std::promise<void> drained;
      boost::asio::post(io_, [&drained] { drained.set_value(); });
      drained.get_future().wait_for(2s);
      std::this_thread::sleep_for(20ms);
    }
    io_.stop();
    if (io_thread_.joinable()) io_thread_.join();
  }

  // A new test peer, owned by the fixture: hosts may call it until TearDown() joins the I/O thread.
  TestPeer& new_peer() {
    return *peers_.emplace_back(std::make_unique<TestPeer>(node_key_.public_key()));
  }

  std::shared_ptr<net::Host> connect(ServiceLink& peer) {
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
  SyncOptions sync_options_;  // a derived fixture may change them in its constructor
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

}  // namespace imet::node
