// Idle-connection mode of imet-mqtt-load: opens N MQTT connections (CONNECT with a long or zero
// keepalive, nothing else), waits until every one is CONNACKed, reports, then holds them open.
// Connections are spread over source addresses 127.0.0.1..127.0.0.K so that N may exceed the
// ~28k ephemeral ports of one source address; at most `parallel` connects are in progress at once
// so the broker's listen backlog never overflows.
// Thread-safety: run_idle() is self-contained; one call at a time per process (it installs
// SIGINT/SIGTERM handlers).
// Invariants: connected + failed <= conns; per connection only a few bytes of state are kept.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace imet::bench::mqtt_load {

struct IdleConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 1883;
  uint32_t conns = 1000;
  uint16_t keepalive_s = 0;  // 0: the broker never times the connection out
  uint32_t src_addrs = 16;   // source addresses 127.0.0.1..127.0.0.K (loopback brokers only)
  uint32_t parallel = 128;   // connects in progress at once
  double connect_timeout_s = 60;
  double hold_s = -1;  // < 0: until SIGINT/SIGTERM
  std::string client_prefix;
};

// Opens the connections and calls `on_connected` with the report (one JSON object) once every
// connection is CONNACKed, failed, or the timeout passed; then holds until hold_s or a signal.
// Returns the report, with "closed_during_hold" added.
util::Result<nlohmann::json> run_idle(const IdleConfig& cfg,
                                      void (*on_connected)(const nlohmann::json&));

}  // namespace imet::bench::mqtt_load
