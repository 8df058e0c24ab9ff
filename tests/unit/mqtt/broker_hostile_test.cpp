// Hostile clients against a real MqttServer: loopback TCP, two I/O threads, Persistence over a
// RocksStore and a message log, and limits small enough that every one of them is reached.
// Eight clients, driven by a seeded random generator:
// - four polite ones mostly stay connected and send valid packets within the limits, so QoS 1/2
//   flows, retained messages, shared subscriptions and topic aliases run for long;
// - four hostile ones send packets of every type a client may send, many breaking a rule only the
//   broker can check (unknown packet ids, topic aliases out of range, receive maximum exceeded,
//   bad filters, a second CONNECT, AUTH, ...), mutated encodings (bytes changed, inserted or cut,
//   lengths wrong), random bytes and silent sockets, and close abruptly (FIN or RST);
// - all of them take over each other's client ids, and some never read.
// Three variants: plain TCP; an ACL file with anonymous access; WebSocket, where MQTT packets are
// also split across messages and fragments and the hostile clients break the framing itself.
// Checked throughout: every packet the broker writes to a client whose CONNECT was well formed
// decodes, in that client's version, as a client decodes it (the broker never sends a malformed
// packet); after every 200 steps a sentinel client completes a QoS 1 round trip (the broker still
// serves). After each seed: once every socket is closed, every connection ends (the sockets and
// clients gauges return to 0); the broker shuts down cleanly and restarts from its store with the
// same sessions, subscriptions and retained messages, and the message log reopens with every
// sealed segment verified. The sanitizer build (which runs this test in CI) turns any memory
// error, leak or undefined behaviour into a failure. What the clients send: hostile_packets.h.
// IMET_HOSTILE_STEPS (per seed), IMET_HOSTILE_SEEDS (count) and IMET_HOSTILE_CLIENTS (8) make it
// run longer or busier; IMET_HOSTILE_DEBUG=1 logs at DEBUG (every close and its reason).
// Thread-safety: the test thread drives the clients; the server runs on two io_context threads.
// Invariants: a run is reproducible from its seeds up to thread timing.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../store/temp_dir.h"
#include "hostile_packets.h"
#include "mqtt/auth/authenticator.h"
#include "mqtt/broker/access.h"
#include "mqtt/broker/auth_access.h"
#include "mqtt/broker/broker.h"
#include "mqtt/broker/persistence.h"
#include "mqtt/broker/server.h"
#include "mqtt/codec/decoder.h"
#include "mqtt/codec/encoder.h"
#include "mqtt/codec/framing.h"
#include "store/msglog/message_log.h"
#include "store/rocks_store.h"
#include "util/clock.h"
#include "util/log.h"

namespace imet::mqtt::broker::hostile_test {
namespace {

using std::chrono::milliseconds;

size_t env_or(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

// One hostile client: a non-blocking socket, what it has not managed to send yet, and what it
// received and has not framed yet.
struct Actor {
  int fd = -1;
  Version version = Version::kV5;
  bool checked = false;  // its first bytes were a well-formed CONNECT: check what comes back
  bool reads = true;     // false: a client that never reads
  bool polite = false;   // sends only valid packets within the limits, and stays connected
  bool ws = false;       // MQTT over WebSocket: what it sends is framed, what it reads is unframed
  util::Bytes out;
  util::Bytes in;
  util::Bytes ws_in;  // WebSocket: received bytes not yet unframed
  size_t received_packets = 0;
};

struct Totals {
  size_t sent_packets = 0, sent_mutated = 0, received_packets = 0, connects = 0, closes = 0;
};

class HostileClientsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BrokerConfig cfg;
    cfg.connect_timeout = milliseconds(400);
    cfg.max_packet_size = 4096;
    cfg.max_topic_length = 64;
    cfg.max_topic_levels = 8;
    cfg.receive_maximum = 4;
    cfg.topic_alias_maximum = 4;
    cfg.max_inflight = 4;
    cfg.max_queued_messages = 16;
    cfg.max_queued_bytes = 8192;
    cfg.max_out_buffer = 16384;
    cfg.max_session_expiry = 60;
    cfg.sys_interval = std::chrono::seconds(1);
    config_ = cfg;
    open_node(nullptr);
  }

