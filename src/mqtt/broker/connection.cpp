// Connection implementation: the per-client MQTT protocol engine.
#include "mqtt/broker/connection.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include <boost/asio/post.hpp>

#include "crypto/sodium.h"
#include "mqtt/codec/decoder.h"
#include "mqtt/codec/encoder.h"
#include "mqtt/codec/framing.h"
#include "mqtt/topic/validation.h"
#include "util/log.h"

namespace imet::mqtt::broker {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {
// Encoding buffer of this I/O thread (no per-connection buffer: idle connections stay small).
util::Bytes& encode_scratch() {
  thread_local util::Bytes buf;
  return buf;
}
constexpr size_t kInitialRx = 16 * 1024;  // buffered transports (TLS, WebSocket)
constexpr size_t kMinReadRoom = 4 * 1024;
constexpr size_t kScratch = 64 * 1024;  // per I/O thread, reactor path
// Reads of one readiness event (fairness between the connections of an I/O thread), and of a
// takeover drain (enough for any socket receive buffer: 16 MiB).
constexpr int kReadRounds = 16;
constexpr int kDrainRounds = 256;

// QoS 0 messages accepted from the packets being processed on this I/O thread (see
// connection.h), and the connection they came from.
struct Qos0Batch {
  std::vector<MessagePtr> messages;
  const Connection* owner = nullptr;
};
Qos0Batch& qos0_batch() {
  thread_local Qos0Batch batch;
  return batch;
}
// Bounds the delay of a batch's first message behind the decoding of the rest.
constexpr size_t kMaxQos0Batch = 64;

std::string random_client_id() {
  std::array<uint8_t, 12> r{};
  crypto::random_bytes(r);
  return "imet-" + util::to_hex(r);
}

std::string reason_hex(ReasonCode r) {
  static const char* kDigits = "0123456789abcdef";
  const auto v = static_cast<uint8_t>(r);
  return std::string("0x") + kDigits[v >> 4] + kDigits[v & 15];
}
}  // namespace

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

void Connection::start() {
  auto self = shared_from_this();
  last_rx_ = std::chrono::steady_clock::now();
  env_.deadlines.add(*this);
  arm_timer(env_.broker.config().connect_timeout);
  transport_->async_handshake([self](const boost::system::error_code& ec) {
    if (ec) {
      util::log::debug("mqtt handshake failed",
                       {{"ip", self->client_.ip}, {"error", ec.message()}});
      self->finish();
      return;
    }
    if (!self->transport_->reactor_reads()) self->rx_.resize(kInitialRx);
    self->read();
  });
}

void Connection::read() {
  if (closing_) return;
  auto self = shared_from_this();
  if (transport_->reactor_reads()) {
    transport_->async_wait_readable(std::move(self));
    return;
  }
  if (rx_.size() - rx_len_ < kMinReadRoom) {
    rx_.resize(std::max(rx_.size() * 2, rx_len_ + kMinReadRoom));
  }
  transport_->async_read_some(
      asio::buffer(rx_.data() + rx_len_, rx_.size() - rx_len_),
      [self](const boost::system::error_code& ec, size_t n) { self->on_read(ec, n); });
}

void Connection::read_failed(const boost::system::error_code& ec) {
  if (!closing_) {
    util::log::debug("mqtt connection lost",
                     {{"client", client_.client_id}, {"error", ec.message()}});
    closing_ = true;
  }
  finish();
}

// Buffered-stream path (TLS, WebSocket): the connection owns its read buffer.
void Connection::on_read(const boost::system::error_code& ec, size_t n) {
  if (ec) {
    read_failed(ec);
    return;
  }
  last_rx_ = std::chrono::steady_clock::now();
  bump(env_.broker.stats().bytes_received, n);
  rx_len_ += n;
  const size_t used = process(util::ByteSpan(rx_.data(), rx_len_));
  std::memmove(rx_.data(), rx_.data() + used, rx_len_ - used);
  rx_len_ -= used;
  if (closing_ || paused_) return;  // resume_reading() continues after the pause
  read();
}

// Reactor path (TCP): read into this thread's scratch buffer; only an incomplete packet is kept
// in the connection's own buffer, so an idle connection holds no read buffer at all.
void Connection::on_readable(const boost::system::error_code& ec) {
  if (ec) {
    read_failed(ec);
    return;
  }
  read_available(kReadRounds);
  if (closing_ || paused_) return;  // resume_reading() continues after the pause
  read();
}

void Connection::read_available(int max_rounds) {
  thread_local std::vector<uint8_t> scratch(kScratch);
  for (int rounds = 0; rounds < max_rounds && !closing_; ++rounds) {
    boost::system::error_code rec;
    const size_t n = transport_->read_now(asio::buffer(scratch), rec);
    if (rec == asio::error::would_block || rec == asio::error::try_again) break;
    if (rec) {
      read_failed(rec);
      return;
    }
    last_rx_ = std::chrono::steady_clock::now();
    bump(env_.broker.stats().bytes_received, n);
    util::ByteSpan data(scratch.data(), n);
    if (rx_len_ > 0) {  // complete the packet started in an earlier read
      if (rx_.size() < rx_len_ + n) rx_.resize(rx_len_ + n);
      std::memcpy(rx_.data() + rx_len_, scratch.data(), n);
      rx_len_ += n;
      const size_t used = process(util::ByteSpan(rx_.data(), rx_len_));
      std::memmove(rx_.data(), rx_.data() + used, rx_len_ - used);
      rx_len_ -= used;
    } else {
      const size_t used = process(data);
      rx_len_ = static_cast<uint32_t>(n - used);
      if (rx_len_ > 0) {
        if (rx_.size() < rx_len_) rx_.resize(std::max<size_t>(rx_len_, 256));
        std::memcpy(rx_.data(), scratch.data() + used, rx_len_);
      }
    }
    if (rx_len_ == 0 && rx_.capacity() > 0) util::Bytes().swap(rx_);
    if (n < scratch.size() || paused_) break;  // drained, or paused
  }
}

void Connection::drain_input(std::function<void()> done) {
  asio::post(transport_->executor(), [self = shared_from_this(), done = std::move(done)] {
    // Only the reactor path can read now: a buffered transport's read is outstanding, and its
    // buffer holds at most an incomplete packet (process() ran on everything it delivered).
    if (!self->closing_ && !self->paused_ && self->transport_->reactor_reads()) {
      self->read_available(kDrainRounds);
    }
    done();
  });
}

size_t Connection::process(util::ByteSpan data) {
  size_t off = 0;
  const size_t max_packet = env_.broker.config().max_packet_size;
  DecodeOptions opts;
  opts.sender = Sender::kClient;
  while (!closing_ && !paused_ && off < data.size()) {
    const util::ByteSpan avail = data.subspan(off);
    const FrameProbe f = probe_frame(avail, max_packet);
    if (f.status == FrameStatus::kNeedMore) {
      // Buffered path: make sure the whole packet fits (bounded by max_packet_size).
      if (f.header_known && !transport_->reactor_reads() && f.packet_size > rx_.size()) {
        rx_.resize(f.packet_size + kMinReadRoom);
      }
      break;
    }
    if (f.status == FrameStatus::kInvalid) {
      close(f.reason, f.message);
      break;
    }
    opts.version = version_;
    auto decoded = decode_packet(avail.first(f.packet_size), opts);
    off += f.packet_size;
    if (!decoded.ok()) {
      if (!connected_) {
        // A CONNECT that cannot be accepted: an unsupported protocol level gets the 3.1.1 CONNACK
        // 0x01 (MQTT-3.1.2-2; what a client of any version can read); a malformed 5.0 CONNECT
        // gets CONNACK with its reason code; a malformed 3.1.1 CONNECT only a close
        // (MQTT-3.1.2-3, MQTT-1.5.3-1).
        const auto v = peek_connect_version(avail.first(f.packet_size));
        if (decoded.reason() == ReasonCode::kUnsupportedProtocolVersion) {
          version_ = Version::kV311;
          refuse_connect(decoded.reason(), decoded.message());
          break;
        }
        if (v == Version::kV5) {
          version_ = Version::kV5;
          refuse_connect(decoded.reason(), decoded.message());
          break;
        }
        closing_ = true;
        util::log::debug("mqtt malformed CONNECT",
                         {{"ip", client_.ip}, {"why", decoded.message()}});
        finish();
        break;
      }
      close(decoded.reason(), decoded.message());
      break;
    }
    handle(*decoded);
  }
  flush_qos0();
  return off;
}

void Connection::flush_qos0() {
  Qos0Batch& b = qos0_batch();
  if (b.owner != this || b.messages.empty()) return;
  env_.broker.publish_qos0(b.messages);
  b.messages.clear();
  b.owner = nullptr;
}

void Connection::handle(Packet& packet) {
  // Anything but a PUBLISH is ordered after the QoS 0 messages before it (handle_publish flushes
  // before QoS 1/2).
  if (!std::holds_alternative<Publish>(packet)) flush_qos0();
  if (!connected_) {
    if (auto* c = std::get_if<Connect>(&packet)) {
      handle_connect(*c);
    } else {
      close(ReasonCode::kProtocolError, "first packet is not CONNECT", false);
    }
    return;
  }
  std::visit(
      [&](auto& p) {
        using P = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<P, Publish>) {
          handle_publish(p);
        } else if constexpr (std::is_same_v<P, Puback>) {
          if (session_->on_puback(p.packet_id) == AckResult::kWrongType)
            close(ReasonCode::kProtocolError, "PUBACK for a QoS 2 message (MQTT-4.3.3-8)");
        } else if constexpr (std::is_same_v<P, Pubrec>) {
          if (session_->on_pubrec(p.packet_id, p.reason_code) == AckResult::kWrongType)
            close(ReasonCode::kProtocolError, "PUBREC for a QoS 1 message (MQTT-4.3.2-4)");
        } else if constexpr (std::is_same_v<P, Pubrel>) {
          handle_pubrel(p);
        } else if constexpr (std::is_same_v<P, Pubcomp>) {
          if (session_->on_pubcomp(p.packet_id) == AckResult::kWrongType)
            close(ReasonCode::kProtocolError,
                  "PUBCOMP for a message without PUBREC (MQTT-4.3.2-4, MQTT-4.3.3-8)");
        } else if constexpr (std::is_same_v<P, Subscribe>) {
          handle_subscribe(p);
        } else if constexpr (std::is_same_v<P, Unsubscribe>) {
          handle_unsubscribe(p);
        } else if constexpr (std::is_same_v<P, Pingreq>) {
          send_packet(Pingresp{});
        } else if constexpr (std::is_same_v<P, Disconnect>) {
          handle_disconnect(p);
        } else if constexpr (std::is_same_v<P, Connect>) {
          close(ReasonCode::kProtocolError, "second CONNECT");
        } else if constexpr (std::is_same_v<P, Auth>) {
          close(ReasonCode::kProtocolError, "AUTH without an authentication method");
        } else {
          close(ReasonCode::kProtocolError, "packet a client may not send");
        }
      },
      packet);
}

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

