// TcpTransport: Transport over a plain TCP socket (TCP_NODELAY on), read reactor-style.
// The socket is bound to the io_context's own executor and every completion handler is bound to
// the connection's strand: the concrete executor types keep the socket, and the readiness wait
// every idle connection keeps pending, small (an any_io_executor is 56 bytes, and a strand
// executor held through one would be stored in both). The remote address is not kept: it is
// read from the socket when asked.
// Thread-safety: as Transport (strand only, except write_now: any thread, under the caller's
// guarantee that no other write is outstanding and close() cannot run meanwhile).
// Invariants: every completion handler runs on strand_ (executor()).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include "mqtt/net/transport.h"

namespace imet::mqtt::net {

// A socket accepted on the io_context's executor, and the strand its connection runs on.
using IoSocket =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;
using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

// Moves an accepted socket onto `strand` as a plain tcp::socket (for the TLS and WebSocket
// transports, whose streams take their executor from the socket). On error the socket is closed
// and the returned socket is not open.
boost::asio::ip::tcp::socket socket_on_strand(IoSocket socket, const Strand& strand);

class TcpTransport final : public Transport {
 public:
  TcpTransport(IoSocket socket, Strand strand);
  boost::asio::any_io_executor executor() override { return strand_; }
  void async_handshake(Handler handler) override;
  void async_read_some(boost::asio::mutable_buffer buffer, IoHandler handler) override;
  void async_write(boost::asio::const_buffer buffer, IoHandler handler) override;
  bool reactor_reads() const override { return true; }
  void async_wait_readable(std::shared_ptr<ReadListener> listener) override;
  size_t read_now(boost::asio::mutable_buffer buffer, boost::system::error_code& ec) override;
  bool writes_now() const override { return true; }
  size_t write_now(boost::asio::const_buffer buffer, boost::system::error_code& ec) override;
  void close() override;
  std::string remote_ip() const override;
  const char* kind() const override { return "tcp"; }

 private:
  IoSocket socket_;
  Strand strand_;
};

}  // namespace imet::mqtt::net