  // What a restart must bring back.
  struct Counts {
    size_t sessions = 0, subscriptions = 0, retained = 0;
  };

  // Opens the store, the log (every sealed segment verified), the broker (restored; its counts
  // compared with `expected` before housekeeping can expire anything) and the server.
  void open_node(const Counts* expected) {
    store::RocksStore::Options o;
    o.block_cache_bytes = 1 << 20;
    o.write_buffer_bytes = 1 << 20;
    auto kv = store::RocksStore::open(dir_.sub("db"), o);
    ASSERT_TRUE(kv.ok()) << kv.status().to_string();
    kv_ = std::move(*kv);
    store::msglog::Options lo;
    lo.segment_max_bytes = 64 << 10;  // many segments: sealing runs under the load too
    lo.verify_sealed_on_open = true;
    auto log = store::msglog::MessageLog::open(dir_.sub("log"), lo);
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    log_ = std::move(*log);
    EXPECT_EQ(log_->recovery().damaged_segments, 0u);
    for (const auto& seg : log_->segments())
      EXPECT_TRUE(seg.problem.empty()) << seg.path << ": " << seg.problem;
    persist_ = std::make_unique<Persistence>(*kv_, log_.get(), store::GroupCommitter::Options{});
    broker_ = std::make_unique<Broker>(config_, util::SystemClock::instance());
    broker_->set_persistence(persist_.get());
    const util::Status restored = broker_->restore();
    ASSERT_TRUE(restored.ok()) << restored.to_string();
    if (expected != nullptr) {
      EXPECT_EQ(broker_->session_count(), expected->sessions);
      EXPECT_EQ(broker_->subscription_count(), expected->subscriptions);
      EXPECT_EQ(broker_->retained_count(), expected->retained);
    }
    io_.restart();
    work_.emplace(boost::asio::make_work_guard(io_));
    broker_->start(io_);
    server_ = std::make_unique<MqttServer>(io_, *broker_, access());
    auto port = server_->listen_tcp("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status().message();
    port_ = *port;
    auto ws_port = server_->listen_ws("127.0.0.1", 0, "/mqtt", std::nullopt);
    ASSERT_TRUE(ws_port.ok()) << ws_port.status().message();
    ws_port_ = *ws_port;
    for (int i = 0; i < 2; ++i)
      threads_.emplace_back([this] { io_.run(); });
  }

  // Shuts the server and the broker down as imetd does at SIGTERM and closes the store; returns
  // what the broker held at the end.
  Counts stop_node() {
    Counts c;
    if (server_) server_->stop();
    if (broker_) {
      EXPECT_EQ(broker_->shutdown(milliseconds(2000)), 0u);
      broker_->stop();
    }
    work_.reset();
    io_.stop();
    for (auto& t : threads_)
      t.join();
    threads_.clear();
    server_.reset();
    if (broker_) {
      c = Counts{broker_->session_count(), broker_->subscription_count(),
                 broker_->retained_count()};
      earlier_.received += broker_->stats().messages_received.load();
      earlier_.sent += broker_->stats().messages_sent.load();
      earlier_.dropped += broker_->stats().publish_dropped.load();
    }
    broker_.reset();
    persist_.reset();
    log_.reset();
    kv_.reset();
    return c;
  }

  // A restart: what the broker held comes back, and the log is intact.
  void restart_node() {
    const Counts before = stop_node();
    open_node(&before);
  }

  void TearDown() override {
    for (Actor& a : actors_)
      close_actor(a, false);
    stop_node();
  }

  // The broker's access control: everyone may do anything, unless a test fixture says otherwise.
  virtual AccessControl& access() { return allow_all_; }

  // Whether the clients (not the sentinel) use the WebSocket listener.
  virtual bool use_ws() const { return false; }

  int open_socket(uint16_t port = 0) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port != 0 ? port : port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0)
        << std::strerror(errno);
    return fd;
  }

