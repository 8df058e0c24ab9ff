// Session takeover against input the old connection has received but not yet read. A client sends
// DISCONNECT (here with Session Expiry Interval 0) or a PUBLISH on connection A, and at once
// connects again on connection B. Under load the broker can handle B's CONNECT (on another I/O
// thread) before A's readiness event: B must not take over the session before A has processed
// those bytes (mosquitto test 05-session-expiry-v5 failed now and then on exactly this).
// The race is made deterministic with real connections (Connection over TcpTransport on loopback
// sockets, a real Broker) whose readiness waits pass through a Gate: the test lets a connection
// see its socket readable only when it says so, so A's bytes sit in A's socket receive buffer,
// unread, while B connects, every time.
// Thread-safety: the connections run on one io_context thread; the test thread uses blocking
// client sockets (5 s receive timeout) and the Gate (a mutex).
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "mqtt/broker/access.h"
#include "mqtt/broker/broker.h"
#include "mqtt/broker/connection.h"
#include "mqtt/broker/deadlines.h"
#include "mqtt/codec/decoder.h"
#include "mqtt/codec/encoder.h"
#include "mqtt/codec/framing.h"
#include "mqtt/net/tcp_transport.h"
#include "takeover_test_util.h"
#include "util/clock.h"

namespace imet::mqtt::broker {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using test::connect_v5;
using test::disconnect_with_expiry;
using test::session_present;

// Holds back the readiness waits of one connection: a held wait is not given to the socket, so
// the connection is not told that bytes arrived (as when its I/O thread is busy elsewhere). Each
// pass() lets exactly one wait through (the held one, or the next one).
class Gate {
 public:
  void pass() {
    std::function<void()> forward;
    {
      std::lock_guard lock(mu_);
      if (held_) {
        forward = std::move(held_);
        held_ = nullptr;
      } else {
        ++credits_;
      }
    }
    if (forward) forward();
  }
  // Blocks until the connection has issued its next wait (it has processed what it read).
  bool wait_held() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return held_ != nullptr; });
  }

  // GatedTransport's side: `forward` gives the wait to the socket (posted to the strand).
  void wait(std::function<void()> forward, std::function<void()> abort) {
    {
      std::lock_guard lock(mu_);
      if (credits_ == 0) {
        held_ = std::move(forward);
        abort_ = std::move(abort);
        cv_.notify_all();
        return;
      }
      --credits_;
    }
    forward();
  }
  // The transport closed: a held wait completes with an error (Transport's contract).
  void closed() {
    std::function<void()> abort;
    {
      std::lock_guard lock(mu_);
      if (!held_) return;
      held_ = nullptr;
      abort = std::move(abort_);
    }
    abort();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> held_;
  std::function<void()> abort_;
  int credits_ = 0;
};

// A TcpTransport whose readiness waits go through a Gate.
class GatedTransport final : public net::Transport {
 public:
  GatedTransport(std::unique_ptr<net::TcpTransport> inner, std::shared_ptr<Gate> gate)
      : inner_(std::move(inner)), gate_(std::move(gate)) {}
  asio::any_io_executor executor() override { return inner_->executor(); }
  void async_handshake(Handler handler) override { inner_->async_handshake(std::move(handler)); }
  void async_read_some(asio::mutable_buffer buffer, IoHandler handler) override {
    inner_->async_read_some(buffer, std::move(handler));
  }
  void async_write(asio::const_buffer buffer, IoHandler handler) override {
    inner_->async_write(buffer, std::move(handler));
  }
  bool reactor_reads() const override { return true; }
  void async_wait_readable(std::shared_ptr<net::ReadListener> listener) override {
    net::TcpTransport* inner = inner_.get();  // alive while the listener (its Connection) is
    auto ex = inner_->executor();
    gate_->wait(
        [inner, ex, listener] {
          asio::post(ex, [inner, listener] { inner->async_wait_readable(listener); });
        },
        [ex, listener] {
          asio::post(ex, [listener] { listener->on_readable(asio::error::operation_aborted); });
        });
  }
  size_t read_now(asio::mutable_buffer buffer, boost::system::error_code& ec) override {
    return inner_->read_now(buffer, ec);
  }
  void close() override {
    inner_->close();
    gate_->closed();
  }
  std::string remote_ip() const override { return inner_->remote_ip(); }
  const char* kind() const override { return "tcp"; }

