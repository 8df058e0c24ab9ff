// Session takeover against input the old connection has received but not yet processed, over TLS,
// WebSocket and WebSocket over TLS (broker_takeover_test.cpp does the same over plain TCP). Real
// Connections over the real transports (TlsTransport, make_ws_transport, make_wss_transport) on
// loopback sockets, with real TLS and WebSocket handshakes against Boost clients, and a real
// Broker. The race is made deterministic with a StreamGate: the old connection's reads
// (async_read_some) are held back, so what its client sent sits in its socket receive buffer,
// unread, while the new connection's CONNECT is processed, as when the old connection's I/O thread
// is busy elsewhere. A held read is let through when the test says so (pass), or, in the
// scenarios of a busy I/O thread that catches up, when the connection asks its transport whether
// input is unread (what the takeover drain does; a gate that never lets it through models a read
// that never completes).
// Thread-safety: the connections run on one io_context thread; each client runs its own
// io_context on the test thread, every operation bounded to 5 s.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <gtest/gtest.h>

#include "../store/temp_dir.h"
#include "mqtt/broker/access.h"
#include "mqtt/broker/broker.h"
#include "mqtt/broker/connection.h"
#include "mqtt/broker/deadlines.h"
#include "mqtt/codec/decoder.h"
#include "mqtt/codec/encoder.h"
#include "mqtt/codec/framing.h"
#include "mqtt/net/tcp_transport.h"
#include "mqtt/net/tls_transport.h"
#include "mqtt/net/ws_transport.h"
#include "takeover_test_util.h"
#include "tls_test_util.h"
#include "util/clock.h"

namespace imet::mqtt::broker {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using asio::ip::tcp;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using test::connect_v5;
using test::disconnect_with_expiry;
using test::session_present;

enum class Kind { kTls, kWs, kWss };

std::string kind_name(Kind k) {
  return k == Kind::kTls ? "Tls" : k == Kind::kWs ? "Ws" : "Wss";
}

// Holds back the reads of one connection. Each pass() lets exactly one read through (the held
// one, or the next one). With release_on_query, a query of the transport's unread input passes
// one read too (the I/O thread catches up when the connection looks).
class StreamGate {
 public:
  explicit StreamGate(bool release_on_query) : release_on_query_(release_on_query) {}
  void pass() {
    std::function<void()> forward;
    std::function<void()> abort;  // dropped: it holds the connection (no cycle through the gate)
    {
      std::lock_guard lock(mu_);
      if (held_) {
        forward = std::move(held_);
        held_ = nullptr;
        abort = std::move(abort_);
        abort_ = nullptr;
      } else {
        ++credits_;
      }
    }
    if (forward) forward();
  }
  // Blocks until the connection has issued its next read (it has processed what it read).
  bool wait_held() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return held_ != nullptr; });
  }
  void queried() {
    {
      std::lock_guard lock(mu_);
      ++queries_;
    }
    if (release_on_query_) pass();
  }
  int queries() {
    std::lock_guard lock(mu_);
    return queries_;
  }

  void read(std::function<void()> forward, std::function<void()> abort) {
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
  const bool release_on_query_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> held_;
  std::function<void()> abort_;
  int credits_ = 0;
  int queries_ = 0;
};

