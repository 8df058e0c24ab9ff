// Connection, its write side: packets are encoded into the I/O thread's scratch buffer and
// appended to the pending output; one writer at a time takes all that is pending: the strand's
// do_write (async_write), or, inside an OutputScope on an I/O thread and for plain TCP, that
// thread itself when the scope ends (a direct non-blocking ::send; what the socket does not take
// goes on through do_write). The buffers are released when the output is drained and no
// acknowledgement waits in them (an idle connection holds none).
// Thread-safety: send() may be called from any thread (sessions deliver from every I/O thread and
// the committer); out_mu_ guards out_ (the pending buffer and the acknowledgements waiting for
// ack_durable), write_scheduled_, write_deferred_, finish_after_write_ and dead_; do_write and
// its completion run on the strand; flush_deferred runs on the I/O thread whose scope took the
// output, holding out_mu_ across the ::send so that neither another writer nor finish()'s close
// of the socket can run meanwhile.
// Invariants: at most one writer (write_scheduled_): an outstanding async write, a posted
// do_write, or one thread's deferred flush (write_deferred_); out_->writing is touched only by the
// async write; once dead_, nothing more is queued or written; pending_ counts the bytes queued or
// being written; a connection is in at most one thread's deferred list (write_deferred_ is set
// once, by the send() that made it the owner).
#include <cstddef>
#include <cstring>
#include <vector>

#include <boost/asio/post.hpp>

#include "mqtt/broker/connection.h"
#include "mqtt/codec/encoder.h"

namespace imet::mqtt::broker {

namespace asio = boost::asio;

namespace {
// Encoding buffer of this I/O thread (no per-connection buffer: idle connections stay small).
util::Bytes& encode_scratch() {
  thread_local util::Bytes buf;
  return buf;
}

// This thread's OutputScope state: nesting depth and the connections whose output it writes.
struct Deferred {
  int depth = 0;
  std::vector<std::shared_ptr<Connection>> conns;
  std::vector<std::shared_ptr<Connection>> flushing;  // reused: no allocation per scope
};
Deferred& deferred() {
  thread_local Deferred d;
  return d;
}
}  // namespace

OutputScope::OutputScope() {
  ++deferred().depth;
}

OutputScope::~OutputScope() {
  Deferred& d = deferred();
  if (--d.depth > 0) return;
  // flush_deferred neither sends nor opens a scope, so nothing joins the list while it runs; the
  // swap only keeps the loop independent of that.
  while (!d.conns.empty()) {
    d.flushing.swap(d.conns);
    for (auto& c : d.flushing)
      c->flush_deferred();
    d.flushing.clear();
  }
}

bool OutputScope::active() {
  return deferred().depth > 0;
}

void Connection::send_packet(const Packet& packet) {
  encode_scratch().clear();
  if (!encode_packet(packet, version_, encode_scratch()).ok()) return;
  send(encode_scratch(), {});
}

void Connection::send(util::ByteSpan head, util::ByteSpan tail) {
  bool schedule = false;
  bool defer = false;
  {
    std::lock_guard lock(out_mu_);
    if (dead_) return;
    if (!out_) out_ = std::make_unique<OutBuffers>();
    util::Bytes& pending = out_->pending;
    const size_t old = pending.size();
    pending.resize(old + head.size() + tail.size());
    std::memcpy(pending.data() + old, head.data(), head.size());
    if (!tail.empty()) std::memcpy(pending.data() + old + head.size(), tail.data(), tail.size());
    pending_.fetch_add(head.size() + tail.size(), std::memory_order_relaxed);
    if (!write_scheduled_) {
      write_scheduled_ = true;
      if (OutputScope::active() && transport_->writes_now()) {
        write_deferred_ = true;  // this thread writes it when its scope ends
        defer = true;
      } else {
        schedule = true;
      }
    }
  }
  if (defer) deferred().conns.push_back(shared_from_this());
  if (schedule)
    asio::post(transport_->executor(), [self = shared_from_this()] { self->do_write(); });
}

void Connection::flush_deferred() {
  std::lock_guard lock(out_mu_);
  write_deferred_ = false;
  if (dead_) {  // finish() ran: the socket is closed, nothing more is written (as in do_write)
    write_scheduled_ = false;
    return;
  }
  util::Bytes& pending = out_->pending;  // not empty: the send() that deferred appended to it
  // The strand writes it instead when close() waits for the output to go before finish() (the
  // async write's completion calls finish()), or when so much is pending that the session may be
  // holding messages back (it is told when the async write completes: Session::on_writable).
  if (!finish_after_write_ && pending.size() < env_.broker.config().max_out_buffer) {
    boost::system::error_code ec;
    const size_t n = transport_->write_now(asio::buffer(pending), ec);
    pending_.fetch_sub(n, std::memory_order_relaxed);
    if (n == pending.size()) {
      write_scheduled_ = false;
      if (out_->acks.empty()) {
        out_.reset();  // drained: an idle connection holds no buffers
      } else {
        pending.clear();
      }
      return;
    }
    // Partly written, the socket buffer full, or an error: do_write takes the rest (on an error
    // its async_write fails the same way and ends the connection on the strand).
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
  }
  asio::post(transport_->executor(), [self = shared_from_this()] { self->do_write(); });
}

void Connection::do_write() {
  {
    std::lock_guard lock(out_mu_);
    if (!out_ || out_->pending.empty() || dead_) {
      write_scheduled_ = false;
      return;
    }
    out_->writing.swap(out_->pending);
    out_->pending.clear();
  }
  // out_ stays while this write is outstanding: only its completion (below) releases it, and
  // send() only appends to out_->pending under out_mu_.
  auto self = shared_from_this();
  transport_->async_write(
      asio::buffer(out_->writing), [self](const boost::system::error_code& ec, size_t n) {
        self->pending_.fetch_sub(self->out_->writing.size(), std::memory_order_relaxed);
        self->out_->writing.clear();
        if (ec) {
          {
            std::lock_guard lock(self->out_mu_);
            self->dead_ = true;
            self->write_scheduled_ = false;
          }
          self->closing_ = true;
          self->finish();
          return;
        }
        (void)n;
        // What the session sends now (on_writable) is written by this thread when this handler
        // ends, unless do_write below has taken it.
        const OutputScope scope;
        bool more;
        {
          std::lock_guard lock(self->out_mu_);
          more = !self->out_->pending.empty();
          if (!more) {
            self->write_scheduled_ = false;
            // Nothing more to write: give the buffers back (an idle connection holds none),
            // unless acknowledgements wait in them (ack_durable is posted for those).
            if (self->out_->acks.empty()) self->out_.reset();
          }
        }
        if (self->closing_ && !more) {
          self->finish();
          return;
        }
        if (self->session_ && !self->closing_) self->session_->on_writable();
        if (more) self->do_write();
      });
}

}  // namespace imet::mqtt::broker
