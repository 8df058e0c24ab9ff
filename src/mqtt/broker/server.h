// MqttServer: the broker's listeners. Accepts sockets (TCP, TLS, WebSocket and WebSocket over TLS,
// each through its mqtt/net transport), applies connection admission (Broker::admit), and starts a
// Connection on a strand for each. The strands come from a fixed pool (kStrands, handed out in
// turn), as Asio's own io_context::strand shares 193 implementations: a strand of its own would
// cost every connection two more allocations (~112 bytes), and a connection only needs its
// handlers serialised, which a shared strand also gives (with 2 I/O threads and hundreds of
// strands, two busy connections rarely share one).
// Thread-safety: listen_* and stop() are called from the owner's thread before/after the
// io_context runs; accept handlers run on the io_context.
// Invariants: every accepted socket either becomes a Connection or is closed at once; strands_
// never changes after construction. The server is destroyed only when no handler of its
// io_context can run (threads joined); connections still alive then (owned by queued handlers
// or by the Broker's sessions) keep the ConnectionEnv and no longer touch the server or Broker.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include "mqtt/broker/access.h"
#include "mqtt/broker/broker.h"
#include "mqtt/net/tcp_transport.h"
#include "mqtt/net/tls_options.h"
#include "mqtt/net/transport.h"
#include "util/log_throttle.h"
#include "util/result.h"

namespace boost::asio::ssl {
class context;
}

namespace imet::mqtt::broker {

struct ConnectionEnv;
class Deadlines;

class MqttServer {
 public:
  static constexpr size_t kStrands = 256;

  MqttServer(boost::asio::io_context& io, Broker& broker, AccessControl& access);
  ~MqttServer();

  // Listens on host:port (port 0 = any free port); returns the bound port.
  util::Result<uint16_t> listen_tcp(const std::string& host, uint16_t port);
  // MQTT over TLS. The TLS context is built from `tls` by the first TLS or WSS listener and shared
  // by all; bad files are an error naming the option and the file (net::make_server_tls_context).
  util::Result<uint16_t> listen_tls(const std::string& host, uint16_t port,
                                    const net::TlsOptions& tls);
  // MQTT over WebSocket on `path` (subprotocol "mqtt"); with `tls`, over TLS (wss).
  util::Result<uint16_t> listen_ws(const std::string& host, uint16_t port, const std::string& path,
                                   const std::optional<net::TlsOptions>& tls);
  void stop();

 private:
  struct Listener;
  using MakeTransport = std::function<std::unique_ptr<net::Transport>(net::IoSocket, net::Strand)>;
  util::Result<uint16_t> listen(const std::string& host, uint16_t port, const char* what,
                                MakeTransport make);
  util::Result<std::shared_ptr<boost::asio::ssl::context>> tls_context(const net::TlsOptions& tls);
  void accept(const std::shared_ptr<Listener>& l);

  net::Strand next_strand();

  // Drops the server's reference to the env (connections may still hold theirs).
  struct EnvRelease {
    void operator()(ConnectionEnv* env) const;
  };

  boost::asio::io_context& io_;
  std::vector<net::Strand> strands_;
  std::atomic<size_t> next_strand_{0};
  Broker& broker_;
  std::unique_ptr<Deadlines> deadlines_;  // every connection's timeouts, one sweep
  // Shared by every connection of this server, refcounted: a connection may outlive the server.
  std::unique_ptr<ConnectionEnv, EnvRelease> env_;
  std::vector<std::shared_ptr<Listener>> listeners_;
  // Password checks (Argon2id, PBKDF2) run here, never on the I/O threads.
  boost::asio::thread_pool auth_pool_{2};
  std::shared_ptr<boost::asio::ssl::context> tls_context_;  // built by the first TLS/WSS listener
  net::TlsOptions tls_options_;                             // what tls_context_ was built from
  util::LogThrottle accept_failure_log_{std::chrono::seconds(10)};
};

}  // namespace imet::mqtt::broker