 private:
  std::unique_ptr<net::TcpTransport> inner_;
  std::shared_ptr<Gate> gate_;
};

// The client end of one connection: a blocking socket that sends and receives MQTT 5 packets.
class TestClient {
 public:
  explicit TestClient(int fd) : fd_(fd) {}
  ~TestClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool send(const Packet& p) {
    auto bytes = encode_to_bytes(p, Version::kV5);
    return bytes.ok() && send_bytes(*bytes);
  }
  bool send_bytes(util::ByteSpan b) {
    return ::send(fd_, b.data(), b.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(b.size());
  }
  // The client will send nothing more (the server reads end of stream after the sent bytes).
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  // The next packet from the server; nullopt on end of stream, timeout (5 s) or a bad packet.
  std::optional<Packet> receive() {
    for (;;) {
      const FrameProbe f = probe_frame(in_);
      if (f.status == FrameStatus::kComplete) {
        DecodeOptions opts;
        opts.version = Version::kV5;
        opts.sender = Sender::kServer;
        auto p = decode_packet(util::ByteSpan(in_).first(f.packet_size), opts);
        in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(f.packet_size));
        if (!p.ok()) return std::nullopt;
        return std::move(*p);
      }
      if (f.status == FrameStatus::kInvalid) return std::nullopt;
      uint8_t buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      in_.insert(in_.end(), buf, buf + n);
    }
  }
  // True when the server closed the connection with nothing more sent (no DISCONNECT).
  bool closed_silently() {
    uint8_t b[64];
    return in_.empty() && ::recv(fd_, b, sizeof b, 0) == 0;
  }

 private:
  int fd_;
  util::Bytes in_;
};

class SessionTakeoverTest : public ::testing::Test {
 protected:
  SessionTakeoverTest() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    env_ = new ConnectionEnv(broker_, access_, nullptr, deadlines_);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~SessionTakeoverTest() override {
    clients_.clear();  // the clients close their sockets
    broker_.shutdown(std::chrono::milliseconds(2000));
    work_.reset();
    io_.stop();
    thread_.join();
    release_server_env(env_);  // as MqttServer's destructor: connections no longer use the broker
  }

  // Opens a connection to a new server-side Connection; with `gate`, its reads go through it.
  TestClient& open(const std::shared_ptr<Gate>& gate = nullptr) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(fd, 0);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    // Every send() is in the server's socket at once (no Nagle delay behind an unacknowledged
    // segment): "sent before B connected" then means "in A's receive buffer before B connected".
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(acceptor_.local_endpoint().port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    net::IoSocket socket(io_);
    acceptor_.accept(socket);
    auto tcp_transport =
        std::make_unique<net::TcpTransport>(std::move(socket), asio::make_strand(io_));
    std::unique_ptr<net::Transport> transport;
    if (gate) {
      transport = std::make_unique<GatedTransport>(std::move(tcp_transport), gate);
    } else {
      transport = std::move(tcp_transport);
    }
    EXPECT_TRUE(broker_.admit(transport->remote_ip()));
    std::make_shared<Connection>(*env_, std::move(transport))->start();
    clients_.push_back(std::make_unique<TestClient>(fd));
    return *clients_.back();
  }

  // Connection A: connected through a gate with Clean Start 0 and a session expiry of 60 s; the
  // gate now holds its next readiness wait (A reads nothing more until gate->pass()).
  TestClient& open_gated_session(const std::string& id, const std::shared_ptr<Gate>& gate) {
    TestClient& a = open(gate);
    EXPECT_TRUE(a.send(connect_v5(id, false, 60)));
    gate->pass();
    EXPECT_EQ(session_present(a), false);
    EXPECT_TRUE(gate->wait_held());
    return a;
  }

  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  Broker broker_{BrokerConfig{}, util::SystemClock::instance()};
  AllowAll access_;
  // Not started: no timeout matters here.
  Deadlines deadlines_{[](Deadlines::Entry& e) { static_cast<Connection&>(e).deadline_passed(); }};
  ConnectionEnv* env_ = nullptr;
  tcp::acceptor acceptor_;
  std::vector<std::unique_ptr<TestClient>> clients_;
  std::thread thread_;
};

