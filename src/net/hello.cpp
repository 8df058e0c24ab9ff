// Hello payload: encoding, signing and checking (hello.h).
#include "net/hello.h"

#include <algorithm>

#include "codec/serialize.h"
#include "net/types.h"

namespace imet::net {

util::Bytes hello_signed_message(const util::ByteArray<32>& network_id,
                                 const util::ByteArray<32>& noise_static_public) {
  util::Bytes msg(kHelloDomain.size() + 64);
  std::copy(kHelloDomain.begin(), kHelloDomain.end(), msg.begin());
  auto it = msg.begin() + static_cast<std::ptrdiff_t>(kHelloDomain.size());
  it = std::copy(network_id.begin(), network_id.end(), it);
  std::copy(noise_static_public.begin(), noise_static_public.end(), it);
  return msg;
}

namespace {
std::string truncate_utf8(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t n = max;
  // Back off continuation bytes so the cut is at a character boundary.
  while (n > 0 && (static_cast<uint8_t>(s[n]) & 0xC0) == 0x80)
    --n;
  return std::string(s.substr(0, n));
}
}  // namespace

Hello make_hello(const crypto::SigningKey& identity, const util::ByteArray<32>& network_id,
                 const util::ByteArray<32>& noise_static_public, uint16_t listen_port,
                 std::string_view software_version) {
  Hello h;
  h.protocol_version = kProtocolVersion;
  h.network_id = network_id;
  h.identity = identity.public_key();
  h.signature = identity.sign(hello_signed_message(network_id, noise_static_public));
  h.listen_port = listen_port;
  h.software_version = truncate_utf8(software_version, kMaxSoftwareVersionBytes);
  return h;
}

util::Bytes encode_hello(const Hello& hello) {
  return codec::encode(hello);
}

util::Result<Hello> decode_hello(util::ByteSpan bytes) {
  auto r = codec::decode<Hello>(bytes);
  if (!r.ok()) return r.status().with_context("handshake hello");
  return r;
}

HelloCheck check_hello(const Hello& hello, const util::ByteArray<32>& our_network_id,
                       const util::ByteArray<32>& remote_noise_static) {
  if (hello.protocol_version != kProtocolVersion) {
    return {HelloRefusal::kVersion, "peer speaks p2p protocol version " +
                                        std::to_string(hello.protocol_version) +
                                        ", this node speaks " + std::to_string(kProtocolVersion)};
  }
  if (hello.network_id != our_network_id) {
    return {HelloRefusal::kNetwork, "peer is on network " + util::to_hex(hello.network_id) +
                                        ", this node is on " + util::to_hex(our_network_id) +
                                        " (different genesis)"};
  }
  if (!crypto::verify(hello.identity, hello_signed_message(hello.network_id, remote_noise_static),
                      hello.signature)) {
    return {HelloRefusal::kSignature,
            "identity signature in the handshake does not verify for key " +
                util::to_hex(hello.identity)};
  }
  return {};
}

}  // namespace imet::net
