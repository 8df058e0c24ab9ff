// Connection timeouts: the Deadlines sweep on its own (fires a passed deadline once, never a
// stale or removed one), and through a real MqttServer with TCP clients (connect timeout, keep
// alive timeout, a pinging client kept) now that connections have no timer of their own.
// Thread-safety: the server runs on one io_context thread; the test thread only uses sockets.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <future>
#include <iterator>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "mqtt/broker/access.h"
#include "mqtt/broker/broker.h"
#include "mqtt/broker/deadlines.h"
#include "mqtt/broker/persistence.h"
#include "mqtt/broker/server.h"
#include "store/memory_store.h"
#include "util/clock.h"

namespace imet::mqtt::broker {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

struct Item : Deadlines::Entry {
  int fired = 0;
};

Deadlines counting() {
  return Deadlines([](Deadlines::Entry& e) { ++static_cast<Item&>(e).fired; });
}

TEST(Deadlines, FiresAPassedDeadlineOnce) {
  Deadlines d = counting();
  Item a, b, c;
  d.add(a);
  d.add(b);
  d.add(c);
  EXPECT_EQ(d.size(), 3u);
  Deadlines::set(a, milliseconds(1));
  Deadlines::set(b, milliseconds(60'000));
  std::this_thread::sleep_for(milliseconds(5));
  EXPECT_EQ(d.sweep(), 1u);
  EXPECT_EQ(a.fired, 1);
  EXPECT_EQ(b.fired, 0);
  EXPECT_EQ(c.fired, 0);  // no deadline
  EXPECT_FALSE(Deadlines::armed(a));
  EXPECT_TRUE(Deadlines::armed(b));
  EXPECT_EQ(d.sweep(), 0u);  // taken: not again
  EXPECT_EQ(a.fired, 1);
  d.remove(a);
  d.remove(b);
  d.remove(c);
}

TEST(Deadlines, ClearedRearmedAndRemovedEntriesDoNotFire) {
  Deadlines d = counting();
  Item cleared, rearmed, removed;
  d.add(cleared);
  d.add(rearmed);
  d.add(removed);
  Deadlines::set(cleared, milliseconds(1));
  Deadlines::set(rearmed, milliseconds(1));
  Deadlines::set(removed, milliseconds(1));
  Deadlines::set(cleared, milliseconds(0));
  Deadlines::set(rearmed, milliseconds(60'000));
  d.remove(removed);
  d.remove(removed);  // idempotent
  EXPECT_EQ(d.size(), 2u);
  std::this_thread::sleep_for(milliseconds(5));
  EXPECT_EQ(d.sweep(), 0u);
  EXPECT_EQ(cleared.fired + rearmed.fired + removed.fired, 0);
  d.remove(cleared);
  d.remove(rearmed);
  EXPECT_EQ(d.size(), 0u);
}

TEST(Deadlines, PeriodicSweepOnTheIoContext) {
  boost::asio::io_context io;
  Deadlines d([](Deadlines::Entry& e) { ++static_cast<Item&>(e).fired; }, milliseconds(10));
  Item a;
  d.add(a);
  Deadlines::set(a, milliseconds(30));
  d.start(io);
  io.run_for(milliseconds(200));
  EXPECT_EQ(a.fired, 1);
  d.stop();
  d.remove(a);
}

// A 3.1.1 CONNECT, clean session, no will, user or password.
std::vector<uint8_t> connect_311(const std::string& client_id, uint16_t keep_alive) {
  const uint8_t head[] = {0x10,
                          static_cast<uint8_t>(12 + client_id.size()),
                          0,
                          4,
                          'M',
                          'Q',
                          'T',
                          'T',
                          4,
                          0x02,
                          static_cast<uint8_t>(keep_alive >> 8),
                          static_cast<uint8_t>(keep_alive & 0xFF),
                          0,
                          static_cast<uint8_t>(client_id.size())};
  std::vector<uint8_t> p(sizeof head + client_id.size());
  std::copy(std::begin(head), std::end(head), p.begin());
  std::copy(client_id.begin(), client_id.end(), p.begin() + sizeof head);
  return p;
}

class ServerTimeoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BrokerConfig cfg;
    cfg.connect_timeout = milliseconds(300);
    broker_ = std::make_unique<Broker>(cfg, util::SystemClock::instance());
    if (persist_ != nullptr) broker_->set_persistence(persist_.get());
    server_ = std::make_unique<MqttServer>(io_, *broker_, access_);
    auto port = server_->listen_tcp("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status().message();
    port_ = *port;
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    for (int fd : fds_)
      ::close(fd);
    server_->stop();
    broker_->shutdown(milliseconds(2000));
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    broker_.reset();
    persist_.reset();
  }

  int open_socket() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(fd, 0);
    fds_.push_back(fd);
    EXPECT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    timeval tv{5, 0};  // no test waits longer for the server
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }
  int connect_client(uint16_t keep_alive) {
    const int fd = open_socket();
    const auto pkt = connect_311("timeout-client-" + std::to_string(fds_.size()), keep_alive);
    EXPECT_EQ(::send(fd, pkt.data(), pkt.size(), 0), static_cast<ssize_t>(pkt.size()));
    uint8_t ack[4];
    EXPECT_EQ(::recv(fd, ack, sizeof ack, MSG_WAITALL), 4);
    EXPECT_EQ(ack[0], 0x20);
    return fd;
  }
  // Milliseconds until the server closes `fd` (reads until EOF; -1 on timeout or error).
  static int64_t ms_until_closed(int fd, Clock::time_point from) {
    uint8_t buf[64];
    for (;;) {
      const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
      if (r == 0) {
        return std::chrono::duration_cast<milliseconds>(Clock::now() - from).count();
      }
      if (r < 0) return -1;
    }
  }

  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  AllowAll access_;
  store::MemoryStore kv_;
  std::unique_ptr<Persistence> persist_;  // set before SetUp() to give the broker one
  std::unique_ptr<Broker> broker_;
  std::unique_ptr<MqttServer> server_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::vector<int> fds_;
};

TEST_F(ServerTimeoutTest, SocketWithoutConnectIsClosedAfterConnectTimeout) {
  const auto t0 = Clock::now();
  const int fd = open_socket();
  const int64_t ms = ms_until_closed(fd, t0);
  EXPECT_GE(ms, 250);  // connect_timeout 300 ms, sweep every 100 ms
  EXPECT_LE(ms, 1500);
  // The connection is gone, and counted once (sockets_open went to -1 when finish() and the
  // destructor both decremented it).
  for (int i = 0; i < 100 && broker_->stats().sockets_open.load() != 0; ++i)
    std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(broker_->stats().sockets_open.load(), 0);
}

TEST_F(ServerTimeoutTest, SilentClientIsClosedAfterOneAndAHalfKeepAlives) {
  const auto t0 = Clock::now();
  const int fd = connect_client(1);
  const int64_t ms = ms_until_closed(fd, t0);
  EXPECT_GE(ms, 1400);  // 1.5 x 1 s
  EXPECT_LE(ms, 2500);
}

TEST_F(ServerTimeoutTest, PingingClientStaysAndNoKeepAliveMeansNoTimeout) {
  const int pinging = connect_client(1);
  const int silent = connect_client(0);  // keep alive 0: never timed out
  const uint8_t ping[] = {0xC0, 0x00};
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(milliseconds(500));
    ASSERT_EQ(::send(pinging, ping, sizeof ping, 0), 2);
    uint8_t resp[2];
    ASSERT_EQ(::recv(pinging, resp, sizeof resp, MSG_WAITALL), 2) << "closed after " << i;
    EXPECT_EQ(resp[0], 0xD0);
  }
  EXPECT_EQ(broker_->stats().clients_connected.load(), 2u);
  (void)silent;
}

// Backpressure: a connection whose reads are held back while the committer is backlogged is not
// closed for keep-alive, however long the hold: it is the broker that does not read. Once the
// committer catches up, what the client sent meanwhile is read and answered.
class HeldBackTimeoutTest : public ServerTimeoutTest {
 protected:
  void SetUp() override {
    store::GroupCommitter::Options o;
    o.window = std::chrono::microseconds(0);
    o.max_pending_bytes = 1;  // any pending commit makes the committer backlogged
    persist_ = std::make_unique<Persistence>(kv_, nullptr, o);
    ServerTimeoutTest::SetUp();
  }
  static store::WriteBatch some_write() {
    store::WriteBatch b;
    const uint8_t k[] = {'t', 'e', 's', 't'};
    b.put(util::ByteSpan(k, sizeof k), util::ByteSpan(k, sizeof k));
    return b;
  }
};

TEST_F(HeldBackTimeoutTest, ClientHeldBackForTheCommitterIsNotTimedOut) {
  const int fd = connect_client(1);  // keep alive 1 s: a silent client is closed after 1.5 s
  // Hold the committer inside a round: its callback blocks until released.
  std::promise<void> inside;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  persist_->submit(some_write(), nullptr, false, [&inside, released](util::Status) {
    inside.set_value();
    released.wait();
  });
  inside.get_future().wait();
  persist_->submit(some_write(), nullptr, false, nullptr);  // pending: now backlogged
  ASSERT_TRUE(persist_->backlogged());
  const uint8_t ping[] = {0xC0, 0x00};
  uint8_t resp[2];
  // The first PINGREQ completes the read already under way; the connection then holds back.
  ASSERT_EQ(::send(fd, ping, sizeof ping, 0), 2);
  ASSERT_EQ(::recv(fd, resp, sizeof resp, MSG_WAITALL), 2);
  EXPECT_EQ(resp[0], 0xD0);
  // The second is not read while the committer is held, for longer than 1.5 keep-alives.
  ASSERT_EQ(::send(fd, ping, sizeof ping, 0), 2);
  std::this_thread::sleep_for(milliseconds(2500));
  EXPECT_EQ(::recv(fd, resp, sizeof resp, MSG_DONTWAIT), -1) << "answered or closed while held";
  EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
  release.set_value();
  ASSERT_EQ(::recv(fd, resp, sizeof resp, MSG_WAITALL), 2) << "closed instead of answered";
  EXPECT_EQ(resp[0], 0xD0);
  EXPECT_FALSE(persist_->backlogged());
}

}  // namespace
}  // namespace imet::mqtt::broker
