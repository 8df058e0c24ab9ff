// Direct writes (Connection, OutputScope): the I/O thread that processes a publisher's read writes
// the deliveries to the subscribers' sockets itself, and the acknowledgements of a commit round go
// out in one write, instead of each write going through the subscriber's strand. These tests run
// a real MqttServer on an io_context with three threads and real TCP clients, and check what must
// not change: every subscriber gets every message once, in each publisher's order, whichever
// thread writes it (fan-in from publishers on different I/O threads, QoS 0 and QoS 1 mixed); a
// subscriber that does not read for a while (the socket buffer fills, a direct write is partial
// or would block and the strand takes over) still gets everything in order; PUBACKs come in
// PUBLISH order; and a connection closed with output still deferred (DISCONNECT after a protocol
// error) writes it and then closes at once, not after the 5 s flush timeout.
// Thread-safety: the server runs on three io_context threads (run these tests under
// -DIMET_SANITIZE=address,undefined or thread as well); each client socket is used by one test
// thread (blocking sockets, 10 s receive timeout).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "mqtt/broker/access.h"
#include "mqtt/broker/broker.h"
#include "mqtt/broker/server.h"
#include "mqtt/codec/decoder.h"
#include "mqtt/codec/encoder.h"
#include "mqtt/codec/framing.h"
#include "util/clock.h"