// A TLS or WebSocket transport whose reads go through a StreamGate.
class GatedStreamTransport final : public net::Transport {
 public:
  GatedStreamTransport(std::unique_ptr<net::Transport> inner, std::shared_ptr<StreamGate> gate)
      : inner_(std::move(inner)), gate_(std::move(gate)) {}
  asio::any_io_executor executor() override { return inner_->executor(); }
  void async_handshake(Handler handler) override { inner_->async_handshake(std::move(handler)); }
  void async_read_some(asio::mutable_buffer buffer, IoHandler handler) override {
    net::Transport* inner = inner_.get();  // alive while the handler (its Connection) is
    auto ex = inner_->executor();
    gate_->read(
        [inner, ex, buffer, handler] {
          asio::post(ex, [inner, buffer, handler] { inner->async_read_some(buffer, handler); });
        },
        [ex, handler] {
          asio::post(ex, [handler] { handler(asio::error::operation_aborted, 0); });
        });
  }
  void async_write(asio::const_buffer buffer, IoHandler handler) override {
    inner_->async_write(buffer, std::move(handler));
  }
  bool unread_input() override {
    const bool unread = inner_->unread_input();
    gate_->queried();
    return unread;
  }
  void close() override {
    inner_->close();
    gate_->closed();
  }
  std::string remote_ip() const override { return inner_->remote_ip(); }
  const char* kind() const override { return inner_->kind(); }

 private:
  std::unique_ptr<net::Transport> inner_;
  std::shared_ptr<StreamGate> gate_;
};

// The client end of one connection over TLS, WebSocket or WebSocket over TLS: sends and receives
// MQTT 5 packets (over WebSocket, each send is one binary message). Every operation runs the
// client's own io_context for at most 5 s.
class StreamClient {
 public:
  StreamClient(Kind kind, ssl::context& tls) : kind_(kind), tls_(tls), socket_(io_) {}
  StreamClient(const StreamClient&) = delete;
  StreamClient& operator=(const StreamClient&) = delete;

  tcp::socket& socket() { return socket_; }

  // Runs after the TCP connection is established: the TLS and/or WebSocket handshake.
  bool handshake() {
    boost::system::error_code result = asio::error::timed_out;
    const auto done = [&](const boost::system::error_code& ec) { result = ec; };
    switch (kind_) {
      case Kind::kTls:
        tls_stream_.emplace(socket_, tls_);
        tls_stream_->async_handshake(ssl::stream_base::client, done);
        break;
      case Kind::kWs:
        ws_.emplace(socket_);
        prepare(*ws_);
        ws_->async_handshake("localhost", "/mqtt", done);
        break;
      case Kind::kWss:
        wss_.emplace(socket_, tls_);
        prepare(*wss_);
        wss_->next_layer().async_handshake(ssl::stream_base::client,
                                           [&](const boost::system::error_code& ec) {
                                             if (ec) {
                                               result = ec;
                                               return;
                                             }
                                             wss_->async_handshake("localhost", "/mqtt", done);
                                           });
        break;
    }
    run();
    return !result;
  }

  bool send(const Packet& p) {
    auto bytes = encode_to_bytes(p, Version::kV5);
    return bytes.ok() && send_bytes(*bytes);
  }
  // One TLS record, or one WebSocket message.
  bool send_bytes(util::ByteSpan b) {
    boost::system::error_code result = asio::error::timed_out;
    const auto done = [&](const boost::system::error_code& ec, size_t) { result = ec; };
    const auto buf = asio::buffer(b.data(), b.size());
    if (tls_stream_) asio::async_write(*tls_stream_, buf, done);
    if (ws_) ws_->async_write(buf, done);
    if (wss_) wss_->async_write(buf, done);
    run();
    return !result;
  }
  // The client will send nothing more: the server reads the end of the stream after what was
  // sent (TCP FIN, no TLS close_notify or WebSocket close frame).
  void shutdown_write() {
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
  }
  // The next packet from the server; nullopt on end of stream, error, timeout or a bad packet.
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
      size_t n = 0;
      if (read_more(n)) return std::nullopt;
    }
  }
  // True when the server closed the connection with nothing more sent (no DISCONNECT).
  bool closed_silently() {
    size_t n = 0;
    const boost::system::error_code ec = read_more(n);
    return in_.empty() && n == 0 && ec && ec != asio::error::timed_out;
  }

 private:
  template <class Ws>
  static void prepare(Ws& ws) {
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, "mqtt");
    }));
    ws.binary(true);
  }

  // Reads what comes next into in_; the error (timed_out after 5 s).
  boost::system::error_code read_more(size_t& n) {
    uint8_t buf[4096];
    boost::system::error_code result = asio::error::timed_out;
    const auto done = [&](const boost::system::error_code& ec, size_t got) {
      result = ec;
      n = got;
    };
    const auto b = asio::buffer(buf, sizeof buf);
    if (tls_stream_) tls_stream_->async_read_some(b, done);
    if (ws_) ws_->async_read_some(b, done);
    if (wss_) wss_->async_read_some(b, done);
    run();
    if (result == asio::error::timed_out) {  // a read left outstanding would outlive buf
      boost::system::error_code ec;
      socket_.close(ec);
      io_.restart();
      io_.run();
      return asio::error::timed_out;
    }
    in_.insert(in_.end(), buf, buf + n);
    return n > 0 ? boost::system::error_code() : result;
  }

  void run() {
    io_.restart();
    io_.run_for(std::chrono::seconds(5));
  }

  Kind kind_;
  ssl::context& tls_;
  asio::io_context io_;
  tcp::socket socket_;
  std::optional<ssl::stream<tcp::socket&>> tls_stream_;
  std::optional<websocket::stream<tcp::socket&>> ws_;
  std::optional<websocket::stream<ssl::stream<tcp::socket&>>> wss_;
  util::Bytes in_;
};

