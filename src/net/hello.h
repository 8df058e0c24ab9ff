// Hello: the identity payload of the Noise XX handshake. The responder sends it encrypted in
// message 2, the initiator in message 3. It proves that the node holding an Ed25519 identity key
// also holds the X25519 static key of this Noise session:
//   signature = Ed25519(identity, kHelloDomain || network_id || noise_static_public_key)
// Noise authenticates the static key (the es/se DH steps), so a verified Hello binds the session
// to the identity (reasoning in docs/design/p2p.md). Encoded with the canonical codec:
//   u16 protocol_version | fixed32 network_id | fixed32 identity | fixed64 signature |
//   u16 listen_port | string software_version (UTF-8, <= 64 bytes)
// (integers little-endian, string = LEB128 length + bytes; codec/serialize.h).
// Thread-safety: pure functions over values.
// Invariants: decode_hello accepts only canonical encodings (re-encoding gives the same bytes);
// check_hello is OK only if the version and network match and the signature verifies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/ed25519.h"
#include "util/bytes.h"
#include "util/result.h"

namespace imet::net {

inline constexpr std::string_view kHelloDomain = "IMET/p2p/hello/v1";
inline constexpr size_t kMaxSoftwareVersionBytes = 64;
// Largest encoded Hello (fits easily in one Noise handshake message).
inline constexpr size_t kMaxHelloBytes = 2 + 32 + 32 + 64 + 2 + 1 + kMaxSoftwareVersionBytes;

struct Hello {
  uint16_t protocol_version = 0;
  util::ByteArray<32> network_id{};
  crypto::PublicKey identity{};
  crypto::Signature signature{};
  uint16_t listen_port = 0;
  std::string software_version;

  template <typename S>
  void serde(S& s) {
    s.u16(protocol_version, "protocol_version");
    s.fixed(network_id, "network_id");
    s.fixed(identity, "identity");
    s.fixed(signature, "signature");
    s.u16(listen_port, "listen_port");
    s.string(software_version, kMaxSoftwareVersionBytes, "software_version");
  }
  bool operator==(const Hello&) const = default;
};

// The bytes the identity key signs.
util::Bytes hello_signed_message(const util::ByteArray<32>& network_id,
                                 const util::ByteArray<32>& noise_static_public);

// Our Hello for a session whose Noise static public key is `noise_static_public`. The software
// version is truncated to kMaxSoftwareVersionBytes (at a UTF-8 boundary).
Hello make_hello(const crypto::SigningKey& identity, const util::ByteArray<32>& network_id,
                 const util::ByteArray<32>& noise_static_public, uint16_t listen_port,
                 std::string_view software_version);

util::Bytes encode_hello(const Hello& hello);
// kInvalidArgument naming the field ("invalid encoding at offset 2: ... for field 'network_id'").
util::Result<Hello> decode_hello(util::ByteSpan bytes);

// Why check_hello refused a peer.
enum class HelloRefusal { kNone, kVersion, kNetwork, kSignature };

struct HelloCheck {
  HelloRefusal refusal = HelloRefusal::kNone;
  std::string reason;  // empty when accepted
  bool ok() const { return refusal == HelloRefusal::kNone; }
};

// Checks a decoded Hello against our network and the remote static key Noise authenticated.
HelloCheck check_hello(const Hello& hello, const util::ByteArray<32>& our_network_id,
                       const util::ByteArray<32>& remote_noise_static);

}  // namespace imet::net
