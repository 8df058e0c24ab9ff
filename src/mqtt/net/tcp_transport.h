// TcpTransport: Transport over a plain TCP socket (TCP_NODELAY on).
// Thread-safety: as Transport (strand only).
// Invariants: the socket's executor is the strand returned by executor().
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include "mqtt/net/transport.h"

namespace imet::mqtt::net {

class TcpTransport final : public Transport {
 public:
  explicit TcpTransport(boost::asio::ip::tcp::socket socket);
  boost::asio::any_io_executor executor() override { return socket_.get_executor(); }
  void async_handshake(Handler handler) override;
  void async_read_some(boost::asio::mutable_buffer buffer, IoHandler handler) override;
  void async_write(boost::asio::const_buffer buffer, IoHandler handler) override;
  bool reactor_reads() const override { return true; }
  void async_wait_readable(Handler handler) override;
  size_t read_now(boost::asio::mutable_buffer buffer, boost::system::error_code& ec) override;
  void close() override;
  const std::string& remote_ip() const override { return remote_ip_; }
  const char* kind() const override { return "tcp"; }

 private:
  boost::asio::ip::tcp::socket socket_;
  std::string remote_ip_;
};

}  // namespace imet::mqtt::net
