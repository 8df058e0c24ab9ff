// Connection, its life cycle: construction and the ConnectionEnv references, the end of the
// connection (DISCONNECT from the client, kick by the broker, close on a protocol error, finish)
// and its timeouts (connect timeout, keep alive, the wait for a closing connection's last packets).
// The other parts of Connection: connection_read.cpp (handshake, read loop, dispatch),
// connection_connect.cpp (CONNECT), connection_publish.cpp (PUBLISH and its acknowledgements),
// connection_subscribe.cpp (SUBSCRIBE, UNSUBSCRIBE), connection_write.cpp (the write queue).
// Thread-safety: kick() and deadline_passed() may be called from any thread and only post to the
// strand; everything else here runs on the connection's strand (see connection.h).
// Invariants: finish() runs exactly once in effect (finished_), releasing the session, the
// admission slot and the deadline; after close() no packet is processed (closing_).
#include "mqtt/broker/connection.h"

#include <boost/asio/post.hpp>

#include "util/log.h"

namespace imet::mqtt::broker {

namespace asio = boost::asio;
using std::chrono::milliseconds;

std::string Connection::reason_hex(ReasonCode r) {
  static const char* kDigits = "0123456789abcdef";
  const auto v = static_cast<uint8_t>(r);
  return std::string("0x") + kDigits[v >> 4] + kDigits[v & 15];
}

void release_server_env(ConnectionEnv* env) {
  bool last;
  {
    std::lock_guard lock(env->mu);
    env->server_gone = true;
    last = --env->refs == 0;
  }
  if (last) delete env;
}

Connection::Connection(ConnectionEnv& env, std::unique_ptr<net::Transport> transport)
    : env_(env), transport_(std::move(transport)) {
  client_.ip = transport_->remote_ip();
  {
    std::lock_guard lock(env_.mu);
    ++env_.refs;
  }
  env_.broker.stats().sockets_open.fetch_add(1);
}

Connection::~Connection() {
  bool last;
  {
    // Under env_.mu: the server cannot go away between the check and the use.
    std::lock_guard lock(env_.mu);
    if (!env_.server_gone) {
      env_.deadlines.remove(*this);
      env_.broker.stats().sockets_open.fetch_sub(1);
    }
    last = --env_.refs == 0;
  }
  if (last) delete &env_;
}

void Connection::handle_disconnect(const Disconnect& d) {
  if (version_ == Version::kV5 && d.properties.session_expiry_interval) {
    if (session_expiry_ == 0 && *d.properties.session_expiry_interval != 0) {
      close(ReasonCode::kProtocolError, "session expiry set at DISCONNECT after 0 (MQTT-3.14.2-2)");
      return;
    }
    session_expiry_ =
        std::min(*d.properties.session_expiry_interval, env_.broker.config().max_session_expiry);
    disconnect_sets_expiry_ = true;  // applied by close_session, if still this session's
  }
  const bool with_will =
      version_ == Version::kV5 && d.reason_code == ReasonCode::kDisconnectWithWillMessage;
  closing_ = true;
  publish_will_ = with_will;
  finish();
}

void Connection::kick(ReasonCode reason) {
  asio::post(transport_->executor(), [self = shared_from_this(), reason] {
    self->close(reason, reason == ReasonCode::kServerShuttingDown
                            ? "server shutting down"
                            : "session taken over by a new connection");
  });
}

void Connection::close(ReasonCode reason, std::string_view why, bool publish_will) {
  flush_qos0();  // messages accepted before the reason to close are routed
  if (closing_) return;
  closing_ = true;
  publish_will_ = publish_will;
  util::log::debug("mqtt closing connection", {{"client", client_.client_id},
                                               {"ip", client_.ip},
                                               {"reason", reason_hex(reason)},
                                               {"why", std::string(why)}});
  if (connected_ && version_ == Version::kV5) {
    Disconnect d;
    d.reason_code = reason;
    if (!why.empty()) d.properties.reason_string = std::string(why);
    send_packet(d);
  }
  bool flushing;
  {
    std::lock_guard lock(out_mu_);
    flushing = write_scheduled_;
    // The writer must be the strand, whose write completion calls finish(): a deferred flush
    // (OutputScope) hands the output over to do_write instead of writing it itself.
    finish_after_write_ = flushing;
  }
  if (!flushing) {
    finish();
  } else {
    // The pending output (CONNACK/DISCONNECT) is written first; do_write calls finish(). A peer
    // that never reads is cut off by the timer.
    arm_timer(milliseconds(5000));
  }
}

void Connection::finish() {
  flush_qos0();  // before the will and the end of the session
  if (finished_) return;
  finished_ = true;
  closing_ = true;
  {
    std::lock_guard lock(out_mu_);
    dead_ = true;
  }
  arm_timer(milliseconds(0));
  env_.deadlines.remove(*this);
  transport_->close();
  if (connected_) {
    env_.broker.stats().clients_connected.fetch_sub(1);
    if (session_) {
      env_.broker.close_session(
          session_, this, publish_will_ ? will_ : nullptr, will_delay_,
          disconnect_sets_expiry_ ? std::optional<uint32_t>(session_expiry_) : std::nullopt);
      session_.reset();
    }
  }
  will_.reset();
  env_.broker.release(client_.ip);
}

void Connection::arm_timer(milliseconds after) {
  Deadlines::set(*this, after);
}

void Connection::deadline_passed() {
  // weak: the connection may be in its destructor, waiting for the Deadlines lock to leave.
  if (auto self = weak_from_this().lock()) {
    asio::post(transport_->executor(), [self = std::move(self)] { self->on_timer(); });
  }
}

void Connection::on_timer() {
  // Stale: re-armed after the sweep took the deadline (on_timer runs for the new one later).
  if (finished_ || Deadlines::armed(*this)) return;
  if (closing_) {  // the peer did not take our last packets
    finish();
    return;
  }
  if (!connected_) {
    util::log::info("mqtt connect timeout", {{"ip", client_.ip}});
    closing_ = true;
    finish();
    return;
  }
  if (keep_alive_ == 0) return;  // connected without keep alive after the connect timeout fired
  const auto limit = milliseconds(keep_alive_ * 1500);
  if (held_for_log_) {  // we are not reading (backpressure), not the client silent: wait on
    arm_timer(limit);
    return;
  }
  const auto idle =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - last_rx_);
  if (idle >= limit) {
    close(ReasonCode::kKeepAliveTimeout, "keep alive timeout");
    return;
  }
  arm_timer(limit - idle);
}

}  // namespace imet::mqtt::broker
