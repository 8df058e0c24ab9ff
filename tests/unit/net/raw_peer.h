// RawPeer: a hand-driven peer for host tests, over a blocking POSIX socket with poll() timeouts.
// It speaks the real protocol (Noise XX with a Hello) through the library's pure parts, and can
// also send arbitrary bytes, tampered messages and oversized frames, or stop reading. It dials
// the host (handshake) or answers the host's dial on a RawListener (respond).
// Thread-safety: one test thread. Invariants: after handshake() succeeds, send_frame/read_frame
// use the transport state; every failure is reported, never thrown.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/noise/handshake.h"
#include "crypto/noise/pattern.h"
#include "net/frame.h"
#include "net/hello.h"
#include "net/link.h"

namespace imet::net::testing {

class RawPeer {
 public:
  explicit RawPeer(util::ByteArray<32> network_id,
                   crypto::SigningKey key = crypto::SigningKey::generate())
      : network_id_(network_id), key_(std::move(key)), decoder_(size_t{64} << 20) {}
  ~RawPeer() {
    if (fd_ >= 0) ::close(fd_);
  }

  // Connections start from this loopback address (e.g. "127.1.0.1": another netgroup when the
  // host limits local netgroups); the default is the kernel's choice, 127.0.0.1.
  void set_source(const std::string& ip) { source_ = ip; }
  // Rekey each direction after this many transport messages (default: the protocol's interval,
  // as a host does; 0: never). Set it before the handshake.
  void set_rekey_interval(uint64_t messages) { rekey_interval_ = messages; }