namespace imet::mqtt::broker {
namespace {

namespace asio = boost::asio;

// One MQTT 5 client over a blocking socket.
class Client {
 public:
  Client(uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (rcvbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool send(const Packet& p) {
    auto bytes = encode_to_bytes(p, Version::kV5);
    if (!bytes.ok()) return false;
    const util::ByteSpan b(*bytes);
    return ::send(fd_, b.data(), b.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(b.size());
  }
  // The next packet; nullopt on end of stream, timeout or a bad packet.
  std::optional<Packet> receive() {
    for (;;) {
      const FrameProbe f = probe_frame(util::ByteSpan(in_).subspan(at_));
      if (f.status == FrameStatus::kComplete) {
        DecodeOptions opts;
        opts.version = Version::kV5;
        opts.sender = Sender::kServer;
        auto p = decode_packet(util::ByteSpan(in_).subspan(at_, f.packet_size), opts);
        at_ += f.packet_size;
        if (!p.ok()) return std::nullopt;
        return std::move(*p);
      }
      if (f.status == FrameStatus::kInvalid) return std::nullopt;
      if (at_ > 0) {
        in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(at_));
        at_ = 0;
      }
      uint8_t buf[16384];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      in_.insert(in_.end(), buf, buf + n);
    }
  }
  // CONNECT (clean start) and its CONNACK.
  bool connect(const std::string& id) {
    Connect c;
    c.version = Version::kV5;
    c.client_id = id;
    c.clean_start = true;
    if (!ok_ || !send(c)) return false;
    auto p = receive();
    const auto* ack = p ? std::get_if<Connack>(&*p) : nullptr;
    return ack != nullptr && ack->reason_code == ReasonCode::kSuccess;
  }
  bool subscribe(const std::string& filter, uint8_t qos) {
    Subscribe s;
    s.packet_id = 1;
    Subscription sub;
    sub.topic_filter = filter;
    sub.options.qos = qos;
    s.subscriptions.push_back(sub);
    if (!send(s)) return false;
    auto p = receive();
    return p && std::holds_alternative<Suback>(*p);
  }
  bool publish(const std::string& topic, const std::string& payload, uint8_t qos, uint16_t id) {
    Publish p;
    p.topic = topic;
    p.qos = qos;
    p.packet_id = qos > 0 ? id : 0;
    p.payload = SharedBytes::copy_of(payload);
    return send(p);
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
  util::Bytes in_;
  size_t at_ = 0;
};

// Payload "<publisher>:<sequence>" padded to `size` bytes.
std::string payload(int pub, int seq, size_t size) {
  char head[32];
  const int n = std::snprintf(head, sizeof head, "%d:%d:", pub, seq);
  std::string s(head, static_cast<size_t>(n));
  if (s.size() < size) s.append(size - s.size(), 'x');
  return s;
}

// Reads `total` PUBLISH packets (acknowledging QoS 1 ones) and checks that each publisher's
// sequence arrives complete and in order; returns a description of the first problem, or "".
std::string receive_in_order(Client& c, int pubs, int per_pub) {
  std::vector<int> next(static_cast<size_t>(pubs), 0);
  for (int got = 0; got < pubs * per_pub; ++got) {
    auto p = c.receive();
    if (!p) return "stream ended after " + std::to_string(got) + " messages";
    const auto* pub = std::get_if<Publish>(&*p);
    if (pub == nullptr) return "unexpected packet type";
    if (pub->qos == 1 && !c.send(Puback{pub->packet_id, ReasonCode::kSuccess, {}}))
      return "PUBACK failed";
    const std::string text(reinterpret_cast<const char*>(pub->payload.span().data()),
                           pub->payload.size());
    int who = -1;
    int seq = -1;
    if (std::sscanf(text.c_str(), "%d:%d:", &who, &seq) != 2 || who < 0 || who >= pubs)
      return "bad payload " + text.substr(0, 20);
    if (seq != next[static_cast<size_t>(who)]) {
      return "publisher " + std::to_string(who) + ": expected " +
             std::to_string(next[static_cast<size_t>(who)]) + ", got " + std::to_string(seq);
    }
    ++next[static_cast<size_t>(who)];
  }
  return "";
}

class DirectWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<MqttServer>(io_, broker_, access_);
    auto port = server_->listen_tcp("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status().message();
    port_ = *port;
    for (int i = 0; i < 3; ++i)
      threads_.emplace_back([this] { io_.run(); });
  }
  void TearDown() override {
    server_->stop();
    broker_.shutdown(std::chrono::milliseconds(2000));
    work_.reset();
    io_.stop();
    for (auto& t : threads_)
      t.join();
    server_.reset();
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  // The QoS 1 subscriber's queue must hold every message the test sends (at the default of
  // 10,000 the broker would rightly drop the oldest queued QoS 0 messages to make room).
  static BrokerConfig config() {
    BrokerConfig c;
    c.max_queued_messages = 1'000'000;
    return c;
  }
  Broker broker_{config(), util::SystemClock::instance()};
  AllowAll access_;
  std::unique_ptr<MqttServer> server_;
  uint16_t port_ = 0;
  std::vector<std::thread> threads_;
};

// Four publishers (QoS 0 and QoS 1 alternately, each pipelining its messages) on connections the
// server spreads over its I/O threads, two subscribers (QoS 0 and QoS 1): every message arrives
// once and in each publisher's order at both, and each QoS 1 publisher gets its PUBACKs in order.
TEST_F(DirectWriteTest, FanInFromSeveralThreadsKeepsEachPublishersOrder) {
  constexpr int kPubs = 4;
  constexpr int kPerPub = 3000;
  Client sub0(port_);
  Client sub1(port_);
  ASSERT_TRUE(sub0.connect("sub0"));
  ASSERT_TRUE(sub1.connect("sub1"));
  ASSERT_TRUE(sub0.subscribe("t/#", 0));
  ASSERT_TRUE(sub1.subscribe("t/#", 1));
  std::string err0 = "not run";
  std::string err1 = "not run";
  std::thread r0([&] { err0 = receive_in_order(sub0, kPubs, kPerPub); });
  std::thread r1([&] { err1 = receive_in_order(sub1, kPubs, kPerPub); });
  std::vector<std::string> pub_err(kPubs);
  std::vector<std::thread> pubs;
  for (int i = 0; i < kPubs; ++i) {
    pubs.emplace_back([&, i] {
      Client c(port_);
      if (!c.connect("pub" + std::to_string(i))) {
        pub_err[static_cast<size_t>(i)] = "connect failed";
        return;
      }
      const uint8_t qos = i % 2;
      for (int s = 0; s < kPerPub; ++s) {
        if (!c.publish("t/" + std::to_string(i), payload(i, s, 24), qos,
                       static_cast<uint16_t>(s + 1))) {
          pub_err[static_cast<size_t>(i)] = "publish failed";
          return;
        }
      }
      for (int s = 0; qos == 1 && s < kPerPub; ++s) {
        auto p = c.receive();
        const auto* ack = p ? std::get_if<Puback>(&*p) : nullptr;
        if (ack == nullptr || ack->packet_id != s + 1) {
          pub_err[static_cast<size_t>(i)] = "PUBACK " + std::to_string(s + 1) + " missing";
          return;
        }
      }
    });
  }
  for (auto& t : pubs)
    t.join();
  r0.join();
  r1.join();
  for (int i = 0; i < kPubs; ++i)
    EXPECT_EQ(pub_err[static_cast<size_t>(i)], "") << "publisher " << i;
  EXPECT_EQ(err0, "") << "QoS 0 subscriber";
  EXPECT_EQ(err1, "") << "QoS 1 subscriber";
}

// A subscriber with a small receive buffer that reads nothing for a while: the server's direct
// writes soon find the socket full (partial writes, would-block), the strand's async write takes
// over, and the subscriber still gets every message in order once it reads.
TEST_F(DirectWriteTest, SubscriberThatDoesNotReadGetsEverythingInOrderLater) {
  constexpr int kPubs = 2;
  constexpr int kPerPub = 6000;  // 2 x 6,000 x ~260 bytes: ~3 MB, below max_out_buffer (4 MiB)
  Client sub(port_, 4096);
  ASSERT_TRUE(sub.connect("slow"));
  ASSERT_TRUE(sub.subscribe("s/#", 0));
  std::vector<std::thread> pubs;
  std::atomic<int> failed{0};
  for (int i = 0; i < kPubs; ++i) {
    pubs.emplace_back([&, i] {
      Client c(port_);
      if (!c.connect("spub" + std::to_string(i))) {
        ++failed;
        return;
      }
      for (int s = 0; s < kPerPub; ++s) {
        if (!c.publish("s/" + std::to_string(i), payload(i, s, 250), 0, 0)) {
          ++failed;
          return;
        }
      }
      // A PING round trip: every PUBLISH before it has been processed (and routed).
      c.send(Pingreq{});
      auto p = c.receive();
      if (!p || !std::holds_alternative<Pingresp>(*p)) ++failed;
    });
  }
  for (auto& t : pubs)
    t.join();
  ASSERT_EQ(failed.load(), 0);
  EXPECT_EQ(receive_in_order(sub, kPubs, kPerPub), "");
}

// A protocol error (a topic alias above the broker's maximum) closes the connection with a
// DISCONNECT queued while its read is processed (its writer then is the reading thread's
// OutputScope): the DISCONNECT is written and the connection ends at once, not when the 5 s flush
// timeout fires.
TEST_F(DirectWriteTest, DisconnectQueuedInAScopeIsWrittenAndTheConnectionEnds) {
  Client c(port_);
  ASSERT_TRUE(c.connect("bad"));
  Publish p;
  p.topic = "a";
  p.properties.topic_alias = 65535;  // the broker allows 64
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send(p));
  auto got = c.receive();
  const auto* d = got ? std::get_if<Disconnect>(&*got) : nullptr;
  ASSERT_NE(d, nullptr) << "expected a DISCONNECT";
  EXPECT_EQ(d->reason_code, ReasonCode::kTopicAliasInvalid);
  EXPECT_FALSE(c.receive().has_value());  // end of stream
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

}  // namespace
}  // namespace imet::mqtt::broker