class StreamTakeoverTest : public ::testing::TestWithParam<Kind> {
 protected:
  StreamTakeoverTest() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    net::test::make_self_signed(cert_, key_);
    server_tls_ = net::test::server_tls_context(cert_, key_);
    client_tls_.set_verify_mode(ssl::verify_none);
    env_ = new ConnectionEnv(broker_, access_, nullptr, deadlines_);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~StreamTakeoverTest() override {
    clients_.clear();  // the clients close their sockets
    broker_.shutdown(std::chrono::milliseconds(2000));
    work_.reset();
    io_.stop();
    thread_.join();
    release_server_env(env_);  // as MqttServer's destructor: connections no longer use the broker
  }

  // Opens a connection to a new server-side Connection over the test's transport kind (TLS and
  // WebSocket handshakes done); with `gate`, its reads go through it.
  StreamClient& open(const std::shared_ptr<StreamGate>& gate = nullptr) {
    clients_.push_back(std::make_unique<StreamClient>(GetParam(), client_tls_));
    StreamClient& client = *clients_.back();
    client.socket().connect(acceptor_.local_endpoint());
    // Every send is in the server's socket at once (no Nagle delay behind an unacknowledged
    // segment): "sent before B connected" then means "in A's receive buffer before B connected".
    client.socket().set_option(tcp::no_delay(true));
    net::IoSocket accepted(io_);
    acceptor_.accept(accepted);
    tcp::socket socket = net::socket_on_strand(std::move(accepted), asio::make_strand(io_));
    std::unique_ptr<net::Transport> transport;
    switch (GetParam()) {
      case Kind::kTls:
        transport = std::make_unique<net::TlsTransport>(std::move(socket), server_tls_);
        break;
      case Kind::kWs:
        transport = net::make_ws_transport(std::move(socket), "/mqtt");
        break;
      case Kind::kWss:
        transport = net::make_wss_transport(std::move(socket), server_tls_, "/mqtt");
        break;
    }
    if (gate) transport = std::make_unique<GatedStreamTransport>(std::move(transport), gate);
    EXPECT_TRUE(broker_.admit(transport->remote_ip()));
    std::make_shared<Connection>(*env_, std::move(transport))->start();
    EXPECT_TRUE(client.handshake());
    return client;
  }

  // Connection A: connected through `gate` with Clean Start 0 and a session expiry of 60 s; the
  // gate now holds its next read (A reads nothing more until the gate lets it).
  StreamClient& open_gated_session(const std::string& id, const std::shared_ptr<StreamGate>& gate) {
    StreamClient& a = open(gate);
    EXPECT_TRUE(a.send(connect_v5(id, false, 60)));
    gate->pass();
    EXPECT_EQ(session_present(a), false);
    EXPECT_TRUE(gate->wait_held());
    return a;
  }

