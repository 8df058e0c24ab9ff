// File descriptor limit: at start imetd raises its soft RLIMIT_NOFILE to the hard limit, as
// bitcoind, nginx (worker_rlimit_nofile) and the Go runtime do, because every MQTT connection is a
// socket and the usual soft default (1,024 on Debian 12 outside systemd units) would cap the broker
// far below max_connections. The hard limit is the operator's (systemd LimitNOFILE=, ulimit -Hn,
// /etc/security/limits.conf); raising it needs privileges imetd does not ask for.
// Thread-safety: raise_fd_limit() changes a process-wide setting; call it once at start, before
// threads open files. The other function is pure.
#pragma once

#include <cstdint>

#include "util/result.h"

namespace imet::node {

struct FdLimit {
  uint64_t soft_before = 0;  // RLIM_INFINITY is reported as UINT64_MAX
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// Sets the soft limit to the hard limit (when the hard limit is unlimited: to fs.nr_open, the
// kernel's ceiling). Returns the limits before and after; an error only if getrlimit fails.
util::Result<FdLimit> raise_fd_limit();

// File descriptors imetd keeps for everything but MQTT connections (RocksDB's files, the message
// log, P2P peers, HTTP clients, the epoll and timer descriptors).
inline constexpr uint64_t kFdReserve = 1024;

// How many MQTT connections a soft limit leaves room for (0 if none).
inline uint64_t mqtt_connection_capacity(uint64_t soft_limit) {
  return soft_limit > kFdReserve ? soft_limit - kFdReserve : 0;
}

}  // namespace imet::node