  bool connect(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (!source_.empty()) {
      sockaddr_in s{};
      s.sin_family = AF_INET;
      if (::inet_pton(AF_INET, source_.c_str(), &s.sin_addr) != 1 ||
          ::bind(fd_, reinterpret_cast<sockaddr*>(&s), sizeof s) != 0) {
        return false;
      }
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  void set_receive_buffer(int bytes) {
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }

  // The whole initiator side of the handshake. Returns the host's Hello, or an error.
  util::Result<Hello> handshake(uint16_t port, int timeout_ms = 3000) {
    if (!connect(port)) return util::io_error("connect failed");
    return handshake_on_connected(timeout_ms);
  }
  util::Result<Hello> handshake_on_connected(int timeout_ms = 3000) {
    crypto::noise::HandshakeConfig hc;
    hc.pattern = *crypto::noise::pattern_by_name("XX");
    hc.role = crypto::noise::Role::kInitiator;
    hc.prologue = util::to_bytes(kNoisePrologue);
    auto static_key = crypto::X25519KeyPair::generate();
    hc.local_static = static_key;
    auto hs = crypto::noise::HandshakeState::create(std::move(hc));
    if (!hs.ok()) return hs.status();
    auto m1 = hs->write_message({});
    if (!m1.ok()) return m1.status();
    send_noise(*m1);
    auto m2 = read_noise(timeout_ms);
    if (!m2) return util::io_error("no handshake message 2");
    auto p2 = hs->read_message(*m2);
    if (!p2.ok()) return p2.status();
    auto hello = decode_hello(*p2);
    if (!hello.ok()) return hello.status();
    const Hello mine = make_hello(key_, network_id_, static_key.public_key, 0, "raw-peer");
    auto m3 = hs->write_message(encode_hello(mine));
    if (!m3.ok()) return m3.status();
    send_noise(*m3);
    auto ts = hs->split();
    if (!ts.ok()) return ts.status();
    transport_.emplace(std::move(*ts));
    transport_->set_rekey_interval(rekey_interval_);
    return hello;
  }

  void send_raw(util::ByteSpan bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  // The 2-byte length, then the message, as two writes on the stream (no copy: GCC 12 -O2 falsely
  // flags a copy into a vector sized 2 + msg.size() as an overflow).
  void send_noise(util::ByteSpan msg) {
    const uint8_t len[2] = {static_cast<uint8_t>(msg.size() >> 8),
                            static_cast<uint8_t>(msg.size())};
    send_raw(util::ByteSpan(len, 2));
    send_raw(msg);
  }
  // One encrypted transport message holding `plain` (<= 65519 bytes); `tamper` flips a bit.
  void send_plain(util::ByteSpan plain, bool tamper = false) {
    auto enc = transport_->write_message(plain);
    if (tamper) (*enc)[enc->size() / 2] ^= 0x01;
    send_noise(*enc);
  }
  // A whole frame, split like the host splits it.
  void send_frame(uint8_t type, uint8_t flags, util::ByteSpan payload) {
    const util::Bytes f = encode_frame(type, flags, payload);
    for (size_t off = 0; off < f.size(); off += Link::kMaxNoisePlaintext) {
      const size_t n = std::min(Link::kMaxNoisePlaintext, f.size() - off);
      send_plain(util::ByteSpan(f).subspan(off, n));
    }
  }

  // The next Noise message, or nullopt on timeout / EOF.
  std::optional<util::Bytes> read_noise(int timeout_ms) {
    while (true) {
      if (rx_.size() >= 2) {
        const size_t len = (size_t{rx_[0]} << 8) | rx_[1];
        if (rx_.size() >= 2 + len) {
          util::Bytes msg(rx_.begin() + 2, rx_.begin() + 2 + static_cast<std::ptrdiff_t>(len));
          rx_.erase(rx_.begin(), rx_.begin() + 2 + static_cast<std::ptrdiff_t>(len));
          return msg;
        }
      }
      if (!fill(timeout_ms)) return std::nullopt;
    }
  }
  // The next application or net frame, or nullopt on timeout / EOF / decryption failure.
  std::optional<Frame> read_frame(int timeout_ms) {
    while (frames_.empty()) {
      auto m = read_noise(timeout_ms);
      if (!m) return std::nullopt;
      auto plain = transport_->read_message(*m);
      if (!plain.ok()) return std::nullopt;
      if (!decoder_.feed(*plain, frames_).ok()) return std::nullopt;
    }
    Frame f = std::move(frames_.front());
    frames_.erase(frames_.begin());
    return f;
  }
  // True if the host closes the connection within the timeout (reads and discards data).
  bool closed_by_host(int timeout_ms) {
    const auto deadline = steady_now_ms() + timeout_ms;
    while (steady_now_ms() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      uint8_t buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return true;
    }
    return false;
  }

  // The responder side of the handshake on a connection accepted by a RawListener; the Hello
  // announces `listen_port`. Returns the host's Hello, or an error.
  util::Result<Hello> respond(int fd, uint16_t listen_port, int timeout_ms = 3000) {
    fd_ = fd;
    crypto::noise::HandshakeConfig hc;
    hc.pattern = *crypto::noise::pattern_by_name("XX");
    hc.role = crypto::noise::Role::kResponder;
    hc.prologue = util::to_bytes(kNoisePrologue);
    auto static_key = crypto::X25519KeyPair::generate();
    hc.local_static = static_key;
    auto hs = crypto::noise::HandshakeState::create(std::move(hc));
    if (!hs.ok()) return hs.status();
    auto m1 = read_noise(timeout_ms);
    if (!m1) return util::io_error("no handshake message 1");
    auto p1 = hs->read_message(*m1);
    if (!p1.ok()) return p1.status();
    const Hello mine =
        make_hello(key_, network_id_, static_key.public_key, listen_port, "raw-peer");
    auto m2 = hs->write_message(encode_hello(mine));
    if (!m2.ok()) return m2.status();
    send_noise(*m2);
    auto m3 = read_noise(timeout_ms);
    if (!m3) return util::io_error("no handshake message 3");
    auto p3 = hs->read_message(*m3);
    if (!p3.ok()) return p3.status();
    auto hello = decode_hello(*p3);
    if (!hello.ok()) return hello.status();
    auto ts = hs->split();
    if (!ts.ok()) return ts.status();
    transport_.emplace(std::move(*ts));
    transport_->set_rekey_interval(rekey_interval_);
    return hello;
  }
  // Closes the connection (FIN).
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  const PeerId& id() const { return key_.public_key(); }
  const crypto::SigningKey& key() const { return key_; }

 private:
  bool fill(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    uint8_t buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    const size_t old = rx_.size();
    rx_.resize(old + static_cast<size_t>(n));
    std::memcpy(rx_.data() + old, buf, static_cast<size_t>(n));
    return true;
  }

  util::ByteArray<32> network_id_;
  crypto::SigningKey key_;
  std::string source_;
  uint64_t rekey_interval_ = kRekeyIntervalMessages;
  int fd_ = -1;
  util::Bytes rx_;
  std::optional<crypto::noise::TransportState> transport_;
  FrameDecoder decoder_;
  std::vector<Frame> frames_;
};

// A listening socket on 127.0.0.1 for hosts to dial; accept() hands a connection to a RawPeer.
class RawListener {
 public:
  RawListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = 0;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd_, 16) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port_ = ntohs(a.sin_port);
    }
  }
  ~RawListener() { ::close(fd_); }
  RawListener(const RawListener&) = delete;
  RawListener& operator=(const RawListener&) = delete;

  uint16_t port() const { return port_; }  // 0 if listening failed
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // The next connection's descriptor, or -1 on timeout.
  int accept(int timeout_ms = 3000) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return -1;
    return ::accept(fd_, nullptr, nullptr);
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace imet::net::testing
