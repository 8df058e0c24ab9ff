// MqttServer: the broker's listeners. Accepts sockets (TCP now; TLS and WebSocket listeners are
// added here as transports), applies connection admission (Broker::admit), and starts a
// Connection on a fresh strand for each.
// Thread-safety: listen_* and stop() are called from the owner's thread before/after the
// io_context runs; accept handlers run on the io_context.
// Invariants: every accepted socket either becomes a Connection or is closed at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "mqtt/broker/access.h"
#include "mqtt/broker/broker.h"
#include "util/result.h"

namespace imet::mqtt::broker {

class MqttServer {
 public:
  MqttServer(boost::asio::io_context& io, Broker& broker, AccessControl& access);
  ~MqttServer();

  // Listens on host:port (port 0 = any free port); returns the bound port.
  util::Result<uint16_t> listen_tcp(const std::string& host, uint16_t port);
  void stop();

 private:
  struct Listener;
  void accept(const std::shared_ptr<Listener>& l);

  boost::asio::io_context& io_;
  Broker& broker_;
  AccessControl& access_;
  std::vector<std::shared_ptr<Listener>> listeners_;
};

}  // namespace imet::mqtt::broker