  store::testing::TempDir dir_;
  std::string cert_ = dir_.path() + "/server.crt";
  std::string key_ = dir_.path() + "/server.key";
  std::shared_ptr<ssl::context> server_tls_;
  ssl::context client_tls_{ssl::context::tls_client};
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  Broker broker_{BrokerConfig{}, util::SystemClock::instance()};
  AllowAll access_;
  // Not started: no timeout matters here.
  Deadlines deadlines_{[](Deadlines::Entry& e) { static_cast<Connection&>(e).deadline_passed(); }};
  ConnectionEnv* env_ = nullptr;
  tcp::acceptor acceptor_;
  std::vector<std::unique_ptr<StreamClient>> clients_;
  std::thread thread_;
};

// The conformance scenario (05-session-expiry-v5): DISCONNECT with Session Expiry Interval 0,
// close, connect again with Clean Start 0. The session ended with A, so B gets Session Present 0,
// and A ends because its client disconnected, not because it was taken over.
TEST_P(StreamTakeoverTest, UnreadDisconnectWithExpiryZeroEndsTheSessionBeforeTheTakeover) {
  auto gate = std::make_shared<StreamGate>(true);
  StreamClient& a = open_gated_session("client", gate);
  ASSERT_TRUE(a.send(disconnect_with_expiry(0)));
  a.shutdown_write();  // in A's socket receive buffer, not read: the gate holds A's read

  StreamClient& b = open();
  ASSERT_TRUE(b.send(connect_v5("client", false, 60)));
  EXPECT_EQ(session_present(b), false);
  EXPECT_TRUE(a.closed_silently()) << "A was taken over instead of ending with its DISCONNECT";
  EXPECT_EQ(broker_.session_count(), 1u);
}

// The same with the DISCONNECT split in two TLS records / WebSocket messages: the first was
// read (its bytes wait in A's own read buffer), the second is still in the socket.
TEST_P(StreamTakeoverTest, PartlyReadDisconnectIsCompletedBeforeTheTakeover) {
  auto gate = std::make_shared<StreamGate>(true);
  StreamClient& a = open_gated_session("client", gate);
  auto disconnect = encode_to_bytes(disconnect_with_expiry(0), Version::kV5);
  ASSERT_TRUE(disconnect.ok());
  ASSERT_GT(disconnect->size(), 3u);
  const util::ByteSpan bytes(*disconnect);
  ASSERT_TRUE(a.send_bytes(bytes.first(3)));
  gate->pass();
  ASSERT_TRUE(gate->wait_held());  // A read the 3 bytes and waits for more
  ASSERT_TRUE(a.send_bytes(bytes.subspan(3)));

  StreamClient& b = open();
  ASSERT_TRUE(b.send(connect_v5("client", false, 60)));
  EXPECT_EQ(session_present(b), false);
  EXPECT_TRUE(a.closed_silently());
}

