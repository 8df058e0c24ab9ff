// Network groups of addresses (netgroup.h).
#include "net/netgroup.h"

#include <optional>

#include <boost/asio/ip/address.hpp>

namespace imet::net {

namespace {

namespace ip = boost::asio::ip;

std::optional<ip::address> parse_ip(std::string_view host) {
  boost::system::error_code ec;
  const ip::address a = ip::make_address(std::string(host), ec);
  if (ec) return std::nullopt;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return ip::address(ip::make_address_v4(ip::v4_mapped, a.to_v6()));
  }
  return a;
}

bool is_local_v4(const ip::address_v4& a) {
  const auto b = a.to_bytes();
  return b[0] == 127 || b[0] == 10 || b[0] == 0 ||  // loopback, private, "this network"
         (b[0] == 172 && (b[1] & 0xF0) == 16) ||    // 172.16.0.0/12
         (b[0] == 192 && b[1] == 168) ||            // 192.168.0.0/16
         (b[0] == 169 && b[1] == 254);              // link-local
}

bool is_local_ip(const ip::address& a) {
  if (a.is_v4()) return is_local_v4(a.to_v4());
  const ip::address_v6 v6 = a.to_v6();
  const auto b = v6.to_bytes();
  return v6.is_loopback() || v6.is_unspecified() || v6.is_link_local() ||
         (b[0] & 0xFE) == 0xFC;  // unique local fc00::/7
}

}  // namespace

bool is_local_address(std::string_view host) {
  const auto a = parse_ip(host);
  return a && is_local_ip(*a);
}

NetGroup netgroup_of(std::string_view host, bool limit_local) {
  const auto a = parse_ip(host);
  if (!a) return {"name", false};
  if (!limit_local && is_local_ip(*a)) return {"local", false};
  if (a->is_v4()) {
    auto b = a->to_v4().to_bytes();
    b[2] = b[3] = 0;
    return {ip::address_v4(b).to_string() + "/16", true};
  }
  ip::address_v6::bytes_type b = a->to_v6().to_bytes();
  for (size_t i = 4; i < b.size(); ++i)
    b[i] = 0;
  return {ip::address_v6(b).to_string() + "/32", true};
}

}  // namespace imet::net
