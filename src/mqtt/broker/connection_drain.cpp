// Connection, the takeover drain (drain_input): before a new connection of the same client id takes
// the session over, this (older) connection processes what its client sent before connecting
// again. Plain TCP reads what the socket holds, synchronously (read_available). TLS and WebSocket
// keep a read outstanding that no second read can join; their transport tells instead whether
// input is still on its way to the connection (Transport::unread_input, exact thanks to
// ReadinessSocket), and the drain checks again on the strand, each time after the handlers queued
// meanwhile (the read completions that process the input) ran, with a short backoff, until nothing
// is left, the connection ends, or kBufferedDrainLimit passed (a client that keeps sending, or a
// read that never completes, never holds a takeover up for longer).
// Thread-safety: drain_input may be called from any thread (it posts to the strand); everything
// else runs on the strand. Memory: a buffered drain allocates its state (BufferedDrain, with its
// timer) only while it runs; an idle connection holds nothing for it.
#include <algorithm>
#include <chrono>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "mqtt/broker/connection.h"
#include "util/log.h"

namespace imet::mqtt::broker {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {
// Reads of a plain-TCP drain (enough for any socket receive buffer: 16 MiB).
constexpr int kDrainRounds = 256;
// How long a takeover waits at most for a TLS or WebSocket connection's input, and the longest
// pause between two checks.
constexpr milliseconds kBufferedDrainLimit{250};
constexpr milliseconds kMaxDrainPoll{8};
}  // namespace

struct Connection::BufferedDrain {
  explicit BufferedDrain(asio::any_io_executor ex) : timer(std::move(ex)) {}
  std::function<void()> done;
  asio::steady_timer timer;
  steady_clock::time_point deadline;
  milliseconds interval{0};
};

void Connection::drain_input(std::function<void()> done) {
  asio::post(transport_->executor(), [self = shared_from_this(), done = std::move(done)]() mutable {
    if (self->closing_ || self->paused_) {
      done();
      return;
    }
    if (self->transport_->reactor_reads()) {
      self->read_available(kDrainRounds);
      done();
      return;
    }
    if (!self->transport_->unread_input()) {
      done();  // everything received was processed (at most an incomplete packet waits in rx_)
      return;
    }
    auto drain = std::make_shared<BufferedDrain>(self->transport_->executor());
    drain->done = std::move(done);
    drain->deadline = steady_clock::now() + kBufferedDrainLimit;
    self->poll_drain(std::move(drain));
  });
}

void Connection::poll_drain(std::shared_ptr<BufferedDrain> drain) {
  const bool unread = !closing_ && transport_->unread_input();
  if (!unread || steady_clock::now() >= drain->deadline) {
    if (unread) {
      util::log::debug("mqtt takeover drain gave up: input still arriving",
                       {{"client", client_.client_id}, {"transport", transport_->kind()}});
    }
    const auto done = std::move(drain->done);
    done();
    return;
  }
  // The first check again as soon as the handlers queued now have run; then backing off.
  if (drain->interval.count() == 0) {
    drain->interval = milliseconds(1);
    asio::post(transport_->executor(), [self = shared_from_this(), drain]() mutable {
      self->poll_drain(std::move(drain));
    });
    return;
  }
  drain->timer.expires_after(drain->interval);
  drain->interval = std::min(drain->interval * 2, kMaxDrainPoll);
  drain->timer.async_wait([self = shared_from_this(), drain](const boost::system::error_code&) {
    self->poll_drain(drain);
  });
}

}  // namespace imet::mqtt::broker
