// MqttServer implementation.
#include "mqtt/broker/server.h"

#include <boost/asio/strand.hpp>

#include "mqtt/broker/connection.h"
#include "mqtt/net/tcp_transport.h"
#include "mqtt/net/tls_transport.h"
#include "mqtt/net/ws_transport.h"
#include "util/log.h"

namespace imet::mqtt::broker {

namespace asio = boost::asio;
using asio::ip::tcp;

struct MqttServer::Listener {
  Listener(asio::io_context& io, MakeTransport m) : acceptor(io), make(std::move(m)) {}
  tcp::acceptor acceptor;
  MakeTransport make;  // wraps an accepted socket in the listener's transport
  bool stopped = false;
};

MqttServer::MqttServer(asio::io_context& io, Broker& broker, AccessControl& access)
    : io_(io),
      broker_(broker),
      deadlines_(std::make_unique<Deadlines>(
          [](Deadlines::Entry& e) { static_cast<Connection&>(e).deadline_passed(); })),
      env_(new ConnectionEnv(broker, access, &auth_pool_, *deadlines_)) {
  // Runs until the server is destroyed (after the I/O threads are joined): closing connections
  // still need their deadlines during Broker::shutdown, which comes after stop().
  deadlines_->start(io_);
  strands_.reserve(kStrands);
  for (size_t i = 0; i < kStrands; ++i)
    strands_.push_back(asio::make_strand(io_));
}

net::Strand MqttServer::next_strand() {
  return strands_[next_strand_.fetch_add(1, std::memory_order_relaxed) % strands_.size()];
}

void MqttServer::EnvRelease::operator()(ConnectionEnv* env) const {
  release_server_env(env);
}

MqttServer::~MqttServer() {
  stop();
}

util::Result<uint16_t> MqttServer::listen_tcp(const std::string& host, uint16_t port) {
  return listen(host, port, "MQTT",
                [](net::IoSocket socket, net::Strand strand) -> std::unique_ptr<net::Transport> {
                  return std::make_unique<net::TcpTransport>(std::move(socket), std::move(strand));
                });
}

util::Result<std::shared_ptr<asio::ssl::context>> MqttServer::tls_context(
    const net::TlsOptions& tls) {
  if (tls_context_) {
    if (!(tls == tls_options_)) {
      return util::invalid_argument("all MQTT TLS listeners share one certificate configuration");
    }
    return tls_context_;
  }
  IMET_ASSIGN_OR_RETURN(tls_context_, net::make_server_tls_context(tls));
  tls_options_ = tls;
  return tls_context_;
}

util::Result<uint16_t> MqttServer::listen_tls(const std::string& host, uint16_t port,
                                              const net::TlsOptions& tls) {
  IMET_ASSIGN_OR_RETURN(auto ctx, tls_context(tls));
  return listen(host, port, "MQTT over TLS",
                [ctx](net::IoSocket socket, net::Strand strand) -> std::unique_ptr<net::Transport> {
                  return std::make_unique<net::TlsTransport>(
                      net::socket_on_strand(std::move(socket), strand), ctx);
                });
}

util::Result<uint16_t> MqttServer::listen_ws(const std::string& host, uint16_t port,
                                             const std::string& path,
                                             const std::optional<net::TlsOptions>& tls) {
  if (!tls) {
    return listen(
        host, port, "MQTT over WebSocket", [path](net::IoSocket socket, net::Strand strand) {
          return net::make_ws_transport(net::socket_on_strand(std::move(socket), strand), path);
        });
  }
  IMET_ASSIGN_OR_RETURN(auto ctx, tls_context(*tls));
  return listen(host, port, "MQTT over secure WebSocket",
                [path, ctx](net::IoSocket socket, net::Strand strand) {
                  return net::make_wss_transport(net::socket_on_strand(std::move(socket), strand),
                                                 ctx, path);
                });
}

util::Result<uint16_t> MqttServer::listen(const std::string& host, uint16_t port, const char* what,
                                          MakeTransport make) {
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) return util::invalid_argument("mqtt listen address '" + host + "' is not an IP address");
  auto l = std::make_shared<Listener>(io_, std::move(make));
  const tcp::endpoint ep(addr, port);
  l->acceptor.open(ep.protocol(), ec);
  if (!ec) l->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) l->acceptor.bind(ep, ec);
  if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return util::unavailable("cannot listen for " + std::string(what) + " on " + host + ":" +
                             std::to_string(port) + ": " + ec.message());
  }
  const uint16_t bound = l->acceptor.local_endpoint().port();
  listeners_.push_back(l);
  accept(l);
  return bound;
}

void MqttServer::accept(const std::shared_ptr<Listener>& l) {
  l->acceptor.async_accept(
      io_.get_executor(), [this, l](const boost::system::error_code& ec, net::IoSocket socket) {
        if (l->stopped) return;
        if (ec) {
          if (ec == asio::error::operation_aborted) return;
          // Out of file descriptors and the like: retry later, do not spin, and log the
          // failure once per interval, not on every retry.
          if (const auto held = accept_failure_log_.admit())
            util::log::warn("mqtt accept failed",
                            {{"error", ec.message()}, {"failures_not_logged", *held}});
          auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
          t->async_wait([this, l, t](const boost::system::error_code&) { accept(l); });
          return;
        }
        auto transport = l->make(std::move(socket), next_strand());
        if (!broker_.admit(transport->remote_ip())) {
          transport->close();
        } else {
          std::make_shared<Connection>(*env_, std::move(transport))->start();
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
  auth_pool_.join();  // no password check outlives the server
}

}  // namespace imet::mqtt::broker
