// TlsTransport: Transport over TLS (boost::asio::ssl::stream over a TCP socket), the server side of
// MQTT over TLS (port 8883 by convention). make_server_tls_context builds the one ssl::context that
// all TLS and WSS connections of a node share: TLS 1.2 or newer, the server certificate and key,
// and client-certificate verification as TlsOptions asks.
// Thread-safety: TlsTransport as Transport (strand only). The shared context is read-only after
// make_server_tls_context returns and may be used from any thread (OpenSSL's SSL_CTX is
// thread-safe for creating connections).
// The TLS stream runs over a ReadinessSocket, so its unread input is observable (unread_input).
// Invariants: the socket's executor is the strand returned by executor(); the transport keeps the
// context alive as long as its SSL object exists.
#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "mqtt/net/readiness_socket.h"
#include "mqtt/net/tls_options.h"
#include "mqtt/net/transport.h"
#include "util/result.h"

namespace imet::mqtt::net {

// Loads and checks the files named in `options`. Errors name the option (tls_cert_file,
// tls_key_file, tls_ca_file) and the file, with the reason (missing, unreadable, not PEM, key does
// not match the certificate, encrypted key).
util::Result<std::shared_ptr<boost::asio::ssl::context>> make_server_tls_context(
    const TlsOptions& options);

class TlsTransport final : public Transport {
 public:
  TlsTransport(boost::asio::ip::tcp::socket socket,
               std::shared_ptr<boost::asio::ssl::context> context);
  boost::asio::any_io_executor executor() override { return stream_.get_executor(); }
  // The TLS server handshake. A client that sends nothing is cut off by the caller's connect
  // timer: close() aborts the handshake.
  void async_handshake(Handler handler) override;
  void async_read_some(boost::asio::mutable_buffer buffer, IoHandler handler) override;
  void async_write(boost::asio::const_buffer buffer, IoHandler handler) override;
  bool unread_input() override { return stream_.next_layer().unread_input(); }
  void close() override;
  std::string remote_ip() const override { return remote_ip_; }
  const char* kind() const override { return "tls"; }

 private:
  std::shared_ptr<boost::asio::ssl::context> context_;  // before stream_: outlives it
  boost::asio::ssl::stream<ReadinessSocket> stream_;
  std::string remote_ip_;
};

}  // namespace imet::mqtt::net
