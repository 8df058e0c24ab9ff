// TcpTransport implementation.
#include "mqtt/net/tcp_transport.h"

#include <cerrno>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <sys/socket.h>
#include <unistd.h>

namespace imet::mqtt::net {

namespace asio = boost::asio;
using asio::ip::tcp;

tcp::socket socket_on_strand(IoSocket socket, const Strand& strand) {
  tcp::socket out(strand);
  boost::system::error_code ec;
  const auto local = socket.local_endpoint(ec);
  if (ec) return out;
  const auto fd = socket.release(ec);
  if (ec) return out;
  out.assign(local.protocol(), fd, ec);
  if (ec) ::close(fd);
  return out;
}

TcpTransport::TcpTransport(IoSocket socket, Strand strand)
    : socket_(std::move(socket)), strand_(std::move(strand)) {
  boost::system::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  socket_.non_blocking(true, ec);
}

std::string TcpTransport::remote_ip() const {
  boost::system::error_code ec;
  const auto ep = socket_.remote_endpoint(ec);
  return ec ? std::string("?") : ep.address().to_string();
}

void TcpTransport::async_handshake(Handler handler) {
  asio::post(strand_, [h = std::move(handler)] { h({}); });
}

void TcpTransport::async_read_some(asio::mutable_buffer buffer, IoHandler handler) {
  socket_.async_read_some(buffer, asio::bind_executor(strand_, std::move(handler)));
}

void TcpTransport::async_write(asio::const_buffer buffer, IoHandler handler) {
  asio::async_write(socket_, buffer, asio::bind_executor(strand_, std::move(handler)));
}

void TcpTransport::async_wait_readable(std::shared_ptr<ReadListener> listener) {
  socket_.async_wait(
      tcp::socket::wait_read,
      asio::bind_executor(strand_, [l = std::move(listener)](const boost::system::error_code& ec) {
        l->on_readable(ec);
      }));
}

size_t TcpTransport::read_now(asio::mutable_buffer buffer, boost::system::error_code& ec) {
  return socket_.read_some(buffer, ec);
}

size_t TcpTransport::write_now(asio::const_buffer buffer, boost::system::error_code& ec) {
  // ::send on the descriptor, not socket_.write_some: this may run off the strand, and only the
  // descriptor (fixed until close(), which the caller excludes) is read from the socket object.
  ec = {};
  for (;;) {
    const ssize_t n =
        ::send(socket_.native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    ec = (errno == EAGAIN || errno == EWOULDBLOCK)
             ? make_error_code(asio::error::would_block)
             : boost::system::error_code(errno, asio::error::get_system_category());
    return 0;
  }
}

void TcpTransport::close() {
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace imet::mqtt::net
