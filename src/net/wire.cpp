// Net messages and endpoints (wire.h).
#include "net/wire.h"

#include <charconv>

#include "codec/serialize.h"

namespace imet::net {

std::string Endpoint::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

util::Status validate_endpoint(const Endpoint& e) {
  if (e.host.empty()) return util::invalid_argument("endpoint host is empty");
  if (e.host.size() > kMaxHostBytes) {
    return util::invalid_argument("endpoint host is " + std::to_string(e.host.size()) +
                                  " bytes, above " + std::to_string(kMaxHostBytes));
  }
  for (char c : e.host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == ':';
    if (!ok) {
      return util::invalid_argument("endpoint host '" + e.host +
                                    "' has a character outside [A-Za-z0-9.-:]");
    }
  }
  if (e.port == 0) return util::invalid_argument("endpoint " + e.host + " has port 0");
  return util::Status::ok_status();
}

util::Result<Endpoint> parse_endpoint(std::string_view text) {
  const std::string quoted = "endpoint '" + std::string(text) + "'";
  Endpoint e;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return util::invalid_argument(quoted + ": expected [ipv6]:port");
    }
    e.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return util::invalid_argument(quoted + ": missing ':port'");
    }
    e.host = std::string(text.substr(0, colon));
    if (e.host.find(':') != std::string::npos) {
      return util::invalid_argument(quoted + ": write an IPv6 address as [addr]:port");
    }
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return util::invalid_argument(quoted + ": port must be a number from 1 to 65535");
  }
  e.port = static_cast<uint16_t>(port);
  util::Status s = validate_endpoint(e);
  if (!s.ok()) return s.with_context(quoted);
  return e;
}

util::Bytes encode_ping(uint64_t nonce) {
  return codec::encode(Ping{nonce});
}

util::Result<uint64_t> decode_ping(util::ByteSpan payload) {
  auto r = codec::decode<Ping>(payload);
  if (!r.ok()) return r.status().with_context("ping");
  return r->nonce;
}

util::Bytes encode_addr(const std::vector<Endpoint>& endpoints) {
  Addr a;
  a.endpoints = endpoints;
  if (a.endpoints.size() > kMaxAddrEntries) a.endpoints.resize(kMaxAddrEntries);
  return codec::encode(a);
}

util::Result<std::vector<Endpoint>> decode_addr(util::ByteSpan payload) {
  auto r = codec::decode<Addr>(payload);
  if (!r.ok()) return r.status().with_context("addr");
  for (size_t i = 0; i < r->endpoints.size(); ++i) {
    util::Status s = validate_endpoint(r->endpoints[i]);
    if (!s.ok()) return s.with_context("addr: endpoints[" + std::to_string(i) + "]");
  }
  return std::move(r->endpoints);
}

}  // namespace imet::net
