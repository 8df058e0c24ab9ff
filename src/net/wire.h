// Net-layer messages (types 1..4, inside frames; frame.h) and peer endpoints.
//   PING    (1)  u64 nonce            answered by PONG with the same nonce
//   PONG    (2)  u64 nonce
//   GETADDR (3)  empty                answered by one ADDR
//   ADDR    (4)  vector<Endpoint>     at most kMaxAddrEntries, each a host (IP literal or DNS name,
//                                     <= 253 bytes of [A-Za-z0-9.-:]) and a non-zero u16 port
// Payloads use the canonical codec (little-endian integers, LEB128 counts; codec/serialize.h).
// Thread-safety: pure functions over values.
// Invariants: a decoded message is canonical (re-encodes to the same bytes) and every endpoint in
// it passes validate_endpoint.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/bytes.h"
#include "util/result.h"

namespace imet::net {

enum class NetMessage : uint8_t { kPing = 1, kPong = 2, kGetAddr = 3, kAddr = 4 };

inline constexpr size_t kMaxHostBytes = 253;
inline constexpr size_t kMaxAddrEntries = 1000;

struct Endpoint {
  std::string host;  // IP literal (v6 without brackets) or DNS name
  uint16_t port = 0;

  template <typename S>
  void serde(S& s) {
    s.string(host, kMaxHostBytes, "host");
    s.u16(port, "port");
  }
  // "host:port", or "[v6]:port" when the host contains ':'.
  std::string to_string() const;
  bool operator==(const Endpoint&) const = default;
  auto operator<=>(const Endpoint&) const = default;
};

// OK if host is non-empty, at most kMaxHostBytes, made of [A-Za-z0-9.-:] and the port is non-zero.
util::Status validate_endpoint(const Endpoint& e);
// Parses "host:port" or "[v6]:port"; errors name the input ("seed 'x': missing ':port'").
util::Result<Endpoint> parse_endpoint(std::string_view text);

struct Ping {
  uint64_t nonce = 0;
  template <typename S>
  void serde(S& s) {
    s.u64(nonce, "nonce");
  }
};

struct Addr {
  std::vector<Endpoint> endpoints;
  template <typename S>
  void serde(S& s) {
    s.vector(endpoints, kMaxAddrEntries, "endpoints");
  }
};

util::Bytes encode_ping(uint64_t nonce);
util::Result<uint64_t> decode_ping(util::ByteSpan payload);  // PING and PONG alike
util::Bytes encode_addr(const std::vector<Endpoint>& endpoints);
// Also checks each endpoint (validate_endpoint), naming the first bad one by index.
util::Result<std::vector<Endpoint>> decode_addr(util::ByteSpan payload);

}  // namespace imet::net
