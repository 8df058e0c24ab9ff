// Node: the life cycle of imetd. start() builds the NodeContext in numbered steps, wait() blocks
// until SIGINT/SIGTERM (or request_stop()), stop() tears the steps down in reverse order (the MQTT
// broker first sends its clients DISCONNECT 0x8B and syncs its state). SIGHUP reloads the MQTT
// password and ACL files (reload_mqtt_auth()).
// Thread-safety: start/wait/stop from the main thread; request_stop() from any thread.
// Invariants: stop() is idempotent and undoes exactly the steps start() completed, so a failed
// start leaves nothing running and the data dir unlocked.
#pragma once

#include <atomic>
#include <memory>

#include "mqtt/broker/auth_access.h"
#include "node/node_context.h"

namespace imet::node {

// On-disk format of the node's database; a newer format is refused, never misread.
inline constexpr int kDbFormatVersion = 2;

class Node {
 public:
  explicit Node(NodeConfig config);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  util::Status start();
  // Blocks until a stop signal arrives; returns the signal number (0 for request_stop()).
  int wait();
  void request_stop();
  void stop();
  // Re-reads [mqtt] password_file and acl_file (as on SIGHUP). On error the files in force stay
  // and the error is returned (and logged by the SIGHUP handler). Callable from any thread.
  util::Status reload_mqtt_auth();

  const NodeContext& context() const { return *ctx_; }

 private:
  util::Status open_database();
  util::Status start_mqtt();
  util::Status start_io();
  util::Status open_chain();

  std::unique_ptr<NodeContext> ctx_;
  void arm_reload_signal();

  std::optional<boost::asio::signal_set> signals_;
  std::optional<boost::asio::signal_set> reload_signals_;  // SIGHUP
  // The broker's AuthAccess while it exists (set after start_mqtt, cleared in stop()).
  std::atomic<mqtt::broker::AuthAccess*> auth_access_{nullptr};
  std::atomic<int> stop_signal_{-1};
  bool started_io_ = false;
};

// Runs imetd until a signal: start, wait, stop. Returns the process exit code.
int run_node(NodeConfig config);

}  // namespace imet::node
