// Noise HandshakeState (Noise Protocol Framework rev. 34, section 5.3) for
// Noise_<pattern>_25519_ChaChaPoly_BLAKE2b, as a pure state machine over bytes: no sockets, no
// framing. It interprets any Pattern's token tables (pre-messages, e/s/ee/es/se/ss/psk tokens,
// psk mode), so every pattern pattern.h knows is supported. The caller moves bytes between peers:
//   initiator: m1 = write_message(p1)  ->  responder: p1 = read_message(m1)
//   responder: m2 = write_message(p2)  ->  initiator: p2 = read_message(m2)  ...
// and after is_complete(), split() gives the TransportState.
// Thread-safety: not safe for concurrent use; distinct objects are independent.
// Invariants: messages alternate initiator, responder, ... as the pattern lists them. A call out
// of turn, after completion, or a write whose payload would make the message exceed 65535 bytes
// fails without changing state. Any read_message() error (over-long, truncated or modified
// message, wrong keys/prologue/PSK, low-order key) and any other write error poisons the state:
// every later call fails and the handshake must be restarted, as the spec requires.
// Secrets (static and ephemeral private keys, PSKs, chaining key) are wiped on destruction.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "crypto/hash.h"
#include "crypto/noise/pattern.h"
#include "crypto/noise/symmetric_state.h"
#include "crypto/noise/transport.h"
#include "crypto/x25519.h"
#include "util/bytes.h"
#include "util/result.h"

namespace imet::crypto::noise {

using Psk = util::ByteArray<32>;

struct HandshakeConfig {
  Pattern pattern;
  Role role = Role::kInitiator;
  util::Bytes prologue;
  // Our static key pair; required if the pattern sends it or uses it in a pre-message or DH.
  std::optional<X25519KeyPair> local_static;
  // Our ephemeral key pair; normally left empty so a fresh one is generated. Set it only for
  // deterministic tests (reusing an ephemeral key destroys Noise's security).
  std::optional<X25519KeyPair> local_ephemeral;
  // The peer's keys known in advance (pre-messages, e.g. the responder's static key for IK/NK).
  std::optional<util::ByteArray<32>> remote_static;
  std::optional<util::ByteArray<32>> remote_ephemeral;
  // One PSK per psk token, in the order the tokens occur.
  std::vector<Psk> psks;

  // Wipes the PSKs (the key pairs wipe themselves).
  ~HandshakeConfig();
};

class HandshakeState {
 public:
  // Initialize(): checks the config against the pattern (errors name the missing or unexpected
  // key, or the wrong number of PSKs; kInvalidArgument), mixes the protocol name, prologue and
  // pre-message keys.
  static util::Result<HandshakeState> create(HandshakeConfig config);

  HandshakeState(HandshakeState&&) = default;
  HandshakeState& operator=(HandshakeState&&) = default;
  HandshakeState(const HandshakeState&) = delete;
  HandshakeState& operator=(const HandshakeState&) = delete;
  ~HandshakeState();

  // WriteMessage(payload): the next handshake message. kFailedPrecondition if it is not our turn,
  // the handshake is complete or has failed; kInvalidArgument if it would exceed 65535 bytes.
  util::Result<util::Bytes> write_message(util::ByteSpan payload);
  // ReadMessage(message): the payload of the peer's next handshake message. kFailedPrecondition as
  // above; kInvalidArgument for an over-long or truncated message, a decryption failure or a
  // low-order public key.
  util::Result<util::Bytes> read_message(util::ByteSpan message);

  bool is_complete() const { return next_message_ >= pattern_.messages.size(); }
  // True if the next handshake message is ours to write (false once complete).
  bool is_my_turn() const;
  bool has_failed() const { return failed_; }
  // Index of the next handshake message (0-based).
  size_t message_index() const { return next_message_; }
  const Pattern& pattern() const { return pattern_; }
  Role role() const { return role_; }
  // The running handshake hash h; after completion, the final value (a channel binding).
  const Hash512& handshake_hash() const { return symmetric_.handshake_hash(); }
  // The peer's static public key once known (pre-message or received), else empty.
  const std::optional<util::ByteArray<32>>& remote_static() const { return rs_; }
  const std::optional<util::ByteArray<32>>& remote_ephemeral() const { return re_; }

  // Split(): the transport CipherStates for our role. kFailedPrecondition until is_complete().
  util::Result<TransportState> split() const;

 private:
  HandshakeState(Pattern pattern, Role role, SymmetricState symmetric);

  util::Status check_can_act(bool writing) const;
  // Exact size of the next message carrying a payload of `payload_size` bytes.
  size_t message_size(size_t payload_size) const;
  util::Status mix_dh(Token token);
  util::Result<util::Bytes> write_tokens(util::ByteSpan payload);
  util::Result<util::Bytes> read_tokens(util::ByteSpan message);

  Pattern pattern_;
  Role role_;
  SymmetricState symmetric_;
  std::optional<X25519KeyPair> s_;
  std::optional<X25519KeyPair> e_;
  std::optional<X25519KeyPair> configured_e_;  // used by the first "e" token instead of a new key
  std::optional<util::ByteArray<32>> rs_;
  std::optional<util::ByteArray<32>> re_;
  std::vector<Psk> psks_;
  size_t next_psk_ = 0;
  size_t next_message_ = 0;
  bool failed_ = false;
};

}  // namespace imet::crypto::noise
