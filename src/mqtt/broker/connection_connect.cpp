// Connection, CONNECT: client id (assigned when empty), keep alive, authentication (inline, or on
// the auth pool with reading paused), session expiry and will, the takeover of a session still
// attached to another connection (which first drains its unread input), and the CONNACK, or a
// refusing CONNACK and the close.
// Thread-safety: on the connection's strand; the password check runs on the auth pool and posts
// its answer back, and the drain of the previous connection runs on that connection's strand and
// posts back. Reading is paused (paused_) while either is under way.
// Invariants: connected_ is set, and the session opened, at most once (accept_connect), after
// every check passed; a refused CONNECT gets its CONNACK before the close.
#include <algorithm>
#include <array>
#include <cassert>

#include <boost/asio/post.hpp>

#include "crypto/sodium.h"
#include "mqtt/broker/connection.h"
#include "mqtt/topic/validation.h"
#include "util/log.h"

namespace imet::mqtt::broker {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {
std::string random_client_id() {
  std::array<uint8_t, 12> r{};
  crypto::random_bytes(r);
  return "imet-" + util::to_hex(r);
}
}  // namespace

void Connection::refuse_connect(ReasonCode reason, std::string_view why) {
  util::log::info("mqtt connect refused", {{"ip", client_.ip},
                                           {"client", client_.client_id},
                                           {"reason", reason_hex(reason)},
                                           {"why", std::string(why)}});
  Connack ack;
  ack.reason_code = reason;
  if (version_ == Version::kV5 && !why.empty()) ack.properties.reason_string = std::string(why);
  send_packet(ack);
  close(reason, why, false);
}

void Connection::handle_connect(Connect& c) {
  const BrokerConfig& cfg = env_.broker.config();
  version_ = c.version;
  // Moved, not copied: a copy of a 16+ character id would get twice its capacity.
  client_.client_id = std::move(c.client_id);
  client_.username = std::move(c.username);
  if (c.properties.authentication_method) {
    refuse_connect(ReasonCode::kBadAuthenticationMethod,
                   "enhanced authentication is not supported");
    return;
  }
  bool assigned = false;
  if (client_.client_id.empty()) {
    if (version_ == Version::kV311 && !c.clean_start) {
      refuse_connect(ReasonCode::kClientIdentifierNotValid,
                     "empty client id requires clean session (MQTT-3.1.3-8)");
      return;
    }
    client_.client_id = random_client_id();
    assigned = true;
  }
  // Keep alive: a 5.0 client asking for more than max_keepalive (or for none) gets the server's
  // value; a 3.1.1 client cannot be told, so it is refused, as mosquitto does.
  keep_alive_ = c.keep_alive;
  std::optional<uint16_t> server_keep_alive;
  if (cfg.max_keepalive < 65535 && (c.keep_alive == 0 || c.keep_alive > cfg.max_keepalive)) {
    if (version_ == Version::kV5) {
      keep_alive_ = cfg.max_keepalive;
      server_keep_alive = cfg.max_keepalive;
    } else if (c.keep_alive > cfg.max_keepalive) {
      refuse_connect(ReasonCode::kClientIdentifierNotValid, "keep alive above max_keepalive");
      return;
    }
  }
  assigned_id_ = assigned;
  server_keep_alive_ = server_keep_alive;
  if (env_.auth_pool != nullptr && c.password) {
    // Password hashes (Argon2id, PBKDF2) are slow by design: check them on the auth pool so an
    // I/O thread never stalls; reading pauses until the answer is back on this strand.
    paused_ = true;
    auto connect = std::make_shared<Connect>(std::move(c));
    boost::asio::post(*env_.auth_pool, [self = shared_from_this(), connect] {
      auto why = std::make_shared<std::string>();
      const ReasonCode auth =
          self->env_.access.authenticate(self->client_, connect->password, *why);
      asio::post(self->transport_->executor(), [self, connect, auth, why] {
        self->paused_ = false;
        if (self->closing_) return;
        self->continue_connect(*connect, auth, *why);
        self->resume_reading();
      });
    });
    return;
  }
  std::string why;
  const ReasonCode auth = env_.access.authenticate(client_, c.password, why);
  continue_connect(c, auth, why);
}

void Connection::continue_connect(Connect& c, ReasonCode auth, const std::string& why) {
  const BrokerConfig& cfg = env_.broker.config();
  if (auth != ReasonCode::kSuccess) {
    bump(env_.broker.stats().auth_failures);
    refuse_connect(auth, why.empty() ? "not authorized" : why);
    return;
  }
  if (env_.broker.shutting_down()) {
    refuse_connect(ReasonCode::kServerUnavailable, "server shutting down");
    return;
  }
  // Session expiry.
  uint32_t expiry = 0;
  if (version_ == Version::kV5) {
    expiry = c.properties.session_expiry_interval.value_or(0);
  } else if (!c.clean_start) {
    expiry = 0xFFFFFFFF;
  }
  expiry = std::min(expiry, cfg.max_session_expiry);
  session_expiry_ = expiry;
  // Will.
  if (c.will) {
    Will& w = *c.will;
    const TopicCheck check =
        validate_topic_name(w.topic, TopicLimits{cfg.max_topic_length, cfg.max_topic_levels});
    if (!check.ok()) {
      refuse_connect(static_cast<ReasonCode>(reason_code_for_name(check.error)), check.message);
      return;
    }
    if (w.retain && !cfg.retain_available) {
      refuse_connect(ReasonCode::kRetainNotSupported, "retain is not available");
      return;
    }
    if (!env_.access.can_publish(client_, w.topic)) {
      refuse_connect(ReasonCode::kNotAuthorized, "will topic not authorized");
      return;
    }
    will_delay_ = w.properties.will_delay_interval.value_or(0);
    auto m = message_from_client(std::move(w.topic), std::move(w.payload), w.qos, w.retain,
                                 std::move(w.properties));
    m->properties.will_delay_interval.reset();
    m->tier = env_.broker.tier_for(m->topic, m->properties).value_or(cfg.default_tier);
    will_ = std::move(m);
  }
  OpenRequest req;
  req.link.version = version_;
  if (version_ == Version::kV5) {
    req.link.receive_maximum = c.properties.receive_maximum.value_or(65535);
    req.link.max_packet_size = c.properties.maximum_packet_size.value_or(0);
    req.link.topic_alias_maximum = c.properties.topic_alias_maximum.value_or(0);
  }
  req.requested_expiry = c.properties.session_expiry_interval;
  req.clean_start = c.clean_start;
  // Takeover: the connection still attached to the session first processes what its client sent
  // before this CONNECT (a DISCONNECT may end the session or change its expiry, a close ends the
  // connection); this connection reads nothing until it is accepted.
  std::shared_ptr<PacketSink> previous = env_.broker.attached_connection(client_.client_id);
  if (!previous) {
    accept_connect(req);
    return;
  }
  assert(previous.get() != static_cast<PacketSink*>(this));
  paused_ = true;
  previous->drain_input([self = shared_from_this(), req] {
    asio::post(self->transport_->executor(), [self, req] {
      self->paused_ = false;
      if (self->closing_) return;  // e.g. the connect timeout
      self->accept_connect(req);
      self->resume_reading();
    });
  });
}

void Connection::accept_connect(const OpenRequest& req) {
  const BrokerConfig& cfg = env_.broker.config();
  const uint32_t expiry = session_expiry_;
  connected_ = true;
  env_.broker.stats().clients_connected.fetch_add(1);
  arm_timer(keep_alive_ == 0 ? milliseconds(0) : milliseconds(keep_alive_ * 1500));
  const auto send_connack = [&](bool present) {
    Connack ack;
    ack.session_present = present;
    if (version_ == Version::kV5) {
      Properties& p = ack.properties;
      if (assigned_id_) p.assigned_client_identifier = client_.client_id;
      p.server_keep_alive = server_keep_alive_;
      p.receive_maximum = cfg.receive_maximum;
      // Absent means the protocol's own limit (as mosquitto does without max_packet_size).
      if (cfg.max_packet_size < kMaxPacketSize) {
        p.maximum_packet_size = static_cast<uint32_t>(cfg.max_packet_size);
      }
      p.topic_alias_maximum = cfg.topic_alias_maximum;
      if (!cfg.retain_available) p.retain_available = 0;
      if (req.requested_expiry && expiry != *req.requested_expiry)
        p.session_expiry_interval = expiry;
    }
    send_packet(ack);
  };
  auto opened =
      env_.broker.open_session(client_.client_id, req.clean_start, expiry, shared_from_this(),
                               req.link, send_connack, client_.username);
  session_ = std::move(opened.session);
  util::log::debug("mqtt client connected", {{"client", client_.client_id},
                                             {"ip", client_.ip},
                                             {"transport", transport_->kind()},
                                             {"version", static_cast<int>(version_)},
                                             {"session_present", opened.session_present}});
}

}  // namespace imet::mqtt::broker
