// ReadinessSocket: the TCP socket under the TLS and WebSocket transports (the next layer of their
// ssl::stream and websocket::stream). It reads reactor-style: async_read_some waits until the
// socket is readable and then reads without blocking, on the strand, so bytes leave the kernel
// only on the connection's strand and go up through the TLS and WebSocket layers there. That makes
// the transport's unread input observable (unread_input): while this socket waits for readiness
// and the kernel holds nothing, every layer above is blocked on input (a layer reads its next
// layer only when what it holds cannot complete the read it serves), so whatever the transport
// received has been delivered to the connection, except an incomplete TLS record or WebSocket
// frame that nothing can deliver without more input. A plain socket's async_read_some could have
// taken the bytes out of the kernel on another I/O thread, with the completion still on its way
// to the strand, where nobody could see them.
// Thread-safety: strand only (the socket's executor is the connection's strand). Completion
// handlers are dispatched to their associated executor (the strand: the handlers of the layers
// above run there too).
// Invariants: at most one async_read_some is outstanding; waiting_ is true exactly while its
// readiness wait is outstanding, which starts only after a read found the kernel empty;
// async_read_some never completes inline.
#pragma once

#include <cstddef>
#include <utility>

#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <boost/system/error_code.hpp>

namespace imet::mqtt::net {

class ReadinessSocket {
 public:
  using next_layer_type = boost::asio::ip::tcp::socket;
  using lowest_layer_type = next_layer_type::lowest_layer_type;
  using executor_type = next_layer_type::executor_type;

  // Takes a socket whose executor is the connection's strand (socket_on_strand) and makes it
  // non-blocking.
  explicit ReadinessSocket(next_layer_type socket);

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  next_layer_type& next_layer() { return socket_; }
  const next_layer_type& next_layer() const { return socket_; }
  lowest_layer_type& lowest_layer() { return socket_.lowest_layer(); }
  const lowest_layer_type& lowest_layer() const { return socket_.lowest_layer(); }

  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return boost::asio::async_initiate<ReadToken, void(boost::system::error_code, size_t)>(
        [this](auto handler, const MutableBufferSequence& b) {
          this->start_read(b, std::move(handler));
        },
        token, buffers);
  }

  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return socket_.async_write_some(buffers, std::forward<WriteToken>(token));
  }

  // True when the peer sent something (bytes, the end of the stream, or an error to report) that
  // the reads outstanding above may still deliver: this socket is not waiting for readiness (a
  // read is being processed, or none is outstanding), or the kernel holds input for it.
  bool unread_input();

 private:
  // Reads at once (as asio's own speculative read; the completion is posted, never inline), and
  // waits for readiness only when the kernel holds nothing, which saves a trip through the reactor
  // when input is already there. (A wait started while bytes are pending would complete too: the
  // epoll reactor re-arms the descriptor with EPOLL_CTL_MOD when a non-speculative operation such
  // as a wait starts, boost/asio/detail/impl/epoll_reactor.ipp, start_op.)
  template <class Buffers, class Handler>
  void start_read(const Buffers& buffers, Handler handler) {
    namespace asio = boost::asio;
    boost::system::error_code ec;
    const size_t n = socket_.read_some(buffers, ec);  // a zero-size buffer reads nothing
    if (ec != asio::error::would_block && ec != asio::error::try_again) {
      asio::post(socket_.get_executor(), asio::append(std::move(handler), ec, n));
      return;
    }
    wait_then_read(buffers, std::move(handler));
  }

  template <class Buffers, class Handler>
  void wait_then_read(const Buffers& buffers, Handler handler) {
    namespace asio = boost::asio;
    waiting_ = true;
    socket_.async_wait(
        next_layer_type::wait_read,
        [this, buffers, h = std::move(handler)](const boost::system::error_code& wec) mutable {
          waiting_ = false;
          boost::system::error_code ec = wec;
          size_t n = 0;
          if (!ec) {
            n = socket_.read_some(buffers, ec);
            if (ec == asio::error::would_block || ec == asio::error::try_again) {
              wait_then_read(buffers, std::move(h));  // a spurious wake-up
              return;
            }
          }
          // On the strand already: the handler runs now if it belongs there (it does: the
          // layers above run on the strand).
          auto ex = asio::get_associated_executor(h, socket_.get_executor());
          asio::dispatch(ex, asio::append(std::move(h), ec, n));
        });
  }

  next_layer_type socket_;
  bool waiting_ = false;
};

// WebSocket teardown (beast::websocket, found by argument-dependent lookup): that of the TCP
// socket.
void teardown(boost::beast::role_type role, ReadinessSocket& socket, boost::system::error_code& ec);

template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, ReadinessSocket& socket,
                    TeardownHandler&& handler) {
  boost::beast::websocket::async_teardown(role, socket.next_layer(),
                                          std::forward<TeardownHandler>(handler));
}

}  // namespace imet::mqtt::net
