// ReadinessSocket implementation (the non-template parts).
#include "mqtt/net/readiness_socket.h"

#include <cerrno>

#include <sys/socket.h>

namespace imet::mqtt::net {

ReadinessSocket::ReadinessSocket(next_layer_type socket) : socket_(std::move(socket)) {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
}

bool ReadinessSocket::unread_input() {
  if (!waiting_) return true;
  // A peek: data (> 0) or the end of the stream (0) are input; so is an error, which the wait
  // will report. Only "nothing yet" is not.
  char byte = 0;
  for (;;) {
    const ssize_t n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n >= 0) return true;
    if (errno == EINTR) continue;
    return errno != EAGAIN && errno != EWOULDBLOCK;
  }
}

void teardown(boost::beast::role_type role, ReadinessSocket& socket,
              boost::system::error_code& ec) {
  boost::beast::websocket::teardown(role, socket.next_layer(), ec);
}

}  // namespace imet::mqtt::net
