// Link: one TCP connection to a peer, secured with Noise_XX_25519_ChaChaPoly_BLAKE2b. Runs the
// handshake (our Hello in message 2 as responder or message 3 as initiator; hello.h), then carries
// frames (frame.h) split over Noise transport messages. Every Noise message on the wire is
// preceded by its length as 2 bytes big-endian. Each direction rekeys its cipher after every
// NetConfig::rekey_interval_messages transport messages (TransportState::set_rekey_interval).
// The Link checks the peer's Hello (protocol version, network id, identity signature over the
// Noise static key, not ourselves) and reports to its LinkOwner (the Host): ready, each frame,
// violations, closed.
// Thread-safety: everything runs on the host strand (the socket's executor); call methods only
// from there.
// Invariants: at most one read and one write are outstanding; no frame is reported before the
// peer's Hello has been verified; after close() nothing more is reported except on_link_closed,
// exactly once (posted, so never from inside a caller's loop); queued output never exceeds
// NetConfig::max_write_queue_bytes (a send that would exceed it closes the link instead).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "crypto/noise/handshake.h"
#include "crypto/x25519.h"
#include "net/config.h"
#include "net/frame.h"
#include "net/hello.h"
#include "net/types.h"
#include "net/wire.h"

namespace imet::net {

class Link;

// What every link of one host shares; immutable once the host has started.
struct LinkSettings {
  NetConfig config;
  crypto::X25519KeyPair noise_static;  // fresh per process
  util::Bytes hello;                   // our encoded Hello (signed over noise_static)
  PeerId self_id{};
};

class LinkOwner {
 public:
  virtual ~LinkOwner() = default;
  virtual void on_link_ready(const std::shared_ptr<Link>& link) = 0;
  virtual void on_link_frame(const std::shared_ptr<Link>& link, Frame&& frame) = 0;
  // The peer broke the protocol after authenticating (bad frame): score it.
  virtual void on_link_violation(const std::shared_ptr<Link>& link, double points,
                                 const std::string& reason) = 0;
  virtual void on_link_closed(const std::shared_ptr<Link>& link) = 0;
};

// Why a link ended before or during the handshake (kNone for ordinary closes).
enum class LinkRefusal { kNone, kHandshake, kTimeout, kVersion, kNetwork, kSignature, kSelf };

// The Noise prologue of every link (both sides must use the same).
inline constexpr std::string_view kNoisePrologue = "IMET/p2p/noise/v1";

int64_t steady_now_ms();

class Link final : public std::enable_shared_from_this<Link> {
 public:
  // Largest plaintext in one Noise transport message (65535 minus the 16-byte tag).
  static constexpr size_t kMaxNoisePlaintext = 65535 - 16;

  Link(std::shared_ptr<LinkOwner> owner, std::shared_ptr<const LinkSettings> settings,
       boost::asio::ip::tcp::socket socket, bool outbound, std::optional<Endpoint> dialed);

  // Starts reading; the initiator sends handshake message 1.
  void start();
  // Queues one frame (only once ready()). Closes the link if the write queue would overflow.
  void send_frame(uint8_t type, uint8_t flags, util::ByteSpan payload);
  // Ends the link (idempotent); `reason` is kept for logs.
  void close(std::string reason, LinkRefusal refusal = LinkRefusal::kNone);
  // Handshake and write timeouts.
  void tick(int64_t now_ms);

  bool ready() const { return ready_; }
  bool closed() const { return closed_; }
  bool outbound() const { return outbound_; }
  const std::optional<Endpoint>& dialed() const { return dialed_; }
  // Valid once ready().
  const Hello& hello() const { return hello_; }
  const PeerId& id() const { return hello_.identity; }
  const std::string& remote_ip() const { return remote_ip_; }
  uint16_t remote_port() const { return remote_port_; }
  std::string remote_address() const;
  const std::string& close_reason() const { return close_reason_; }
  LinkRefusal refusal() const { return refusal_; }
  int64_t started_ms() const { return started_ms_; }  // steady clock: the TCP connection began
  int64_t last_rx_ms() const { return last_rx_ms_; }
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }
  size_t queued_bytes() const { return out_pending_.size() + out_writing_.size(); }

 private:
  void read();
  void on_read(const boost::system::error_code& ec, size_t n);
  // Handles one Noise message (without its length prefix).
  void on_noise_message(util::ByteSpan msg);
  void on_handshake_message(util::ByteSpan msg);
  // Decodes and checks the peer's Hello; closes and returns false when refused.
  bool accept_hello(util::ByteSpan payload);
  void become_ready();
  void send_noise_message(util::ByteSpan msg);
  void write();

  std::shared_ptr<LinkOwner> owner_;
  std::shared_ptr<const LinkSettings> settings_;
  boost::asio::ip::tcp::socket socket_;
  const bool outbound_;
  const std::optional<Endpoint> dialed_;
  std::string remote_ip_;
  uint16_t remote_port_ = 0;

  std::optional<crypto::noise::HandshakeState> handshake_;
  std::optional<crypto::noise::TransportState> transport_;
  FrameDecoder decoder_;
  Hello hello_;
  bool ready_ = false;
  bool closed_ = false;
  std::string close_reason_;
  LinkRefusal refusal_ = LinkRefusal::kNone;
  int64_t started_ms_;
  int64_t last_rx_ms_;

  util::Bytes read_buf_;  // one async_read_some target
  util::Bytes rx_;        // bytes of incomplete Noise messages
  std::vector<Frame> frames_;

  util::Bytes out_pending_;
  util::Bytes out_writing_;
  bool writing_ = false;
  int64_t write_started_ms_ = 0;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
};

}  // namespace imet::net