// The conformance scenario: DISCONNECT with Session Expiry Interval 0, close, connect again with
// Clean Start 0. The session ended with A (MQTT-3.1.2-6 / 3.14.2.2.2), so B gets Session Present
// 0, and A ends because its client disconnected, not because it was taken over.
TEST_F(SessionTakeoverTest, UnreadDisconnectWithExpiryZeroEndsTheSessionBeforeTheTakeover) {
  auto gate = std::make_shared<Gate>();
  TestClient& a = open_gated_session("client", gate);
  ASSERT_TRUE(a.send(disconnect_with_expiry(0)));
  a.shutdown_write();  // in A's socket receive buffer, not read: the gate holds A's wait

  TestClient& b = open();
  ASSERT_TRUE(b.send(connect_v5("client", false, 60)));
  EXPECT_EQ(session_present(b), false);
  EXPECT_TRUE(a.closed_silently()) << "A was taken over instead of ending with its DISCONNECT";
  EXPECT_EQ(broker_.session_count(), 1u);
}

// The same with the DISCONNECT split: its first bytes were read (they wait in A's own read
// buffer), the rest is still in the socket.
TEST_F(SessionTakeoverTest, PartlyReadDisconnectIsCompletedBeforeTheTakeover) {
  auto gate = std::make_shared<Gate>();
  TestClient& a = open_gated_session("client", gate);
  auto disconnect = encode_to_bytes(disconnect_with_expiry(0), Version::kV5);
  ASSERT_TRUE(disconnect.ok());
  ASSERT_GT(disconnect->size(), 3u);
  const util::ByteSpan bytes(*disconnect);
  ASSERT_TRUE(a.send_bytes(bytes.first(3)));
  gate->pass();
  ASSERT_TRUE(gate->wait_held());  // A read the 3 bytes and waits for more
  ASSERT_TRUE(a.send_bytes(bytes.subspan(3)));

  TestClient& b = open();
  ASSERT_TRUE(b.send(connect_v5("client", false, 60)));
  EXPECT_EQ(session_present(b), false);
  EXPECT_TRUE(a.closed_silently());
}

// A PUBLISH A had received but not read when B connected with Clean Start 1 is routed, not lost
// with the old connection.
TEST_F(SessionTakeoverTest, UnreadPublishIsRoutedBeforeTheTakeover) {
  TestClient& watcher = open();
  ASSERT_TRUE(watcher.send(connect_v5("watcher", true, 0)));
  ASSERT_EQ(session_present(watcher), false);
  Subscribe sub;
  sub.packet_id = 1;
  sub.subscriptions.push_back(Subscription{"t", {}});
  ASSERT_TRUE(watcher.send(sub));
  auto suback = watcher.receive();
  ASSERT_TRUE(suback && std::holds_alternative<Suback>(*suback));

  auto gate = std::make_shared<Gate>();
  TestClient& a = open_gated_session("client", gate);
  Publish p;
  p.topic = "t";
  p.payload = SharedBytes::copy_of(std::string_view("sent on A"));
  ASSERT_TRUE(a.send(p));

  TestClient& b = open();
  ASSERT_TRUE(b.send(connect_v5("client", true, 60)));
  EXPECT_EQ(session_present(b), false);
  auto delivered = watcher.receive();
  ASSERT_TRUE(delivered && std::holds_alternative<Publish>(*delivered));
  const auto& got = std::get<Publish>(*delivered);
  EXPECT_EQ(got.topic, "t");
  EXPECT_EQ(got.payload.as_string_view(), "sent on A");
}

// Without unread input the takeover is as before: the session goes on (Session Present 1) and A
// is told DISCONNECT 0x8E Session taken over.
TEST_F(SessionTakeoverTest, IdleOldConnectionIsTakenOver) {
  auto gate = std::make_shared<Gate>();
  TestClient& a = open_gated_session("client", gate);

  TestClient& b = open();
  ASSERT_TRUE(b.send(connect_v5("client", false, 60)));
  EXPECT_EQ(session_present(b), true);
  auto kicked = a.receive();
  ASSERT_TRUE(kicked && std::holds_alternative<Disconnect>(*kicked));
  EXPECT_EQ(std::get<Disconnect>(*kicked).reason_code, ReasonCode::kSessionTakenOver);
  EXPECT_EQ(broker_.session_count(), 1u);
}

}  // namespace
}  // namespace imet::mqtt::broker
