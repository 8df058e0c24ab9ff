// NetConfig: everything the P2P host needs to know, with the defaults documented in
// docs/design/p2p.md. Values are checked once by validate() when the host starts.
// Thread-safety: a plain value.
// Invariants: after validate() is OK, every limit is positive, max_write_queue_bytes can hold one
// maximum-size message, and every seed parses as an endpoint.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace imet::net {

// Each direction of a link rekeys its Noise cipher after this many transport messages (Noise
// section 11.3; docs/design/p2p.md, "Rekeying"). Part of the wire protocol: both ends must use
// the same value.
inline constexpr uint64_t kRekeyIntervalMessages = uint64_t{1} << 20;

struct NetConfig {
  // Listening socket. Port 0 picks a free port (Host::port() tells which).
  std::string listen_host = "0.0.0.0";
  uint16_t listen_port = 0;
  // "host:port" or "[v6]:port" of peers to dial at start and keep trying with backoff.
  std::vector<std::string> seeds;
  // The genesis hash: a peer with another network id is refused during the handshake.
  util::ByteArray<32> network_id{};
  // Software version string sent to peers (at most 64 bytes).
  std::string software_version = "imetd";

  size_t max_outbound = 8;  // dial until this many outbound peers are connected
  // Inbound connections (handshaking included); a new one beyond this replaces an evictable one
  // (net/eviction.h) or is refused.
  size_t max_inbound = 32;
  // Inbound connections from one netgroup (IPv4 /16, IPv6 /32; net/netgroup.h); local addresses
  // are exempt unless limit_local_netgroups.
  size_t max_inbound_per_netgroup = 8;
  // Apply the netgroup limits to loopback and private addresses too (tests: local testnets run
  // every node on 127.0.0.1, so the node leaves this off).
  bool limit_local_netgroups = false;
  size_t max_message_bytes = size_t{16} << 20;  // application payload cap per message

  // Peer scoring and bans.
  double ban_threshold = 100;               // score at which the peer is disconnected and banned
  int64_t ban_seconds = 3600;               // how long the identity and IP stay banned
  double score_decay_per_minute = 1;        // points forgiven per minute of good behaviour
  bool ban_loopback_ips = false;            // also ban 127.0.0.0/8 and ::1 (local testnets share)
  double penalty_protocol_violation = 100;  // malformed frame, oversize, bad net message
  double penalty_rate_limited = 1;          // per message dropped by the rate limits

  // Per-peer token buckets on received application and net messages.
  double rate_messages_per_second = 5000;
  double rate_messages_burst = 10000;
  double rate_bytes_per_second = 64.0 * 1024 * 1024;
  double rate_bytes_burst = 2 * 16.0 * 1024 * 1024 + 65536;

  // Writes queued per peer (encrypted bytes); a peer beyond this is not reading and is dropped.
  size_t max_write_queue_bytes = size_t{48} << 20;

  // Noise messages per direction between rekeys. Only tests change it (to rekey often); a node
  // whose value differs from its peers' cannot talk to them past the first interval.
  uint64_t rekey_interval_messages = kRekeyIntervalMessages;

  // Timers (milliseconds).
  int64_t handshake_timeout_ms = 10'000;
  int64_t ping_interval_ms = 30'000;
  int64_t idle_timeout_ms = 90'000;   // nothing received for this long: disconnect
  int64_t write_timeout_ms = 60'000;  // one write outstanding for this long: disconnect
  int64_t dial_backoff_min_ms = 1'000;
  int64_t dial_backoff_max_ms = 300'000;
  int64_t tick_ms = 200;  // housekeeping period (timeouts, dialling, decay)

  // Address book and gossip de-duplication.
  size_t max_addresses = 4096;  // known addresses (seeds and node registry are never evicted)
  size_t max_addr_per_message = 1000;
  size_t seen_cache_entries = 200'000;

  // Bans and addresses kept across restarts (net/peer_file.h); "" keeps them in memory only.
  // Written atomically when changed, at most every peers_save_interval_ms, and at stop().
  std::string peers_file;
  int64_t peers_save_interval_ms = 5'000;

  // Names the first bad field, e.g. "max_outbound must be at least 1".
  util::Status validate() const;
};

}  // namespace imet::net