void Connection::resume_reading() {
  if (closing_ || paused_) return;
  if (rx_len_ > 0) {
    const size_t used = process(util::ByteSpan(rx_.data(), rx_len_));
    std::memmove(rx_.data(), rx_.data() + used, rx_len_ - used);
    rx_len_ -= used;
    if (closing_ || paused_) return;
  }
  read();
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
    auto m = std::make_shared<Message>();
    m->topic = std::move(w.topic);
    m->payload = std::move(w.payload);
    m->qos = w.qos;
    m->retain = w.retain;
    m->created_ms = env_.broker.clock().now_unix_ms();
    m->origin_client = client_.client_id;
    will_delay_ = w.properties.will_delay_interval.value_or(0);
    if (w.properties.message_expiry_interval)
      m->expiry_at_ms = m->created_ms + int64_t{*w.properties.message_expiry_interval} * 1000;
    m->properties = std::move(w.properties);
    m->properties.will_delay_interval.reset();
    m->properties.message_expiry_interval.reset();
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

void Connection::ack_publish(uint8_t qos, uint16_t packet_id, ReasonCode reason) {
  if (qos == 1) {
    send_packet(Puback{packet_id, reason, {}});
  } else if (qos == 2) {
    send_packet(Pubrec{packet_id, reason, {}});
  }
}

void Connection::handle_publish(Publish& p) {
  const BrokerConfig& cfg = env_.broker.config();
  // Topic alias (5.0, client -> broker).
  if (p.properties.topic_alias) {
    const uint16_t alias = *p.properties.topic_alias;
    if (alias == 0 || alias > cfg.topic_alias_maximum) {
      close(ReasonCode::kTopicAliasInvalid, "topic alias out of range");
      return;
    }
    if (!p.topic.empty()) {
      in_aliases_.mut()[alias] = p.topic;
    } else {
      const std::string* topic = in_aliases_.find(alias);
      if (topic == nullptr) {
        close(ReasonCode::kProtocolError, "unknown topic alias");
        return;
      }
      p.topic = *topic;
    }
  }
  const TopicCheck check =
      validate_topic_name(p.topic, TopicLimits{cfg.max_topic_length, cfg.max_topic_levels});
  if (!check.ok()) {
    if (version_ == Version::kV5 && p.qos > 0) {
      ack_publish(p.qos, p.packet_id, static_cast<ReasonCode>(reason_code_for_name(check.error)));
    } else {
      close(static_cast<ReasonCode>(reason_code_for_name(check.error)), check.message);
    }
    return;
  }
  if (p.retain && !cfg.retain_available) {
    close(ReasonCode::kRetainNotSupported, "retain is not available");
    return;
  }
  if (p.qos == 2 && incoming_unacked_ >= cfg.receive_maximum && version_ == Version::kV5) {
    close(ReasonCode::kReceiveMaximumExceeded,
          "more QoS 2 messages in flight than receive maximum");
    return;
  }
  bump(env_.broker.stats().messages_received);
  if (!env_.access.can_publish(client_, p.topic)) {
    util::log::debug("mqtt publish denied", {{"client", client_.client_id}, {"topic", p.topic}});
    ack_publish(p.qos, p.packet_id,
                version_ == Version::kV5 ? ReasonCode::kNotAuthorized : ReasonCode::kSuccess);
    return;
  }
  const auto tier = env_.broker.tier_for(p.topic, p.properties);
  if (!tier) {
    ack_publish(p.qos, p.packet_id, ReasonCode::kImplementationSpecificError);
    return;
  }
  if (*tier == 1 && p.payload.size() > cfg.tier1_max_message) {
    close(ReasonCode::kPacketTooLarge, "tier 1 message over the tier 1 size limit");
    return;
  }
  if (p.qos == 2 && !session_->begin_incoming_qos2(p.packet_id)) {
    ack_publish(2, p.packet_id, ReasonCode::kSuccess);  // retransmission: already routed once
    return;
  }
  auto m = std::make_shared<Message>();
  m->topic = std::move(p.topic);
  m->payload = std::move(p.payload);
  m->qos = p.qos;
  m->retain = p.retain;
  m->created_ms = env_.broker.clock().now_unix_ms();
  m->origin_client = client_.client_id;
  m->tier = *tier;
  if (p.properties.message_expiry_interval)
    m->expiry_at_ms = m->created_ms + int64_t{*p.properties.message_expiry_interval} * 1000;
  m->properties = std::move(p.properties);
  m->properties.topic_alias.reset();
  m->properties.message_expiry_interval.reset();
  m->properties.subscription_identifiers.clear();
  if (p.qos == 0) {
    Qos0Batch& b = qos0_batch();
    assert(b.owner == nullptr || b.owner == this);  // emptied at the end of every process()
    b.owner = this;
    b.messages.push_back(std::move(m));
    if (b.messages.size() >= kMaxQos0Batch) flush_qos0();
    return;
  }
  flush_qos0();
  // QoS 1/2: acknowledged once durable (PUBACK / PUBREC from the commit callback).
  ++incoming_unacked_;
  store::WriteBatch extra;
  if (p.qos == 2 && env_.broker.persistence() != nullptr && session_->persistent()) {
    Persistence::put_incoming(extra, client_.client_id, session_->generation(), p.packet_id);
  }
  const uint8_t qos = p.qos;
  const uint16_t id = p.packet_id;
  env_.broker.publish(m, std::move(extra), [self = shared_from_this(), qos, id](util::Status st) {
    asio::post(self->transport_->executor(), [self, qos, id, ok = st.ok()] {
      if (self->finished_) return;
      if (qos == 1 && self->incoming_unacked_ > 0) --self->incoming_unacked_;
      if (!ok) {
        if (qos == 2) self->session_->release_incoming_qos2(id);
        if (self->version_ == Version::kV5) {
          self->ack_publish(qos, id, ReasonCode::kUnspecifiedError);
        } else {
          self->close(ReasonCode::kUnspecifiedError, "message could not be stored");
        }
        return;
      }
      self->ack_publish(qos, id, ReasonCode::kSuccess);
    });
  });
}

void Connection::handle_pubrel(const Pubrel& r) {
  if (session_->release_incoming_qos2(r.packet_id)) {
    if (incoming_unacked_ > 0) --incoming_unacked_;
    if (env_.broker.persistence() != nullptr && session_->persistent()) {
      store::WriteBatch b;
      Persistence::del_incoming(b, client_.client_id, r.packet_id);
      env_.broker.persistence()->submit(std::move(b), {}, false, nullptr);
    }
    send_packet(Pubcomp{r.packet_id, ReasonCode::kSuccess, {}});
  } else {
    send_packet(Pubcomp{r.packet_id, ReasonCode::kPacketIdentifierNotFound, {}});
  }
}

void Connection::handle_subscribe(const Subscribe& s) {
  const uint32_t sub_id =
      s.properties.subscription_identifiers.empty() ? 0 : s.properties.subscription_identifiers[0];
  for (const Subscription& sub : s.subscriptions) {
    if (sub.options.no_local && split_shared_subscription(sub.topic_filter)) {
      close(ReasonCode::kProtocolError, "No Local on a shared subscription (MQTT-3.8.3-4)");
      return;
    }
  }
  std::vector<Subscription> allowed;
  std::vector<ReasonCode> codes(s.subscriptions.size(), ReasonCode::kSuccess);
  std::vector<size_t> index;
  for (size_t i = 0; i < s.subscriptions.size(); ++i) {
    if (env_.access.can_subscribe(client_, s.subscriptions[i].topic_filter)) {
      allowed.push_back(s.subscriptions[i]);
      index.push_back(i);
    } else {
      codes[i] = ReasonCode::kNotAuthorized;
      util::log::debug("mqtt subscribe denied", {{"client", client_.client_id},
                                                 {"filter", s.subscriptions[i].topic_filter}});
    }
  }
  std::vector<Broker::Retained> retained;
  const auto granted = env_.broker.subscribe(*session_, allowed, sub_id, version_, retained);
  for (size_t k = 0; k < granted.size(); ++k)
    codes[index[k]] = granted[k];
  send_packet(Suback{s.packet_id, {}, std::move(codes)});
  for (auto& r : retained) {
    if (env_.access.checks_receive() && !env_.access.can_receive(client_, r.message->topic))
      continue;
    session_->deliver(r.message, std::move(r.delivery));
  }
}

void Connection::handle_unsubscribe(const Unsubscribe& u) {
  auto codes = env_.broker.unsubscribe(*session_, u.topic_filters);
  send_packet(Unsuback{u.packet_id, {}, std::move(codes)});
}

void Connection::handle_disconnect(const Disconnect& d) {
  if (version_ == Version::kV5 && d.properties.session_expiry_interval) {
    if (session_expiry_ == 0 && *d.properties.session_expiry_interval != 0) {
      close(ReasonCode::kProtocolError, "session expiry set at DISCONNECT after 0 (MQTT-3.14.2-2)");
      return;
    }
    session_expiry_ =
        std::min(*d.properties.session_expiry_interval, env_.broker.config().max_session_expiry);
    session_->set_expiry_interval(session_expiry_);
  }
  const bool with_will =
      version_ == Version::kV5 && d.reason_code == ReasonCode::kDisconnectWithWillMessage;
  closing_ = true;
  publish_will_ = with_will;
  finish();
}

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
      env_.broker.close_session(session_, this, publish_will_ ? will_ : nullptr, will_delay_);
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
  const auto idle =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - last_rx_);
  if (idle >= limit) {
    close(ReasonCode::kKeepAliveTimeout, "keep alive timeout");
    return;
  }
  arm_timer(limit - idle);
}

}  // namespace imet::mqtt::broker
