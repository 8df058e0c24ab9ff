// BrokerStats: the broker's counters, published under $SYS/broker/... and in metrics.
// Thread-safety: relaxed atomics, updated from every I/O thread; readers get a consistent-enough
// snapshot for statistics (no cross-counter atomicity).
// Invariants: counters only grow, except the gauges (clients_connected, ...).
#pragma once

#include <atomic>
#include <cstdint>

namespace imet::mqtt::broker {

struct BrokerStats {
  using Counter = std::atomic<uint64_t>;
  Counter messages_received{0};  // PUBLISH packets accepted from clients
  Counter messages_sent{0};      // PUBLISH packets written to clients
  Counter bytes_received{0};
  Counter bytes_sent{0};
  Counter publish_dropped{0};    // messages not delivered: queue full, too large, overloaded
  Counter qos0_dropped{0};       // of which: QoS 0 dropped (queue limit or slow reader)
  Counter expired{0};            // messages dropped because their expiry passed
  Counter connections_total{0};  // accepted sockets since start
  Counter connections_refused{0};
  Counter auth_failures{0};
  std::atomic<int64_t> clients_connected{0};
  std::atomic<int64_t> sockets_open{0};
};

inline void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace imet::mqtt::broker
