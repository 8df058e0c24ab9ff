// Public vocabulary of the P2P layer: peer identities, the peer summary the application sees, the
// Handler interface the application implements, and the message-type space.
// Thread-safety: plain values and an interface; see host.h for when Handler methods are called.
// Invariants: message types below kFirstAppMessageType are reserved for the net layer (ping,
// address exchange); the application sends and receives only types >= kFirstAppMessageType.
#pragma once

#include <cstdint>
#include <string>

#include "crypto/ed25519.h"
#include "util/bytes.h"

namespace imet::net {

// A peer is named by its node's Ed25519 public key, proven inside the Noise handshake.
using PeerId = crypto::PublicKey;

// Version of the wire protocol in this file set (handshake payload, framing, net messages).
inline constexpr uint16_t kProtocolVersion = 1;

// Message types 0..15 belong to the net layer.
inline constexpr uint8_t kFirstAppMessageType = 16;

// Lowercase hex of the whole key (64 characters), for logs and APIs.
std::string peer_id_hex(const PeerId& id);
// The first 8 bytes in hex: enough to tell peers apart in a log line.
std::string peer_id_short(const PeerId& id);

struct PeerInfo {
  PeerId id{};
  std::string remote_address;  // "ip:port" of the TCP connection
  uint16_t listen_port = 0;    // the port the peer says it listens on (0: none)
  bool outbound = false;       // we dialled it
  uint16_t protocol_version = 0;
  std::string software_version;
  double score = 0;  // misbehaviour points (ban at NetConfig::ban_threshold)
  int64_t connected_unix_ms = 0;
  int64_t rtt_ms = -1;  // last ping round trip, -1 before the first pong
  uint64_t messages_in = 0;
  uint64_t messages_out = 0;
  uint64_t bytes_in = 0;  // encrypted bytes on the wire
  uint64_t bytes_out = 0;
};

// Implemented by the application (the node). All methods are called on the host's strand, one at
// a time, never concurrently (host.h). They must not block for long: every peer waits meanwhile.
// They may call any Host method.
class Handler {
 public:
  virtual ~Handler() = default;
  // A peer finished the handshake and is now the one connection for its identity.
  virtual void on_peer_connected(const PeerId& id, const PeerInfo& info) = 0;
  // The peer's connection ended (after on_peer_connected; exactly once per connected).
  virtual void on_peer_disconnected(const PeerId& id) = 0;
  // An application message (type >= kFirstAppMessageType). `payload` is valid during the call.
  // Gossip already seen by this host is not delivered again.
  virtual void on_message(const PeerId& from, uint8_t type, util::ByteSpan payload) = 0;
};

}  // namespace imet::net
