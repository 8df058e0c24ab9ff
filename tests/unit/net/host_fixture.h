// Test fixture for hosts over real sockets on 127.0.0.1: an io_context with two threads, hosts
// with a recording Handler (optionally relaying gossip, as the node will), and wait helpers.
// Thread-safety: Recorder is locked; the fixture itself is used from the test thread.
// Invariants: TearDown stops every host and joins the io threads before anything is destroyed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "net/host.h"

namespace imet::net::testing {

inline util::ByteArray<32> test_network(uint8_t fill = 0x42) {
  util::ByteArray<32> n{};
  n.fill(fill);
  return n;
}

// Polls `pred` until true or `ms` elapsed.
inline bool wait_for(const std::function<bool()>& pred, int ms = 5000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

class Recorder final : public Handler {
 public:
  struct Msg {
    PeerId from;
    uint8_t type;
    util::Bytes payload;
  };

  void on_peer_connected(const PeerId& id, const PeerInfo& info) override {
    std::lock_guard lock(mu_);
    connected_.push_back(id);
    infos_.push_back(info);
  }
  void on_peer_disconnected(const PeerId& id) override {
    std::lock_guard lock(mu_);
    disconnected_.push_back(id);
  }
  void on_message(const PeerId& from, uint8_t type, util::ByteSpan payload) override {
    std::shared_ptr<Host> relay_to;
    {
      std::lock_guard lock(mu_);
      messages_.push_back({from, type, util::Bytes(payload.begin(), payload.end())});
      if (relay_) relay_to = host_.lock();
    }
    if (relay_to) relay_to->broadcast(type, util::Bytes(payload.begin(), payload.end()), from);
  }

  void relay_through(const std::shared_ptr<Host>& host) {
    std::lock_guard lock(mu_);
    host_ = host;
    relay_ = true;
  }
  std::vector<Msg> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  size_t message_count() const {
    std::lock_guard lock(mu_);
    return messages_.size();
  }
  std::vector<PeerId> connected() const {
    std::lock_guard lock(mu_);
    return connected_;
  }
  std::vector<PeerInfo> infos() const {
    std::lock_guard lock(mu_);
    return infos_;
  }
  std::vector<PeerId> disconnected() const {
    std::lock_guard lock(mu_);
    return disconnected_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<PeerId> connected_;
  std::vector<PeerInfo> infos_;
  std::vector<PeerId> disconnected_;
  std::vector<Msg> messages_;
  std::weak_ptr<Host> host_;
  bool relay_ = false;
};

class HostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    work_.emplace(boost::asio::make_work_guard(io_));
    for (int i = 0; i < 2; ++i)
      threads_.emplace_back([this] { io_.run(); });
  }
  void TearDown() override {
    for (auto& h : hosts_)
      h->stop();
    work_.reset();
    for (auto& t : threads_)
      t.join();
  }

  // Fast timers for tests; everything else at its default.
  static NetConfig config(std::vector<std::string> seeds = {}) {
    NetConfig c;
    c.listen_host = "127.0.0.1";
    c.listen_port = 0;
    c.seeds = std::move(seeds);
    c.network_id = test_network();
    c.software_version = "test/1";
    c.tick_ms = 20;
    c.dial_backoff_min_ms = 50;
    c.dial_backoff_max_ms = 400;
    c.handshake_timeout_ms = 2000;
    return c;
  }
  static std::string addr(const Host& h) { return "127.0.0.1:" + std::to_string(h.port()); }

  // Starts a host; index into hosts()/recorder().
  size_t add(NetConfig c) {
    recorders_.push_back(std::make_unique<Recorder>());
    auto r = Host::start(io_, std::move(c), crypto::SigningKey::generate(), *recorders_.back());
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    hosts_.push_back(*r);
    return hosts_.size() - 1;
  }
  Host& host(size_t i) { return *hosts_[i]; }
  Recorder& rec(size_t i) { return *recorders_[i]; }
  bool has_peer(size_t i, const PeerId& id) {
    for (const auto& p : hosts_[i]->peers()) {
      if (p.id == id) return true;
    }
    return false;
  }

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<Recorder>> recorders_;
  std::vector<std::shared_ptr<Host>> hosts_;
};

}  // namespace imet::net::testing
