// Socket and process helpers of the load generator: IPv4 addresses, non-blocking TCP connects from
// a chosen source address, RLIMIT_NOFILE, the monotonic clock, CPU time and RSS of this process.
// Thread-safety: free functions without shared state (raise_nofile changes process-wide limits).
// Invariants: every fd returned is non-blocking, close-on-exec and has TCP_NODELAY set.
#pragma once

#include <cstdint>
#include <string>

#include <netinet/in.h>

#include "util/result.h"
#include "util/status.h"

namespace imet::bench::mqtt_load {

// CLOCK_MONOTONIC in nanoseconds (the clock of the timestamps carried in payloads).
uint64_t mono_ns();

// User + system CPU time of this process so far, in seconds.
double process_cpu_s();

// VmRSS of this process in KiB (0 if /proc is unavailable).
uint64_t process_rss_kb();

// Parses a dotted IPv4 address and a port.
util::Result<sockaddr_in> ipv4_address(const std::string& host, uint16_t port);

// Starts a non-blocking TCP connect to dst. If src is given, binds to it first (port chosen at
// connect time, IP_BIND_ADDRESS_NO_PORT, so each source address has its own ephemeral port range).
// The connect completes (or fails) when the socket becomes writable; see connect_error().
util::Result<int> start_connect(const sockaddr_in& dst, const sockaddr_in* src);

// The pending error of a socket whose non-blocking connect finished (0 if connected).
int connect_error(int fd);

// Raises the soft RLIMIT_NOFILE to at least `needed` (at most the hard limit); fails with a message
// naming the hard limit if that is not enough.
util::Status raise_nofile(uint64_t needed);

}  // namespace imet::bench::mqtt_load
