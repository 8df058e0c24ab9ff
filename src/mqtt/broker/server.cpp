// MqttServer implementation.
#include "mqtt/broker/server.h"

#include <boost/asio/strand.hpp>

#include "mqtt/broker/connection.h"
#include "mqtt/net/tcp_transport.h"
#include "util/log.h"

namespace imet::mqtt::broker {

namespace asio = boost::asio;
using asio::ip::tcp;

struct MqttServer::Listener {
  explicit Listener(asio::io_context& io) : acceptor(io) {}
  tcp::acceptor acceptor;
  bool stopped = false;
};

MqttServer::MqttServer(asio::io_context& io, Broker& broker, AccessControl& access)
    : io_(io), broker_(broker), access_(access) {}

MqttServer::~MqttServer() {
  stop();
}

util::Result<uint16_t> MqttServer::listen_tcp(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) return util::invalid_argument("mqtt listen address '" + host + "' is not an IP address");
  auto l = std::make_shared<Listener>(io_);
  const tcp::endpoint ep(addr, port);
  l->acceptor.open(ep.protocol(), ec);
  if (!ec) l->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) l->acceptor.bind(ep, ec);
  if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return util::unavailable("cannot listen for MQTT on " + host + ":" + std::to_string(port) +
                             ": " + ec.message());
  }
  const uint16_t bound = l->acceptor.local_endpoint().port();
  listeners_.push_back(l);
  accept(l);
  return bound;
}

void MqttServer::accept(const std::shared_ptr<Listener>& l) {
  l->acceptor.async_accept(
      asio::make_strand(io_), [this, l](const boost::system::error_code& ec, tcp::socket socket) {
        if (l->stopped) return;
        if (ec) {
          if (ec == asio::error::operation_aborted) return;
          util::log::warn("mqtt accept failed", {{"error", ec.message()}});
          // Out of file descriptors and the like: retry later, do not spin.
          auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
          t->async_wait([this, l, t](const boost::system::error_code&) { accept(l); });
          return;
        }
        auto transport = std::make_unique<net::TcpTransport>(std::move(socket));
        if (!broker_.admit(transport->remote_ip())) {
          transport->close();
        } else {
          std::make_shared<Connection>(broker_, access_, std::move(transport))->start();
        }
        accept(l);
      });
}

void MqttServer::stop() {
  for (auto& l : listeners_) {
    l->stopped = true;
    boost::system::error_code ec;
    l->acceptor.close(ec);
  }
  listeners_.clear();
}

}  // namespace imet::mqtt::broker
