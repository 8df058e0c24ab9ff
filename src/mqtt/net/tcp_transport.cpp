// TcpTransport implementation.
#include "mqtt/net/tcp_transport.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace imet::mqtt::net {

namespace asio = boost::asio;

TcpTransport::TcpTransport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
  boost::system::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  socket_.non_blocking(true, ec);
  const auto ep = socket_.remote_endpoint(ec);
  remote_ip_ = ec ? std::string("?") : ep.address().to_string();
}

void TcpTransport::async_handshake(Handler handler) {
  asio::post(socket_.get_executor(), [h = std::move(handler)] { h({}); });
}

void TcpTransport::async_read_some(asio::mutable_buffer buffer, IoHandler handler) {
  socket_.async_read_some(buffer, std::move(handler));
}

void TcpTransport::async_write(asio::const_buffer buffer, IoHandler handler) {
  asio::async_write(socket_, buffer, std::move(handler));
}

void TcpTransport::async_wait_readable(Handler handler) {
  socket_.async_wait(asio::ip::tcp::socket::wait_read, std::move(handler));
}

size_t TcpTransport::read_now(asio::mutable_buffer buffer, boost::system::error_code& ec) {
  return socket_.read_some(buffer, ec);
}

void TcpTransport::close() {
  boost::system::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace imet::mqtt::net