  void close_actor(Actor& a, bool reset) {
    if (a.fd < 0) return;
    if (reset) {
      const linger l{1, 0};  // RST instead of FIN
      ::setsockopt(a.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    ::close(a.fd);
    const bool polite = a.polite;
    a = Actor{};
    a.polite = polite;
    a.ws = use_ws();
    ++totals_.closes;
  }

  // Sends what it can without blocking; the rest waits in a.out.
  void flush(Actor& a) {
    while (a.fd >= 0 && !a.out.empty()) {
      const ssize_t n = ::send(a.fd, a.out.data(), a.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        a.out.erase(a.out.begin(), a.out.begin() + n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;
      } else {
        close_actor(a, false);  // the broker closed it
      }
    }
  }
  // Sends bytes as they are (over WebSocket: below the framing).
  void send_raw(Actor& a, const util::Bytes& b) {
    if (a.out.size() > (256u << 10)) return;  // a client the broker holds back: stop growing
    a.out.insert(a.out.end(), b.begin(), b.end());
    flush(a);
  }
  // Sends MQTT bytes: over WebSocket in one binary message (sometimes in two fragments, sometimes
  // after a ping; from a hostile client sometimes as a text message or unmasked, both fatal).
  void send_bytes(Actor& a, const util::Bytes& b) {
    if (!a.ws) return send_raw(a, b);
    util::Bytes framed;
    if (rng_.chance(3)) gen_.append_ws_frame(framed, 0x9, util::Bytes{'p'}, true, true);
    const bool text = !a.polite && rng_.chance(1);
    const bool masked = a.polite || !rng_.chance(1);
    if (b.size() > 1 && rng_.chance(10)) {
      const auto half = static_cast<std::ptrdiff_t>(b.size() / 2);
      gen_.append_ws_frame(framed, text ? 0x1 : 0x2, util::Bytes(b.begin(), b.begin() + half),
                           false, masked);
      gen_.append_ws_frame(framed, 0x0, util::Bytes(b.begin() + half, b.end()), true, masked);
    } else {
      gen_.append_ws_frame(framed, text ? 0x1 : 0x2, b, true, masked);
    }
    send_raw(a, framed);
  }
  // Moves the payload of the complete server frames in a.ws_in to a.in and answers pings; false
  // when the server sent a close frame.
  bool unframe_ws(Actor& a) {
    size_t at = 0;
    bool open = true;
    while (open) {
      const size_t left = a.ws_in.size() - at;
      if (left < 2) break;
      const uint8_t* f = a.ws_in.data() + at;
      EXPECT_EQ(f[1] & 0x80, 0) << "a server frame is masked";
      uint64_t len = f[1] & 0x7F;
      size_t head = 2;
      if (len == 126) {
        if (left < 4) break;
        len = (uint64_t{f[2]} << 8) | f[3];
        head = 4;
      } else if (len == 127) {
        if (left < 10) break;
        len = 0;
        for (int i = 0; i < 8; ++i)
          len = (len << 8) | f[2 + i];
        head = 10;
      }
      if (left < head + len) break;
      const uint8_t opcode = f[0] & 0x0F;
      const util::Bytes payload(f + head, f + head + len);
      if (opcode == 0x0 || opcode == 0x2) {
        a.in.insert(a.in.end(), payload.begin(), payload.end());
      } else if (opcode == 0x8) {
        open = false;
      } else if (opcode == 0x9) {
        util::Bytes pong;
        gen_.append_ws_frame(pong, 0xA, payload, true, true);
        a.out.insert(a.out.end(), pong.begin(), pong.end());
      } else {
        EXPECT_EQ(opcode, 0xA) << "unexpected WebSocket opcode from the server";
      }
      at += head + len;
    }
    a.ws_in.erase(a.ws_in.begin(), a.ws_in.begin() + static_cast<std::ptrdiff_t>(at));
    return open;
  }
  // The HTTP upgrade, blocking (the server sends nothing else before the client's first packet).
  bool ws_handshake(int fd) {
    const std::string req =
        "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: mqtt\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      return false;
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string resp;
    char c;
    while (resp.find("\r\n\r\n") == std::string::npos && ::recv(fd, &c, 1, 0) == 1)
      resp.push_back(c);
    EXPECT_EQ(resp.rfind("HTTP/1.1 101", 0), 0u) << resp;
    return resp.rfind("HTTP/1.1 101", 0) == 0;
  }
  void send_packet(Actor& a, const Packet& p, Version v) {
    auto b = encode_to_bytes(p, v);
    if (!b.ok()) return;  // the encoder refuses what cannot be put on the wire
    ++totals_.sent_packets;
    send_bytes(a, *b);
  }

  // Reads what has arrived; frames and decodes it when the client's version is known, answering
  // QoS 1/2 deliveries as a client would (mostly).
  void pump(Actor& a) {
    if (a.fd < 0 || !a.reads) return;
    uint8_t buf[8192];
    for (;;) {
      const ssize_t n = ::recv(a.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        (a.ws ? a.ws_in : a.in).insert((a.ws ? a.ws_in : a.in).end(), buf, buf + n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (a.ws) unframe_ws(a);
      frame_all(a);
      close_actor(a, false);  // EOF or reset: the broker ended the connection
      return;
    }
    const bool open = !a.ws || unframe_ws(a);
    frame_all(a);
    if (!open) close_actor(a, false);  // the server's WebSocket close
  }

  void frame_all(Actor& a) {
    if (!a.checked) {
      a.in.clear();
      return;
    }
    std::vector<Packet> received;
    size_t at = 0;
    for (;;) {
      const util::ByteSpan rest(a.in.data() + at, a.in.size() - at);
      const FrameProbe f = probe_frame(rest, kMaxPacketSize);
      if (f.status == FrameStatus::kNeedMore) break;
      ASSERT_EQ(f.status, FrameStatus::kComplete) << "the broker sent an unframeable stream";
      DecodeOptions opts;
      opts.version = a.version;
      opts.sender = Sender::kServer;
      auto p = decode_packet(rest.first(f.packet_size), opts);
      ASSERT_TRUE(p.ok()) << "the broker sent a packet that does not decode (version "
                          << (a.version == Version::kV5 ? "5.0" : "3.1.1")
                          << "): " << p.error().message;
      at += f.packet_size;
      received.push_back(std::move(*p));
    }
    a.in.erase(a.in.begin(), a.in.begin() + static_cast<std::ptrdiff_t>(at));
    a.received_packets += received.size();
    totals_.received_packets += received.size();
    for (const Packet& p : received)
      answer(a, p);  // may close the actor (a send fails)
  }

  void answer(Actor& a, const Packet& p) {
    if (a.fd < 0 || rng_.chance(10)) return;  // sometimes a client forgets
    if (const auto* pub = std::get_if<Publish>(&p)) {
      if (pub->qos == 1) send_packet(a, response<Puback>(pub->packet_id), a.version);
      if (pub->qos == 2) send_packet(a, response<Pubrec>(pub->packet_id), a.version);
    } else if (const auto* rel = std::get_if<Pubrel>(&p)) {
      send_packet(a, response<Pubcomp>(rel->packet_id), a.version);
    }
  }

  // ---- what the clients send ----

  // (Re)connects actor `a`: a CONNECT (mostly well formed), or a mutated one, or nothing.
  void reconnect(Actor& a) {
    close_actor(a, rng_.chance(50));
    a.fd = open_socket(a.ws ? ws_port_ : port_);
    if (a.ws && !ws_handshake(a.fd)) return close_actor(a, false);
    ::fcntl(a.fd, F_SETFL, ::fcntl(a.fd, F_GETFL) | O_NONBLOCK);
    const int one = 1;
    ::setsockopt(a.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    a.reads = !rng_.chance(8);
    ++totals_.connects;
    Connect c = gen_.random_connect(a.polite);
    auto b = encode_to_bytes(c, c.version);
    while (!b.ok()) {  // e.g. a will topic with a wildcard: not encodable
      c = gen_.random_connect(a.polite);
      b = encode_to_bytes(c, c.version);
    }
    a.version = c.version;
    const size_t k = a.polite ? 0 : rng_.below(100);
    if (k < 85) {
      a.checked = true;
      ++totals_.sent_packets;
      send_bytes(a, *b);
    } else if (k < 95) {
      ++totals_.sent_mutated;
      send_bytes(a, gen_.mutate(*b));
    }  // else: a silent socket, closed by the connect timeout
  }

  void step(Actor& a) {
    if (a.fd < 0 || rng_.chance(a.polite ? 1 : 3)) {
      reconnect(a);
    } else {
      const size_t k = rng_.below(100);
      if (k < 80) {
        send_packet(a, gen_.random_packet(a.version, a.polite), a.version);
      } else if (a.polite) {
        // only read
      } else if (k < 88) {
        auto b = encode_to_bytes(gen_.random_packet(a.version, false), a.version);
        if (b.ok()) {
          ++totals_.sent_mutated;
          send_bytes(a, gen_.mutate(*b));
        }
      } else if (k < 90) {
        ++totals_.sent_mutated;
        if (a.ws && rng_.chance(30)) {
          send_raw(a, rng_.bytes(1 + rng_.below(32)));  // below the WebSocket framing
        } else {
          send_bytes(a, rng_.bytes(1 + rng_.below(32)));
        }
      } else if (k < 92) {
        close_actor(a, rng_.chance(50));
        return;
      }  // else: only read
    }
    flush(a);
    pump(a);
  }

  // A well-behaved client: subscribes, publishes one QoS 1 message to itself and must get both the
  // PUBACK and the message within 5 s.
  void sentinel_round_trip(int n) {
    const int fd = open_socket();
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    Connect c;
    c.client_id = "sentinel";
    c.keep_alive = 60;
    Subscribe s;
    s.packet_id = 1;
    s.subscriptions.push_back(Subscription{"sentinel/round", SubscriptionOptions{1}});
    Publish p;
    p.topic = "sentinel/round";
    p.qos = 1;
    p.packet_id = 2;
    const std::string payload = "round " + std::to_string(n);
    p.payload = SharedBytes::copy_of(std::string_view(payload));
    util::Bytes out;
    ASSERT_TRUE(encode_packet(c, Version::kV5, out).ok());
    ASSERT_TRUE(encode_packet(s, Version::kV5, out).ok());
    ASSERT_TRUE(::send(fd, out.data(), out.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(out.size()));
    bool connacked = false, subacked = false, published = false, acked = false, got = false;
    util::Bytes in;
    uint8_t buf[4096];
    const auto t0 = std::chrono::steady_clock::now();
    std::string late;  // what was missing after the first 5 s
    while (!(acked && got)) {
      const ssize_t got_bytes = ::recv(fd, buf, sizeof buf, 0);
      if (got_bytes <= 0 && late.empty()) {
        // Diagnose: is it slow or lost? Wait up to a minute more and tell which.
        const auto st = persist_->committer_stats();
        late = "after 5 s: connack " + std::to_string(connacked) + ", suback " +
               std::to_string(subacked) + ", puback " + std::to_string(acked) + ", message " +
               std::to_string(got) + "; committer backlogged " +
               std::to_string(persist_->backlogged()) + ", commits " + std::to_string(st.commits) +
               ", rounds " + std::to_string(st.rounds);
        timeval longer{60, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &longer, sizeof longer);
        continue;
      }
      ASSERT_GT(got_bytes, 0) << "sentinel round " << n << ": the broker stopped serving; " << late
                              << "; after 65 s: puback " << acked << ", message " << got
                              << ", commits " << persist_->committer_stats().commits;
      in.insert(in.end(), buf, buf + got_bytes);
      for (;;) {
        const FrameProbe f = probe_frame(in, kMaxPacketSize);
        if (f.status != FrameStatus::kComplete) break;
        DecodeOptions opts;
        opts.sender = Sender::kServer;
        auto pkt = decode_packet(util::ByteSpan(in).first(f.packet_size), opts);
        ASSERT_TRUE(pkt.ok()) << pkt.error().message;
        in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(f.packet_size));
        if (const auto* ack = std::get_if<Connack>(&*pkt)) {
          ASSERT_EQ(ack->reason_code, ReasonCode::kSuccess);
          connacked = true;
        } else if (std::get_if<Suback>(&*pkt) != nullptr) {
          subacked = true;
        } else if (const auto* pa = std::get_if<Puback>(&*pkt)) {
          acked = pa->packet_id == 2;
        } else if (const auto* m = std::get_if<Publish>(&*pkt)) {
          got = got || m->payload.as_string_view() == payload;
          if (m->qos == 1) {
            util::Bytes puback;
            ASSERT_TRUE(encode_packet(response<Puback>(m->packet_id), Version::kV5, puback).ok());
            ::send(fd, puback.data(), puback.size(), MSG_NOSIGNAL);
          }
        }
        if (subacked && !published) {
          util::Bytes pub;
          ASSERT_TRUE(encode_packet(p, Version::kV5, pub).ok());
          ASSERT_EQ(::send(fd, pub.data(), pub.size(), MSG_NOSIGNAL),
                    static_cast<ssize_t>(pub.size()));
          published = true;
        }
      }
    }
    EXPECT_TRUE(late.empty())
        << "sentinel round " << n << " took "
        << std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0).count()
        << " ms; " << late;
    util::Bytes bye;
    ASSERT_TRUE(encode_packet(Disconnect{}, Version::kV5, bye).ok());
    ::send(fd, bye.data(), bye.size(), MSG_NOSIGNAL);
    ::close(fd);
  }

  // Runs `steps` random steps over the actors, with a sentinel round trip every 200.
  void run(uint64_t seed, size_t steps) {
    rng_ = Rng(seed);
    actors_.assign(env_or("IMET_HOSTILE_CLIENTS", 8), Actor{});
    for (size_t i = 0; i < actors_.size(); ++i) {
      actors_[i].polite = i < actors_.size() / 2;
      actors_[i].ws = use_ws();
    }
    for (size_t i = 0; i < steps; ++i) {
      step(actors_[rng_.below(actors_.size())]);
      if (HasFatalFailure()) return;
      if (i % 200 == 199) {
        for (Actor& a : actors_)
          pump(a);
        sentinel_round_trip(static_cast<int>(i));
        if (HasFatalFailure()) return;
      }
    }
    for (Actor& a : actors_)
      close_actor(a, rng_.chance(50));
  }

  // Every connection ends once its socket is closed.
  void expect_all_connections_end() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    BrokerStats& st = broker_->stats();
    while (std::chrono::steady_clock::now() < deadline &&
           (st.sockets_open.load() != 0 || st.clients_connected.load() != 0))
      std::this_thread::sleep_for(milliseconds(20));
    EXPECT_EQ(st.sockets_open.load(), 0);
    EXPECT_EQ(st.clients_connected.load(), 0);
  }

  // The whole test: `default_seeds` runs of IMET_HOSTILE_STEPS steps, then the end checks.
  void run_and_check(size_t default_seeds) {
    if (std::getenv("IMET_HOSTILE_DEBUG") != nullptr)
      util::log::set_level(util::log::Level::kDebug);
    const size_t seeds = env_or("IMET_HOSTILE_SEEDS", default_seeds);
    const size_t steps = env_or("IMET_HOSTILE_STEPS", 3000);
    for (uint64_t seed = 1; seed <= seeds; ++seed) {
      SCOPED_TRACE("seed " + std::to_string(seed));
      run(seed, steps);
      if (HasFatalFailure()) return;
      if (seed < seeds) {  // between seeds, a restart over the state the clients left
        expect_all_connections_end();
        restart_node();
        if (HasFatalFailure()) return;
      }
    }
    expect_all_connections_end();
    // The run reached what it is for: the clients sent and received a lot, and the broker refused
    // some of it.
    EXPECT_GT(totals_.sent_packets, seeds * steps / 2);
    EXPECT_GT(totals_.sent_mutated, seeds * steps / 40);
    EXPECT_GT(totals_.received_packets, seeds * steps / 4);
    const BrokerStats& st = broker_->stats();
    const uint64_t accepted = earlier_.received + st.messages_received.load();
    EXPECT_GT(accepted, seeds * steps / 20);
    std::cout << "hostile clients: " << seeds << " seeds x " << steps
              << " steps: " << totals_.connects << " connections, " << totals_.sent_packets
              << " packets and " << totals_.sent_mutated << " mutated ones sent, "
              << totals_.received_packets << " packets received, " << totals_.closes
              << " closes; broker: " << accepted << " messages accepted, "
              << earlier_.sent + st.messages_sent.load() << " sent, "
              << earlier_.dropped + st.publish_dropped.load() << " dropped; " << seeds - 1
              << " restarts\n";
    restart_node();
  }

  store::testing::TempDir dir_;
  std::unique_ptr<store::KvStore> kv_;
  std::unique_ptr<store::msglog::MessageLog> log_;
  BrokerConfig config_;
  std::unique_ptr<Persistence> persist_;
  std::unique_ptr<Broker> broker_;
  AllowAll allow_all_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::unique_ptr<MqttServer> server_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;     // TCP: the sentinel, and the clients unless use_ws()
  uint16_t ws_port_ = 0;  // WebSocket, path /mqtt
  Rng rng_{0};
  PacketGenerator gen_{rng_};
  std::vector<Actor> actors_;
  Totals totals_;
  struct {
    uint64_t received = 0, sent = 0, dropped = 0;
  } earlier_;  // the broker's counters before the last restart
};

TEST_F(HostileClientsTest, BrokerKeepsServingAndSendsOnlyWellFormedPackets) {
  run_and_check(5);
}

// The same with an ACL file (mosquitto's format) and anonymous access: refused subscriptions and
// publishes (SUBACK / PUBACK 0x87 or 0x80, 3.1.1 drops) and per-delivery read checks run under
// the same hostile load.
class HostileClientsAclTest : public HostileClientsTest {
 protected:
  AccessControl& access() override {
    if (!acl_) {
      const std::string path = dir_.sub("acl");
      std::ofstream(path) << "topic readwrite sentinel/#\n"
                             "topic readwrite a/#\n"
                             "topic read t/#\n"
                             "topic write t/1\n"
                             "topic deny $x/#\n"
                             "pattern readwrite dev/%c/#\n"
                             "user user\n"
                             "topic readwrite #\n";
      auth::AuthConfig config;
      config.allow_anonymous = true;
      config.acl_file = path;
      auto a = auth::Authenticator::create(config, {}, util::SystemClock::instance());
      EXPECT_TRUE(a.ok()) << a.status().to_string();
      acl_ = std::make_unique<AuthAccess>(std::move(*a));
    }
    return *acl_;
  }
  std::unique_ptr<AuthAccess> acl_;
};

TEST_F(HostileClientsAclTest, BrokerKeepsServingAndSendsOnlyWellFormedPackets) {
  run_and_check(3);
}

// The same over WebSocket (path /mqtt, subprotocol mqtt): MQTT packets split across messages and
// fragments, pings, and from the hostile clients text messages, unmasked frames and bytes that
// break the framing itself.
class HostileClientsWsTest : public HostileClientsTest {
 protected:
  bool use_ws() const override { return true; }
};

TEST_F(HostileClientsWsTest, BrokerKeepsServingAndSendsOnlyWellFormedPackets) {
  run_and_check(3);
}

}  // namespace
}  // namespace imet::mqtt::broker::hostile_test
