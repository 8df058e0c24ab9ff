// NodeConfig: every setting of imetd, its defaults, and the TOML config file that overrides them
// (docs/configuration.md documents each key). Command-line flags override the file; the app layer
// applies them on top of what load_config_file() returns.
// Thread-safety: plain value type. Invariants: a NodeConfig returned by load_config_file() has
// passed validate(); unknown keys or wrongly-typed values in a file are errors, never ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt/broker/config.h"
#include "mqtt/net/tls_options.h"
#include "node/admission_limit.h"
#include "util/log.h"
#include "util/result.h"

namespace imet::node {

struct HostPort {
  std::string host;
  uint16_t port = 0;
  std::string to_string() const;
  bool operator==(const HostPort&) const = default;
};

// Parses "HOST:PORT" or "[IPv6]:PORT"; the port must be 1-65535 and the host non-empty.
util::Result<HostPort> parse_host_port(std::string_view text);

inline constexpr uint16_t kDefaultMqttPort = 1883;
inline constexpr uint16_t kDefaultHttpPort = 8645;
inline constexpr uint16_t kDefaultP2pPort = 7645;

struct NodeConfig {
  std::string data_dir;     // empty: default_data_dir(dev)
  bool dev = false;         // single-node development network
  unsigned io_threads = 0;  // 0: one per core
  bool io_adaptive = true;  // park I/O threads the load does not need (node/io_pool.h)
  util::log::Level log_level = util::log::Level::kInfo;
  std::string log_file;  // empty: <data_dir>/imetd.log
  HostPort mqtt{"0.0.0.0", kDefaultMqttPort};
  HostPort http{"127.0.0.1", kDefaultHttpPort};
  HostPort p2p{"0.0.0.0", kDefaultP2pPort};
  // [p2p] (docs/running-a-network.md): peers dialled at start, connection counts, ban time.
  std::vector<HostPort> p2p_seeds;
  unsigned p2p_max_outbound = 8;
  unsigned p2p_max_inbound = 32;
  unsigned p2p_max_inbound_per_netgroup = 8;
  uint32_t p2p_ban_seconds = 600;
  std::string genesis_file;  // empty: <data_dir>/genesis.json (created for a dev node)
  std::string node_key_passphrase_file;
  bool unencrypted_node_key = false;  // implied by dev
  // [mqtt] (docs/mqtt.md). allow_anonymous unset: true for a dev node, false otherwise.
  mqtt::broker::BrokerConfig broker;
  std::optional<bool> mqtt_allow_anonymous;
  std::string mqtt_password_file;
  std::string mqtt_acl_file;
  // Durability: group-commit window and the access-point message log (docs/mqtt.md).
  uint32_t mqtt_commit_window_us = 1000;
  uint64_t msglog_segment_bytes = uint64_t{64} << 20;
  uint64_t msglog_retention_bytes = uint64_t{10} << 30;
  uint32_t msglog_retention_hours = 24 * 7;
  // [mqtt] TLS and WebSocket listeners (docs/mqtt-transports.md); unset = not served. TLS and WSS
  // use mqtt_tls (tls_cert_file, tls_key_file, tls_ca_file, tls_require_client_cert).
  std::optional<HostPort> mqtt_tls_listen;
  std::optional<HostPort> mqtt_ws_listen;
  std::optional<HostPort> mqtt_wss_listen;
  std::string mqtt_ws_path = "/mqtt";
  mqtt::net::TlsOptions mqtt_tls;
  // [mempool] admission control (docs/configuration.md, docs/running-a-network.md): client
  // transactions are refused as busy (HTTP 503) while more than admission_slots slots of the
  // finalized rate (at least admission_floor transactions) are pending. Not part of genesis.
  AdmissionLimit::Options mempool_admission;

  // Resolves defaults that depend on other settings (data dir, log file).
  void finalize();
  util::Status validate() const;
};

// $IMET_HOME (else ~/.imet), plus "/dev" for a dev node.
std::string default_data_dir(bool dev);

// Reads a TOML file over `base`. Errors name the file, the key and the line.
util::Result<NodeConfig> load_config_file(const std::string& path, NodeConfig base = {});
// Same, from text (for tests); `origin` names the source in error messages.
util::Result<NodeConfig> parse_config(std::string_view text, const std::string& origin,
                                      NodeConfig base = {});

}  // namespace imet::node
