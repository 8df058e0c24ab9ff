// Connection, PUBLISH from the client: topic aliases, topic, retain, receive maximum, ACL and
// tier checks; QoS 0 messages batched per I/O thread for Broker::publish_qos0; QoS 1/2 messages
// routed through Broker::publish and acknowledged (PUBACK / PUBREC) once durable; PUBREL and the
// exactly-once bookkeeping of incoming QoS 2.
// Thread-safety: on the connection's strand. The QoS 0 batch is thread-local, owned by the
// connection whose packets are being processed; the commit callback of a QoS 1/2 message runs on
// the committer thread and adds the outcome to out_->acks (out_mu_); the first of a batch
// posts ack_durable() to the strand, which acknowledges all of them in commit order, written by
// that thread directly (OutputScope): one hop and one write per connection and commit round.
// Invariants: the thread's QoS 0 batch is empty whenever process() is not running and holds
// messages of one connection only (owner); incoming_unacked_ counts QoS 1 messages not yet
// acknowledged and QoS 2 messages awaiting PUBREL; acknowledgements leave in commit order, which
// is the order the PUBLISHes arrived in (MQTT-4.6.0-2: the committer completes commits in order).
#include <cassert>
#include <vector>

#include <boost/asio/post.hpp>

#include "mqtt/broker/connection.h"
#include "mqtt/topic/validation.h"
#include "util/log.h"

namespace imet::mqtt::broker {

namespace asio = boost::asio;

namespace {
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
}  // namespace

void Connection::flush_qos0() {
  Qos0Batch& b = qos0_batch();
  if (b.owner != this || b.messages.empty()) return;
  env_.broker.publish_qos0(b.messages);
  b.messages.clear();
  b.owner = nullptr;
}

std::shared_ptr<Message> Connection::message_from_client(std::string topic, SharedBytes payload,
                                                         uint8_t qos, bool retain,
                                                         Properties properties) const {
  auto m = std::make_shared<Message>();
  m->topic = std::move(topic);
  m->payload = std::move(payload);
  m->qos = qos;
  m->retain = retain;
  m->created_ms = env_.broker.clock().now_unix_ms();
  m->origin_client = client_.client_id;
  if (properties.message_expiry_interval)
    m->expiry_at_ms = m->created_ms + int64_t{*properties.message_expiry_interval} * 1000;
  m->properties = std::move(properties);
  m->properties.message_expiry_interval.reset();
  return m;
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
  auto m = message_from_client(std::move(p.topic), std::move(p.payload), p.qos, p.retain,
                               std::move(p.properties));
  m->tier = *tier;
  m->properties.topic_alias.reset();
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
  const Session* writer = nullptr;
  if (p.qos == 2 && env_.broker.persistence() != nullptr && session_->persistent()) {
    Persistence::put_incoming(extra, client_.client_id, session_->generation(), p.packet_id);
    writer = session_.get();  // the key is the client id's: not if the session was replaced
  }
  const uint8_t qos = p.qos;
  const uint16_t id = p.packet_id;
  env_.broker.publish(
      m, std::move(extra),
      [self = shared_from_this(), qos, id](util::Status st) { self->on_durable(qos, id, st.ok()); },
      writer);
}

void Connection::on_durable(uint8_t qos, uint16_t packet_id, bool ok) {
  bool first;
  {
    std::lock_guard lock(out_mu_);
    if (!out_) out_ = std::make_unique<OutBuffers>();
    out_->acks.push_back(DurableAck{packet_id, qos, ok});
    first = out_->acks.size() == 1;
  }
  if (first)
    asio::post(transport_->executor(), [self = shared_from_this()] { self->ack_durable(); });
}

void Connection::ack_durable() {
  const OutputScope scope;  // the acknowledgements are written by this thread, in one write
  thread_local std::vector<DurableAck> batch;
  batch.clear();
  {
    std::lock_guard lock(out_mu_);
    if (out_) batch.swap(out_->acks);  // out_ stays: the acknowledgements are sent into it
  }
  for (const DurableAck& a : batch) {
    if (finished_) break;
    if (a.qos == 1 && incoming_unacked_ > 0) --incoming_unacked_;
    if (!a.ok) {
      if (a.qos == 2) session_->release_incoming_qos2(a.packet_id);
      if (version_ == Version::kV5) {
        ack_publish(a.qos, a.packet_id, ReasonCode::kUnspecifiedError);
      } else {
        close(ReasonCode::kUnspecifiedError, "message could not be stored");
      }
      continue;
    }
    ack_publish(a.qos, a.packet_id, ReasonCode::kSuccess);
  }
  batch.clear();
}

void Connection::handle_pubrel(const Pubrel& r) {
  if (session_->release_incoming_qos2(r.packet_id)) {
    if (incoming_unacked_ > 0) --incoming_unacked_;
    if (env_.broker.persistence() != nullptr && session_->persistent()) {
      store::WriteBatch b;
      Persistence::del_incoming(b, client_.client_id, r.packet_id);
      env_.broker.submit_for_session(*session_, std::move(b));
    }
    send_packet(Pubcomp{r.packet_id, ReasonCode::kSuccess, {}});
  } else {
    send_packet(Pubcomp{r.packet_id, ReasonCode::kPacketIdentifierNotFound, {}});
  }
}

}  // namespace imet::mqtt::broker
