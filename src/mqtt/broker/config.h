// BrokerConfig: every tunable of the MQTT broker (limits, timeouts, durability, tiers). The node
// fills it from the [mqtt] table of its TOML config (docs/configuration.md, docs/mqtt.md).
// Thread-safety: plain value, read-only after the broker starts.
// Invariants: zero means "no limit" only where the comment says so.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace imet::mqtt::broker {

// A topic rule for tier tagging: messages whose topic matches `filter` get `tier`, unless an MQTT 5
// user property imet-tier overrides it. First matching rule wins.
struct TierRule {
  std::string filter;
  uint8_t tier = 2;
};

struct BrokerConfig {
  // Connections.
  size_t max_connections = 100'000;                   // 0 = unlimited
  size_t max_connections_per_ip = 0;                  // 0 = unlimited
  std::chrono::milliseconds connect_timeout{10'000};  // socket open without CONNECT
  uint16_t max_keepalive = 65535;  // seconds; a v5 client asking for more gets this value
  // Packets and topics.
  uint32_t max_packet_size = 1 << 20;  // bytes, whole packet; advertised to v5 clients
  size_t max_topic_length = 65535;
  size_t max_topic_levels = 200;
  uint16_t receive_maximum = 1024;  // QoS 1/2 PUBLISH the broker accepts unacknowledged per client
  uint16_t topic_alias_maximum = 64;  // aliases a v5 client may set towards the broker
  uint16_t max_inflight = 256;        // QoS 1/2 messages in flight towards one client
  // Per-session queue (messages waiting for an inflight slot, or for an offline session).
  size_t max_queued_messages = 10'000;
  size_t max_queued_bytes = 64u << 20;
  bool queue_qos0_offline = false;   // queue QoS 0 messages for offline persistent sessions
  size_t max_out_buffer = 4u << 20;  // bytes waiting to be written to one socket
  // Sessions.
  uint32_t max_session_expiry = 0xFFFFFFFF;  // seconds; v3.1.1 clean_session=0 gets this
  // Retained messages.
  bool retain_available = true;
  // $SYS topics.
  std::chrono::seconds sys_interval{10};  // 0 = no $SYS
  // Tiers.
  uint8_t default_tier = 2;
  std::vector<TierRule> tier_rules;
  size_t tier1_max_message = 64 * 1024;  // payload bytes
  // Identification.
  std::string version = "imetd";
};

}  // namespace imet::mqtt::broker