// A PUBLISH A had received but not read when B connected with Clean Start 1 is routed, not lost
// with the old connection.
TEST_P(StreamTakeoverTest, UnreadPublishIsRoutedBeforeTheTakeover) {
  StreamClient& watcher = open();
  ASSERT_TRUE(watcher.send(connect_v5("watcher", true, 0)));
  ASSERT_EQ(session_present(watcher), false);
  Subscribe sub;
  sub.packet_id = 1;
  sub.subscriptions.push_back(Subscription{"t", {}});
  ASSERT_TRUE(watcher.send(sub));
  auto suback = watcher.receive();
  ASSERT_TRUE(suback && std::holds_alternative<Suback>(*suback));

  auto gate = std::make_shared<StreamGate>(true);
  StreamClient& a = open_gated_session("client", gate);
  Publish p;
  p.topic = "t";
  p.payload = SharedBytes::copy_of(std::string_view("sent on A"));
  ASSERT_TRUE(a.send(p));

  StreamClient& b = open();
  ASSERT_TRUE(b.send(connect_v5("client", true, 60)));
  EXPECT_EQ(session_present(b), false);
  // A's session ended with the takeover (Clean Start 1): its PUBLISH is routed only if A read it
  // first; once B is connected, A can no longer route anything.
  auto kicked = a.receive();
  ASSERT_TRUE(kicked && std::holds_alternative<Disconnect>(*kicked));
  EXPECT_EQ(std::get<Disconnect>(*kicked).reason_code, ReasonCode::kSessionTakenOver);
  auto delivered = watcher.receive();
  ASSERT_TRUE(delivered && std::holds_alternative<Publish>(*delivered));
  const auto& got = std::get<Publish>(*delivered);
  EXPECT_EQ(got.topic, "t");
  EXPECT_EQ(got.payload.as_string_view(), "sent on A");
}

// An old connection that received nothing (no gate: the real transport's read is outstanding)
// is taken over at once: the session goes on (Session Present 1) and A is told DISCONNECT 0x8E.
TEST_P(StreamTakeoverTest, SilentOldConnectionIsTakenOverAtOnce) {
  StreamClient& a = open();
  ASSERT_TRUE(a.send(connect_v5("client", false, 60)));
  ASSERT_EQ(session_present(a), false);

  StreamClient& b = open();
  const auto start = steady_clock::now();
  ASSERT_TRUE(b.send(connect_v5("client", false, 60)));
  EXPECT_EQ(session_present(b), true);
  const auto took = steady_clock::now() - start;
  auto kicked = a.receive();
  ASSERT_TRUE(kicked && std::holds_alternative<Disconnect>(*kicked));
  EXPECT_EQ(std::get<Disconnect>(*kicked).reason_code, ReasonCode::kSessionTakenOver);
  EXPECT_EQ(broker_.session_count(), 1u);
  // Not held up by the drain's time limit (250 ms): nothing was unread. (The bound is the limit
  // itself, so that a slow machine's scheduling delays do not fail the test.)
  EXPECT_LT(took, milliseconds(250));
}

// A's read never completes (the gate holds it for good) while A's input is unread: the takeover
// does not hang; it goes ahead after the drain's time limit (250 ms), and A is taken over.
TEST_P(StreamTakeoverTest, TakeoverDoesNotWaitForAReadThatNeverCompletes) {
  auto gate = std::make_shared<StreamGate>(false);
  StreamClient& a = open_gated_session("client", gate);
  Publish p;
  p.topic = "t";
  p.payload = SharedBytes::copy_of(std::string_view("stuck"));
  ASSERT_TRUE(a.send(p));

  StreamClient& b = open();
  const auto start = steady_clock::now();
  ASSERT_TRUE(b.send(connect_v5("client", false, 60)));
  EXPECT_EQ(session_present(b), true);
  const auto took = steady_clock::now() - start;
  EXPECT_GT(gate->queries(), 0) << "the takeover did not look at A's unread input";
  EXPECT_GE(took, milliseconds(240)) << "the takeover did not wait for A's input";
  auto kicked = a.receive();
  ASSERT_TRUE(kicked && std::holds_alternative<Disconnect>(*kicked));
  EXPECT_EQ(std::get<Disconnect>(*kicked).reason_code, ReasonCode::kSessionTakenOver);
}

INSTANTIATE_TEST_SUITE_P(Transports, StreamTakeoverTest,
                         ::testing::Values(Kind::kTls, Kind::kWs, Kind::kWss),
                         [](const ::testing::TestParamInfo<Kind>& param_info) {
                           return kind_name(param_info.param);
                         });

}  // namespace
}  // namespace imet::mqtt::broker
