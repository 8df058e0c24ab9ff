// Session implementation: outgoing QoS flows, the queue, and packet encoding per client.
#include "mqtt/broker/session.h"

#include <algorithm>

#include "mqtt/codec/encoder.h"
#include "mqtt/codec/packet.h"
#include "util/log.h"

namespace imet::mqtt::broker {

namespace {
// Encoding buffer of this I/O thread (no per-connection buffer: idle connections stay small).
util::Bytes& session_scratch() {
  thread_local util::Bytes buf;
  return buf;
}
size_t queued_size(const Message& m) {
  return m.payload.size() + m.topic.size() + 64;
}
}  // namespace

Session::Session(std::string client_id, const BrokerConfig& config, BrokerStats& stats,
                 const util::Clock& clock, Persistence* persist, uint64_t generation)
    : client_id_(std::move(client_id)),
      config_(config),
      stats_(stats),
      clock_(clock),
      persist_(persist),
      generation_(generation) {}

bool Session::persistent() const {
  std::lock_guard lock(mu_);
  return persist_ != nullptr && expiry_interval_ > 0;
}

void Session::store_locked(const Inflight& f) {
  if (persist_ == nullptr || f.qid == 0) return;
  store::WriteBatch b;
  StoredDelivery d;
  d.qid = f.qid;
  d.message = f.pubrec_received ? nullptr : f.message;
  d.delivery = f.delivery;
  d.packet_id = f.packet_id;
  d.pubrec_received = f.pubrec_received;
  Persistence::put_delivery(b, client_id_, generation_, d);
  persist_->submit(std::move(b), {}, false, nullptr);
}

void Session::forget_locked(uint64_t qid) {
  if (persist_ == nullptr || qid == 0) return;
  store::WriteBatch b;
  Persistence::del_delivery(b, client_id_, qid);
  persist_->submit(std::move(b), {}, false, nullptr);
}

bool Session::stored() const {
  std::lock_guard lock(mu_);
  return stored_;
}

void Session::set_stored(bool stored) {
  std::lock_guard lock(mu_);
  stored_ = stored;
}

void Session::restore(const StoredSession& stored) {
  std::lock_guard lock(mu_);
  stored_ = true;
  expiry_interval_ = stored.expiry_interval;
  disconnected_at_ms_ =
      stored.disconnected_at_ms == 0 ? clock_.now_unix_ms() : stored.disconnected_at_ms;
  for (const StoredDelivery& d : stored.deliveries) {
    if (d.pubrec_received || (d.delivery.qos == 2 && d.packet_id != 0)) {
      // A QoS 2 flow the client may already know by its packet id: resume it with that id.
      inflight_.mut().push_back(
          Inflight{d.qid, d.packet_id, d.pubrec_received, d.message, d.delivery});
      next_packet_id_ = static_cast<uint16_t>(d.packet_id == 65535 ? 1 : d.packet_id + 1);
    } else if (d.message) {
      queued_bytes_ += queued_size(*d.message);
      queue_.mut().push_back(Queued{d.qid, d.message, d.delivery});
    }
  }
  for (uint16_t id : stored.incoming_qos2)
    incoming_qos2_.mut().insert(id);
}

void Session::kick(ReasonCode reason) {
  std::shared_ptr<PacketSink> old;
  {
    std::lock_guard lock(mu_);
    old = std::move(sink_);
    sink_.reset();
    if (old) disconnected_at_ms_ = clock_.now_unix_ms();
  }
  if (old) old->kick(reason);
}

bool Session::close_connection(ReasonCode reason) {
  std::shared_ptr<PacketSink> sink;
  {
    std::lock_guard lock(mu_);
    sink = sink_;
  }
  if (sink) sink->kick(reason);
  return sink != nullptr;
}

void Session::attach(std::shared_ptr<PacketSink> sink, const LinkParams& link) {
  std::lock_guard lock(mu_);
  if (sink_ && sink_ != sink) sink_->kick(ReasonCode::kSessionTakenOver);
  sink_ = std::move(sink);
  link_ = link;
  out_aliases_.clear();
  next_alias_ = 1;
  disconnected_at_ms_ = 0;
  if (auto* inflight = inflight_.ptr()) {
    for (auto it = inflight->begin(); it != inflight->end();) {
      if (it->pubrec_received) {
        write_ack_locked(PacketType::kPubrel, it->packet_id, ReasonCode::kSuccess);
        ++it;
      } else if (write_publish_locked(*it->message, it->delivery, it->packet_id, true)) {
        ++it;
      } else {
        it = inflight->erase(it);
      }
    }
  }
  pump_locked();
}

void Session::detach(const PacketSink* sink) {
  std::lock_guard lock(mu_);
  if (sink_.get() != sink) return;
  sink_.reset();
  disconnected_at_ms_ = clock_.now_unix_ms();
}

std::shared_ptr<PacketSink> Session::release_sink() {
  std::lock_guard lock(mu_);
  return std::move(sink_);
}

bool Session::online() const {
  std::lock_guard lock(mu_);
  return sink_ != nullptr;
}

std::shared_ptr<PacketSink> Session::sink() const {
  std::lock_guard lock(mu_);
  return sink_;
}

bool Session::attached_to(const PacketSink* sink) const {
  std::lock_guard lock(mu_);
  return sink_.get() == sink;
}

size_t Session::send_quota_locked() const {
  return std::min<size_t>(link_.receive_maximum, config_.max_inflight);
}

bool Session::writable_locked() const {
  return sink_ != nullptr && sink_->pending_bytes() < config_.max_out_buffer;
}

uint16_t Session::allocate_id_locked() {
  uint16_t id = next_packet_id_;
  if (!inflight_.empty() && id == inflight_.get()->front().packet_id)
    return 0;  // wrapped onto oldest
  next_packet_id_ = static_cast<uint16_t>(id == 65535 ? 1 : id + 1);
  return id;
}

bool Session::expired_locked(const Message& m) const {
  return m.expiry_at_ms != 0 && clock_.now_unix_ms() >= m.expiry_at_ms;
}

bool Session::write_publish_locked(const Message& m, const Delivery& d, uint16_t packet_id,
                                   bool dup) {
  if (expired_locked(m)) {
    bump(stats_.expired);
    return false;
  }
  PublishHeader h;
  h.topic = m.topic;
  h.qos = d.qos;
  h.retain = d.retain;
  h.dup = dup;
  h.packet_id = packet_id;
  bool new_alias = false;
  if (link_.version == Version::kV5) {
    h.properties = &m.properties;
    h.subscription_identifiers = d.sub_ids;
    if (m.expiry_at_ms != 0) {
      const int64_t left_ms = m.expiry_at_ms - clock_.now_unix_ms();
      h.message_expiry_interval = static_cast<uint32_t>((left_ms + 999) / 1000);
    }
    if (link_.topic_alias_maximum > 0) {
      if (const uint16_t* alias = out_aliases_.find(m.topic)) {
        h.topic = {};
        h.topic_alias = *alias;
      } else if (next_alias_ <= link_.topic_alias_maximum) {
        h.topic_alias = next_alias_;
        new_alias = true;
      }
    }
  }
  const size_t limit = link_.max_packet_size == 0 ? kMaxPacketSize : link_.max_packet_size;
  auto size = publish_size(h, m.payload.size(), link_.version);
  if (!size.ok() || *size > limit) {
    bump(stats_.publish_dropped);  // MQTT-3.1.2-25: discard a packet too large for the client
    return false;
  }
  session_scratch().clear();
  if (!encode_publish_header(h, m.payload.size(), link_.version, session_scratch()).ok()) {
    bump(stats_.publish_dropped);
    return false;
  }
  if (new_alias) out_aliases_.mut().emplace(m.topic, next_alias_++);
  sink_->send(session_scratch(), m.payload.span());
  bump(stats_.messages_sent);
  bump(stats_.bytes_sent, session_scratch().size() + m.payload.size());
  return true;
}

void Session::write_ack_locked(PacketType type, uint16_t packet_id, ReasonCode reason) {
  if (!sink_) return;
  session_scratch().clear();
  Packet p;
  switch (type) {
    case PacketType::kPubrel:
      p = Pubrel{packet_id, reason, {}};
      break;
    default:
      return;
  }
  if (encode_packet(p, link_.version, session_scratch()).ok()) sink_->send(session_scratch(), {});
}

void Session::enqueue_locked(const MessagePtr& m, Delivery d, uint64_t qid) {
  const size_t sz = queued_size(*m);
  if (queue_.size() >= config_.max_queued_messages ||
      queued_bytes_ + sz > config_.max_queued_bytes) {
    // Make room by dropping the oldest QoS 0 messages; if that is not enough, drop this one.
    while (queued_qos0_ > 0 && (queue_.size() >= config_.max_queued_messages ||
                                queued_bytes_ + sz > config_.max_queued_bytes)) {
      auto& queue = queue_.mut();  // not empty: it holds queued_qos0_ > 0 messages
      auto it = std::find_if(queue.begin(), queue.end(),
                             [](const Queued& q) { return q.delivery.qos == 0; });
      queued_bytes_ -= queued_size(*it->message);
      --queued_qos0_;
      forget_locked(it->qid);
      queue.erase(it);
      bump(stats_.qos0_dropped);
      bump(stats_.publish_dropped);
    }
    if (queue_.size() >= config_.max_queued_messages ||
        queued_bytes_ + sz > config_.max_queued_bytes) {
      bump(stats_.publish_dropped);
      if (d.qos == 0) bump(stats_.qos0_dropped);
      forget_locked(qid);
      if (d.qos > 0) ++dropped_;
      if (d.qos > 0 && (dropped_ & (dropped_ - 1)) == 0) {  // 1st, 2nd, 4th, 8th … drop
        util::log::warn("mqtt session queue full: QoS 1/2 message dropped",
                        {{"client", client_id_},
                         {"queued", queue_.size()},
                         {"queued_bytes", queued_bytes_},
                         {"dropped", dropped_}});
      }
      return;
    }
  }
  if (d.qos == 0) ++queued_qos0_;
  queued_bytes_ += sz;
  queue_.mut().push_back(Queued{qid, m, std::move(d)});
}

bool Session::send_new_locked(uint64_t qid, const MessagePtr& m, Delivery& d, uint16_t id) {
  if (!write_publish_locked(*m, d, id, false)) {
    forget_locked(qid);
    return false;
  }
  auto& inflight = inflight_.mut();
  inflight.push_back(Inflight{qid, id, false, m, std::move(d)});
  if (inflight.back().delivery.qos == 2) store_locked(inflight.back());  // remember the id
  return true;
}

void Session::deliver(const MessagePtr& message, Delivery delivery, uint64_t qid) {
  std::lock_guard lock(mu_);
  if (delivery.qos == 0) {
    if (sink_ != nullptr) {
      if (queue_.empty() && writable_locked()) {
        write_publish_locked(*message, delivery, 0, false);
      } else if (queue_.empty()) {
        bump(stats_.qos0_dropped);  // the client does not keep up: QoS 0 is best effort
        bump(stats_.publish_dropped);
      } else {
        enqueue_locked(message, std::move(delivery), qid);
      }
    } else if (config_.queue_qos0_offline && expiry_interval_ > 0) {
      enqueue_locked(message, std::move(delivery), qid);
    }
    return;
  }
  if (sink_ != nullptr && queue_.empty() && inflight_.size() < send_quota_locked() &&
      writable_locked()) {
    const uint16_t id = allocate_id_locked();
    if (id != 0) {
      send_new_locked(qid, message, delivery, id);
      return;
    }
  }
  enqueue_locked(message, std::move(delivery), qid);
}

void Session::pump_locked() {
  while (!queue_.empty() && writable_locked()) {
    Queued& q = queue_.ptr()->front();
    if (q.delivery.qos == 0) {
      write_publish_locked(*q.message, q.delivery, 0, false);
      --queued_qos0_;
    } else {
      if (inflight_.size() >= send_quota_locked()) return;
      const uint16_t id = allocate_id_locked();
      if (id == 0) return;
      send_new_locked(q.qid, q.message, q.delivery, id);
    }
    queued_bytes_ -= queued_size(*q.message);
    queue_.ptr()->pop_front();
  }
}

void Session::on_writable() {
  std::lock_guard lock(mu_);
  pump_locked();
}

AckResult Session::on_puback(uint16_t packet_id) {
  std::lock_guard lock(mu_);
  auto* inflight = inflight_.ptr();
  if (inflight == nullptr) return AckResult::kUnknownId;
  auto it = std::find_if(inflight->begin(), inflight->end(),
                         [&](const Inflight& f) { return f.packet_id == packet_id; });
  if (it == inflight->end()) return AckResult::kUnknownId;
  if (it->delivery.qos != 1) return AckResult::kWrongType;  // QoS 2 ends with PUBCOMP
  forget_locked(it->qid);
  inflight->erase(it);
  pump_locked();
  return AckResult::kDone;
}

AckResult Session::on_pubrec(uint16_t packet_id, ReasonCode reason) {
  std::lock_guard lock(mu_);
  auto& inflight = inflight_.mut();
  auto it = std::find_if(inflight.begin(), inflight.end(),
                         [&](const Inflight& f) { return f.packet_id == packet_id; });
  if (it == inflight.end()) {
    write_ack_locked(PacketType::kPubrel, packet_id, ReasonCode::kPacketIdentifierNotFound);
    return AckResult::kUnknownId;
  }
  if (it->delivery.qos != 2) return AckResult::kWrongType;  // QoS 1 ends with PUBACK
  if (static_cast<uint8_t>(reason) >= 0x80) {  // the receiver refused: the flow ends here
    forget_locked(it->qid);
    inflight.erase(it);
    pump_locked();
    return AckResult::kDone;
  }
  // A repeated PUBREC (after PUBREL was sent) gets the PUBREL again.
  it->pubrec_received = true;
  it->message.reset();  // only the id matters from now on
  store_locked(*it);
  write_ack_locked(PacketType::kPubrel, packet_id, ReasonCode::kSuccess);
  return AckResult::kDone;
}

AckResult Session::on_pubcomp(uint16_t packet_id) {
  std::lock_guard lock(mu_);
  auto* inflight = inflight_.ptr();
  if (inflight == nullptr) return AckResult::kUnknownId;
  auto it = std::find_if(inflight->begin(), inflight->end(),
                         [&](const Inflight& f) { return f.packet_id == packet_id; });
  if (it == inflight->end()) return AckResult::kUnknownId;
  if (!it->pubrec_received) return AckResult::kWrongType;  // QoS 1, or QoS 2 before PUBREC
  forget_locked(it->qid);
  inflight->erase(it);
  pump_locked();
  return AckResult::kDone;
}

bool Session::begin_incoming_qos2(uint16_t packet_id) {
  std::lock_guard lock(mu_);
  return incoming_qos2_.mut().insert(packet_id).second;
}

bool Session::release_incoming_qos2(uint16_t packet_id) {
  std::lock_guard lock(mu_);
  return incoming_qos2_.erase(packet_id) > 0;
}

size_t Session::incoming_qos2_count() const {
  std::lock_guard lock(mu_);
  return incoming_qos2_.size();
}

std::vector<std::pair<MessagePtr, Delivery>> Session::take_shared_unacked() {
  std::lock_guard lock(mu_);
  std::vector<std::pair<MessagePtr, Delivery>> out;
  if (auto* inflight = inflight_.ptr()) {
    for (auto it = inflight->begin(); it != inflight->end();) {
      if (!it->delivery.shared_group.empty() && !it->pubrec_received) {
        forget_locked(it->qid);
        out.emplace_back(std::move(it->message), std::move(it->delivery));
        it = inflight->erase(it);
      } else {
        ++it;
      }
    }
  }
  if (auto* queue = queue_.ptr()) {
    for (auto it = queue->begin(); it != queue->end();) {
      if (!it->delivery.shared_group.empty() && it->delivery.qos > 0) {
        queued_bytes_ -= queued_size(*it->message);
        forget_locked(it->qid);
        out.emplace_back(std::move(it->message), std::move(it->delivery));
        it = queue->erase(it);
      } else {
        ++it;
      }
    }
  }
  return out;
}

void Session::set_expiry_interval(uint32_t seconds) {
  std::lock_guard lock(mu_);
  expiry_interval_ = seconds;
}
uint32_t Session::expiry_interval() const {
  std::lock_guard lock(mu_);
  return expiry_interval_;
}
int64_t Session::disconnected_at_ms() const {
  std::lock_guard lock(mu_);
  return disconnected_at_ms_;
}
size_t Session::inflight_count() const {
  std::lock_guard lock(mu_);
  return inflight_.size();
}
size_t Session::queued_count() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

}  // namespace imet::mqtt::broker
