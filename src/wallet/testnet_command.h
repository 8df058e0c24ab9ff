// `imet testnet start|status|stop`: a local multi-node network on 127.0.0.1 for development and
// tests (issue 5). `start` creates, in a directory (default $IMET_HOME/testnet or ~/.imet/testnet),
// one data dir per node with an unencrypted node key, a genesis naming every node's key as a
// delegate (so N nodes = N witnesses), a config file per node (ports base+10*i: p2p, +1 HTTP API,
// +2 MQTT; every other node as a seed) and a manifest (testnet.json); then it launches one imetd
// per node in the background (own process group, output in <node>/imetd.out, pid in
// <node>/imetd.pid) and prints each node's API and MQTT address. Run again on an existing
// directory, it starts the nodes that are not running (the network is kept). `status` asks each
// node's API; `stop` sends SIGTERM (SIGKILL with --kill) and waits. Thread-safety: call from the
// main thread. Invariants: start never overwrites an existing network (a different --nodes or
// --slot-ms on an existing directory is an error unless --reset), and never leaves a manifest
// pointing at files it did not write.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "util/status.h"

namespace imet::wallet {

struct TestnetOptions {
  std::string dir;             // empty: default_testnet_dir()
  unsigned nodes = 4;          // start: network size (new network only)
  uint32_t slot_ms = 500;      // start: slot interval (new network only)
  uint16_t base_port = 27000;  // start: node i uses base+10*i (p2p), +1 (HTTP), +2 (MQTT)
  std::string imetd;           // start: imetd binary; empty: next to this imet, else on PATH
  bool reset = false;          // start: delete an existing network in `dir` first (must be stopped)
  std::optional<unsigned> node;  // start/stop: only this node (0-based)
  bool kill = false;             // stop: SIGKILL instead of SIGTERM
  bool json = false;             // status: print JSON
};

std::string default_testnet_dir();
util::Status testnet_start(const TestnetOptions& o, std::ostream& out);
util::Status testnet_status(const TestnetOptions& o, std::ostream& out);
util::Status testnet_stop(const TestnetOptions& o, std::ostream& out);

}  // namespace imet::wallet
