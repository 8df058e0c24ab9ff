// Network groups ("netgroups") of peer addresses, for the rules that keep one network from taking
// over a node's connections (docs/design/p2p.md, "Eclipse resistance"): the inbound per-netgroup
// cap, the choice of which inbound connection to evict, and outbound diversity. The group of a
// public IPv4 address is its /16, of a public IPv6 address its /32 (an IPv4-mapped IPv6 address is
// grouped as the IPv4 address it maps). Loopback, private (RFC 1918, IPv6 unique local), link-local
// and unspecified addresses are *local*: one group "local" that no limit applies to, because local
// testnets run every node on 127.0.0.1 and LANs share one private range; with `limit_local` they
// are grouped like public ones (tests use it to exercise the limits over 127.x.y.z). A host name
// (not an IP literal) is group "name" with no limit: its network is known only once resolved.
// Thread-safety: pure functions.
// Invariants: equal inputs give equal groups; `limited` is true exactly for IP literals that are
// public or (with limit_local) local.
#pragma once

#include <string>
#include <string_view>

namespace imet::net {

struct NetGroup {
  std::string key;       // "203.0.0.0/16", "2001:db8::/32", "local" or "name"
  bool limited = false;  // the netgroup limits apply
};

NetGroup netgroup_of(std::string_view host, bool limit_local = false);

// Loopback, private, link-local or unspecified IP literal (false for host names).
bool is_local_address(std::string_view ip);

}  // namespace imet::net
