// Transport: the byte stream under one MQTT connection (plain TCP, TLS, or WebSocket), as seen by
// the protocol code in mqtt/broker/connection. Each transport runs on a strand (MqttServer hands
// them out from a pool, so several connections may share one); every
// completion handler runs on that strand, so the connection needs no lock for its read side.
// Thread-safety: call only from the transport's strand (executor()), except write_now (see
// there).
// Invariants: at most one read and one write are outstanding at a time (a write_now counts as a
// write while it runs); async_write writes the whole buffer or fails; after close() every pending
// operation completes with an error.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

namespace imet::mqtt::net {

// What a reactor-read transport tells when its socket is readable (or failed): the connection.
class ReadListener {
 public:
  virtual ~ReadListener() = default;
  virtual void on_readable(const boost::system::error_code& ec) = 0;
};

class Transport {
 public:
  using IoHandler = std::function<void(const boost::system::error_code&, size_t)>;
  using Handler = std::function<void(const boost::system::error_code&)>;

  virtual ~Transport() = default;
  // The connection's strand.
  virtual boost::asio::any_io_executor executor() = 0;
  // TLS / WebSocket handshake; completes at once for plain TCP.
  virtual void async_handshake(Handler handler) = 0;
  virtual void async_read_some(boost::asio::mutable_buffer buffer, IoHandler handler) = 0;
  virtual void async_write(boost::asio::const_buffer buffer, IoHandler handler) = 0;
  // Reactor-style reading (plain TCP): wait until the socket is readable, then read without
  // blocking into a buffer the caller owns only for the duration of the call (the I/O thread's
  // scratch buffer), so an idle connection holds no read buffer. Transports with their own
  // buffering (TLS, WebSocket) return false and are read with async_read_some.
  // The wait holds only `listener` (no std::function): the one operation every idle connection
  // keeps pending stays small. listener->on_readable runs on the strand.
  virtual bool reactor_reads() const { return false; }
  virtual void async_wait_readable(std::shared_ptr<ReadListener> listener) { (void)listener; }
  // Bytes read (0 with ec = would_block when nothing is pending; eof when the peer closed).
  virtual size_t read_now(boost::asio::mutable_buffer buffer, boost::system::error_code& ec) {
    (void)buffer;
    ec = boost::asio::error::operation_not_supported;
    return 0;
  }
  // Buffered transports (TLS, WebSocket; read with async_read_some, which is always outstanding
  // while the connection is idle): true when the peer sent something (bytes, the end of the
  // stream, an error) that the outstanding read may still deliver; false when the transport
  // waits for more input from the network and has delivered everything it could (what it still
  // holds is at most an incomplete TLS record or WebSocket frame). The connection's takeover drain
  // waits for false (see ReadinessSocket). Reactor-read transports (plain TCP) are drained with
  // read_now instead and return false.
  virtual bool unread_input() { return false; }
  // Direct writes (plain TCP): write_now writes what the socket takes at once, without blocking
  // and without the strand, so the thread that queued output can write it itself instead of
  // handing it to the strand (one thread hop and wake-up less per packet). The only call that
  // may run off the strand; the caller guarantees that no other write (async_write or
  // write_now) is outstanding and that close() cannot run meanwhile (Connection: both under its
  // output lock, which finish() takes before closing). Returns the bytes written (may be fewer
  // than given; 0 with ec = would_block when the socket buffer is full). Transports with their
  // own framing or encryption (TLS, WebSocket) return false from writes_now.
  virtual bool writes_now() const { return false; }
  virtual size_t write_now(boost::asio::const_buffer buffer, boost::system::error_code& ec) {
    (void)buffer;
    ec = boost::asio::error::operation_not_supported;
    return 0;
  }
  // Closes the socket (no graceful TLS/WebSocket shutdown: MQTT has its own DISCONNECT).
  virtual void close() = 0;
  // Remote IP address as text, for limits and logs ("?" when unknown).
  virtual std::string remote_ip() const = 0;
  // "tcp", "tls" or "ws"/"wss".
  virtual const char* kind() const = 0;
};

}  // namespace imet::mqtt::net
