// Connection, its write side: packets are encoded into the I/O thread's scratch buffer and
// appended to the pending output; one write at a time takes all that is pending; the buffers
// are released when the output is drained (an idle connection holds none).
// Thread-safety: send() may be called from any thread (sessions deliver from every I/O thread and
// the committer); out_mu_ guards the pending buffer, write_scheduled_ and dead_; do_write and its
// completion run on the strand.
// Invariants: at most one async write is outstanding; out_->writing is touched only by it; once
// dead_, nothing more is queued; pending_ counts the bytes queued or being written.
#include <cstring>

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
}  // namespace

void Connection::send_packet(const Packet& packet) {
  encode_scratch().clear();
  if (!encode_packet(packet, version_, encode_scratch()).ok()) return;
  send(encode_scratch(), {});
}

void Connection::send(util::ByteSpan head, util::ByteSpan tail) {
  bool schedule = false;
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
      schedule = true;
    }
  }
  if (schedule)
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
        bool more;
        {
          std::lock_guard lock(self->out_mu_);
          more = !self->out_->pending.empty();
          if (!more) {
            self->write_scheduled_ = false;
            // Nothing more to write: give the buffers back (an idle connection holds none).
            self->out_.reset();
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
