// The publish/subscribe load engine of imet-mqtt-load: P publishers and S subscribers on one topic,
// all driven by one thread over epoll with non-blocking sockets. Publishers write PUBLISH packets
// in large batches built from a template (no allocation per message); subscribers read in large
// chunks, check every message's publisher id and sequence number, and acknowledge QoS 1 in bulk.
//
// Flow control is closed-loop so that the broker is measured at saturation without being made to
// drop: at most `window` deliveries (message x subscriber) may be outstanding, and at
// QoS 1 each publisher keeps at most `inflight` PUBLISH packets unacknowledged. With `rate`, the
// publishers are paced to that total rate instead (the window still applies).
//
// Thread-safety: run_load() is self-contained; call it from one thread at a time.
// Invariants: sent <= generated; delivered counts every PUBLISH received (duplicates included);
// lost counts only messages the broker accepted (QoS 0: fully written to the socket; QoS 1:
// acknowledged with PUBACK) that a subscriber never received.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace imet::bench::mqtt_load {

struct LoadConfig {
  std::string mode = "fanin";  // label only: fanin | fanout | latency
  std::string host = "127.0.0.1";
  uint16_t port = 1883;
  uint32_t pubs = 4;
  uint32_t subs = 1;
  uint8_t qos = 0;
  uint32_t size = 64;          // payload bytes (>= 20)
  uint64_t count = 0;          // total messages over all publishers; 0: run for duration_s
  double duration_s = 10;      // publishing time when count == 0
  double rate = 0;             // total messages/s; 0: as fast as the flow control allows
  uint32_t window = 5'000;     // deliveries (message x subscriber) published, not yet received
  uint32_t inflight = 256;     // QoS 1: unacknowledged PUBLISH per publisher (1..65535)
  uint32_t batch = 256;        // messages a publisher builds per write
  double drain_timeout_s = 5;  // wait this long without progress for the last messages
  double connect_timeout_s = 10;
  std::string topic;          // default "imet-bench/<pid>/t"
  std::string client_prefix;  // default "imlg-<pid>"
};

struct LoadResult {
  nlohmann::json json;  // the report printed as one JSON line
  bool clean = false;   // no error, no loss, no duplicate, no foreign message
};

// Connects, subscribes, runs the load, drains, and reports. Fails only if the setup fails (connect
// refused, CONNACK/SUBACK refused, timeout); a connection lost during the run is reported in the
// result ("error") together with the losses it caused.
util::Result<LoadResult> run_load(const LoadConfig& cfg);

}  // namespace imet::bench::mqtt_load
