// Broker implementation: session registry, routing, retained messages, wills, $SYS.
#include "mqtt/broker/broker.h"

#include <algorithm>
#include <cassert>
#include <future>
#include <thread>

#include "mqtt/topic/matching.h"
#include "mqtt/topic/validation.h"
#include "util/log.h"

namespace imet::mqtt::broker {

namespace {
constexpr uint32_t kNeverExpires = 0xFFFFFFFF;

struct Target {
  Session* session;
  const SubOptions* options;
};
}  // namespace

Broker::Broker(BrokerConfig config, const util::Clock& clock)
    : config_(std::move(config)), clock_(clock), started_ms_(clock.now_unix_ms()) {
  std::random_device rd;
  generations_.seed((uint64_t{rd()} << 32) ^ rd() ^ static_cast<uint64_t>(started_ms_));
}

Broker::~Broker() {
  stop();
  // A connection still attached here (shutdown() timed out, or none was called) holds its Session
  // and is held by it as its sink: a reference cycle that would keep both alive for good. Detach
  // them; each Connection then lives only as long as its pending I/O handlers (it no longer
  // touches the broker: the server is gone by now, see ConnectionEnv). Released outside mu_:
  // dropping the last reference runs ~Connection.
  std::vector<std::shared_ptr<PacketSink>> sinks;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, session] : sessions_) {
      if (auto sink = session->release_sink()) sinks.push_back(std::move(sink));
    }
  }
  sinks.clear();
}

void Broker::start(boost::asio::io_context& io) {
  timer_ = std::make_unique<boost::asio::steady_timer>(io);
  arm_timer(std::chrono::milliseconds(0));
}

void Broker::arm_timer(std::chrono::milliseconds after) {
  timer_->expires_after(after);
  timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    housekeeping();
    arm_timer(std::chrono::seconds(1));
  });
}

void Broker::stop() {
  if (timer_) {
    timer_->cancel();
  }
}

size_t Broker::online_count_locked() const {
  return sessions_.size() - offline_.size();
}

size_t Broker::shutdown(std::chrono::milliseconds timeout) {
  shutting_down_.store(true, std::memory_order_release);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t online = 0;
  for (int round = 0;; ++round) {
    std::vector<std::shared_ptr<Session>> attached;
    {
      std::lock_guard lock(mu_);
      online = online_count_locked();
      // Again every 0.5 s: a CONNECT whose check ran just before shutting_down_ was set may
      // attach after the first round.
      if (online > 0 && round % 50 == 0) {
        for (const auto& [id, session] : sessions_) {
          if (offline_.count(session.get()) == 0) attached.push_back(session);
        }
      }
    }
    if (online == 0 && closing_.load() == 0) break;
    if (std::chrono::steady_clock::now() >= deadline) break;
    for (const auto& session : attached)
      session->close_connection(ReasonCode::kServerShuttingDown);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (online > 0) {
    util::log::warn("mqtt shutdown: clients still connected at the deadline",
                    {{"clients", online}, {"timeout_ms", static_cast<int64_t>(timeout.count())}});
  }
  if (persist_ != nullptr) {
    auto synced = std::make_shared<std::promise<util::Status>>();
    auto result = synced->get_future();
    persist_->sync([synced](util::Status st) { synced->set_value(std::move(st)); });
    if (result.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      util::log::error("mqtt shutdown: the final sync did not finish in 30 s", {});
    } else if (util::Status st = result.get(); !st.ok()) {
      util::log::error("mqtt shutdown: the final sync failed", {{"error", st.message()}});
    }
  }
  return online;
}

bool Broker::current_locked(const Session& session) const {
  auto it = sessions_.find(session.client_id());
  return it != sessions_.end() && it->second.get() == &session;
}

uint64_t Broker::new_generation_locked() {
  uint64_t g = 0;
  while (g == 0)
    g = generations_();  // 0 is the generation of values stored before generations existed
  return g;
}

MessagePtr Broker::take_will_locked(const std::string& client_id, store::WriteBatch* batch) {
  auto it = wills_.find(client_id);
  if (it == wills_.end()) return nullptr;
  MessagePtr will = std::move(it->second.message);
  wills_.erase(it);
  if (persist_ != nullptr) {
    if (batch != nullptr) {
      Persistence::del_will(*batch, client_id);
    } else {
      store::WriteBatch b;
      Persistence::del_will(b, client_id);
      persist_->submit(std::move(b), {}, false, nullptr);
    }
  }
  return will;
}

bool Broker::admit(const std::string& ip) {
  std::lock_guard lock(conn_mu_);
  if (config_.max_connections != 0 && connections_ >= config_.max_connections) {
    bump(stats_.connections_refused);
    util::log::warn("mqtt connection refused: max_connections reached",
                    {{"ip", ip}, {"limit", config_.max_connections}});
    return false;
  }
  size_t& n = per_ip_[ip];
  if (config_.max_connections_per_ip != 0 && n >= config_.max_connections_per_ip) {
    bump(stats_.connections_refused);
    util::log::warn("mqtt connection refused: max_connections_per_ip reached",
                    {{"ip", ip}, {"limit", config_.max_connections_per_ip}});
    return false;
  }
  ++n;
  ++connections_;
  bump(stats_.connections_total);
  return true;
}

void Broker::release(const std::string& ip) {
  std::lock_guard lock(conn_mu_);
  auto it = per_ip_.find(ip);
  if (it == per_ip_.end()) return;
  if (--it->second == 0) per_ip_.erase(it);
  --connections_;
}

std::shared_ptr<PacketSink> Broker::attached_connection(const std::string& client_id) const {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(client_id);
  return it == sessions_.end() ? nullptr : it->second->sink();
}

Broker::Opened Broker::open_session(const std::string& client_id, bool clean_start,
                                    uint32_t expiry_interval, std::shared_ptr<PacketSink> sink,
                                    const LinkParams& link,
                                    const std::function<void(bool)>& on_opened,
                                    std::optional<std::string> username) {
  std::vector<std::pair<MessagePtr, Delivery>> unacked;
  Opened out;
  MessagePtr due_will;
  store::WriteBatch due_will_batch;
  {
    std::lock_guard lock(mu_);
    const int64_t now = clock_.now_unix_ms();
    // Reconnected before the will delay elapsed: no will (MQTT-3.1.3-9). A will whose delay (or
    // session) ended before this connection came is due, and goes out even if the 1-second
    // housekeeping has not run yet.
    if (auto w = wills_.find(client_id); w != wills_.end() && w->second.due_ms <= now) {
      due_will = take_will_locked(client_id, &due_will_batch);
    } else {
      (void)take_will_locked(client_id, nullptr);
    }
    auto it = sessions_.find(client_id);
    if (it != sessions_.end() && offline_.count(it->second.get()) > 0 &&
        it->second->expiry_interval() != kNeverExpires &&
        it->second->disconnected_at_ms() + int64_t{it->second->expiry_interval()} * 1000 <= now) {
      // Expired, not yet removed by housekeeping: it is not resumed.
      remove_session_locked(std::shared_ptr<Session>(it->second));
      it = sessions_.end();
    }
    if (it != sessions_.end()) {
      // Takeover: the previous connection goes away.
      std::shared_ptr<Session> old = it->second;
      // A session that ends with its connection (expiry 0, e.g. 3.1.1 clean session) is not
      // resumed by the next connection (MQTT-3.1.2-6).
      if (clean_start || old->expiry_interval() == 0) {
        old->kick(ReasonCode::kSessionTakenOver);
        unacked = old->take_shared_unacked();
        remove_session_locked(old);
      } else {
        // Kicked here, under mu_, not at the attach below: from now on the old connection's end
        // (close_session) finds it detached and cannot take the session offline while this
        // connection is attaching to it.
        old->kick(ReasonCode::kSessionTakenOver);
        out.session = old;
        out.session_present = true;
      }
    }
    if (!out.session) {
      out.session = std::make_shared<Session>(client_id, config_, stats_, clock_, persist_,
                                              new_generation_locked());
      sessions_.emplace(out.session->client_id(), out.session);
    }
    offline_.erase(out.session.get());
    out.session->username() = std::move(username);
    out.session->set_expiry_interval(expiry_interval);
    if (persist_ && expiry_interval > 0) {
      persist_session_locked(*out.session, 0);
    } else if (persist_ && out.session->stored()) {
      forget_session_locked(*out.session);
    }
  }
  if (due_will) publish(due_will, std::move(due_will_batch));
  on_opened(out.session_present);
  const PacketSink* const attaching = sink.get();
  out.session->attach(std::move(sink), link);
  bool replaced;
  {
    // Between the decision above and the attach, another connection of this client id may have
    // run its CONNECT on another I/O thread:
    // - it replaced the session, and its kick found no connection to kick: kick this one now, as
    //   any takeover does;
    // - or it continued the session and ended again, taking the session offline (perhaps with a
    //   delayed will): it is online with this connection, and that will is cancelled.
    std::lock_guard lock(mu_);
    replaced = !current_locked(*out.session);
    if (!replaced && out.session->attached_to(attaching) && offline_.erase(out.session.get()) > 0) {
      (void)take_will_locked(client_id, nullptr);
      if (persist_ && out.session->expiry_interval() > 0) persist_session_locked(*out.session, 0);
    }
  }
  if (replaced) out.session->kick(ReasonCode::kSessionTakenOver);
  redistribute(std::move(unacked), nullptr);
  return out;
}

void Broker::persist_session_locked(Session& s, int64_t disconnected_at_ms) {
  store::WriteBatch b;
  Persistence::put_session(b, s.client_id(), s.generation(), s.expiry_interval(),
                           disconnected_at_ms);
  persist_->submit(std::move(b), {}, false, nullptr);
  s.set_stored(true);
}

void Broker::forget_session_locked(Session& s) {
  store::WriteBatch b;
  persist_->del_session(b, s.client_id());
  persist_->submit(std::move(b), {}, false, nullptr);
  s.set_stored(false);
}

util::Status Broker::restore() {
  if (persist_ == nullptr) return {};
  IMET_ASSIGN_OR_RETURN(LoadedState loaded, persist_->load());
  std::lock_guard lock(mu_);
  next_qid_ = loaded.max_qid + 1;
  for (const MessagePtr& m : loaded.retained)
    retained_.set(m->topic, m);
  for (const StoredSession& st : loaded.sessions) {
    auto s =
        std::make_shared<Session>(st.client_id, config_, stats_, clock_, persist_, st.generation);
    s->restore(st);
    for (const auto& [filter, opts] : st.subscriptions) {
      subs_.insert(filter, s.get(), opts);
      s->subscriptions().mut()[filter] = opts;
    }
    offline_.insert(s.get());
    std::string_view key = s->client_id();
    sessions_.emplace(key, std::move(s));
  }
  for (StoredWill& w : loaded.wills)
    wills_[w.client_id] = PendingWill{std::move(w.message), w.due_ms};
  if (!loaded.stale_keys.empty()) {
    // Writes of an earlier session of the same client id that landed after its deletion.
    store::WriteBatch b;
    for (const util::Bytes& k : loaded.stale_keys)
      b.del(k);
    persist_->submit(std::move(b), {}, false, nullptr);
  }
  util::log::info("mqtt state restored", {{"sessions", loaded.sessions.size()},
                                          {"retained", loaded.retained.size()},
                                          {"delayed_wills", loaded.wills.size()},
                                          {"stale_keys", loaded.stale_keys.size()}});
  return {};
}

void Broker::remove_session_locked(const std::shared_ptr<Session>& session) {
  if (persist_ && session->stored()) forget_session_locked(*session);
  if (const auto* subs = session->subscriptions().get()) {
    for (const auto& [filter, opts] : *subs)
      subs_.erase(filter, session.get());
  }
  session->subscriptions().clear();
  offline_.erase(session.get());
  auto it = sessions_.find(session->client_id());
  if (it != sessions_.end() && it->second == session) sessions_.erase(it);
}

void Broker::close_session(const std::shared_ptr<Session>& session, const PacketSink* sink,
                           MessagePtr will, uint32_t will_delay,
                           std::optional<uint32_t> new_expiry) {
  closing_.fetch_add(1);
  std::vector<std::pair<MessagePtr, Delivery>> unacked;
  bool publish_will_now = false;
  {
    std::lock_guard lock(mu_);
    // `current`: the connection of `sink` is the session's, and the session is still the client
    // id's (not replaced). Only such a session goes offline: offline_ holds registered sessions.
    const bool attached = session->attached_to(sink);
    const bool current = attached && current_locked(*session);
    if (attached) {
      session->detach(sink);
      unacked = session->take_shared_unacked();
    }
    if (current) {
      if (new_expiry) session->set_expiry_interval(*new_expiry);
      if (session->expiry_interval() == 0) {
        remove_session_locked(session);
      } else {
        offline_.insert(session.get());
        if (persist_) persist_session_locked(*session, clock_.now_unix_ms());
      }
    }
    if (will) {
      const uint32_t expiry = session->expiry_interval();
      const uint32_t delay = std::min(will_delay, expiry);
      if (!current) {
        // Taken over. If the new connection continues the session, it was opened before the will
        // delay (even a zero one, which starts when this connection closes) had elapsed: no will
        // (MQTT-3.1.2-8, MQTT-3.1.3-9; mosquitto does the same for 3.1.1). If the session ended
        // (Clean Start on the new connection, or expiry 0), the will goes now (MQTT-3.1.2-8:
        // "or the Session ends").
        publish_will_now = !current_locked(*session);
      } else if (delay == 0) {
        publish_will_now = true;
      } else {
        const int64_t due = clock_.now_unix_ms() + int64_t{delay} * 1000;
        if (persist_) {
          // Durable: the will must outlive a crash during its delay.
          store::WriteBatch b;
          Persistence::put_will(b, session->client_id(), due, *will);
          persist_->submit(std::move(b), {}, true, nullptr);
        }
        wills_[session->client_id()] = PendingWill{std::move(will), due};
      }
    }
  }
  if (publish_will_now) publish(will);
  redistribute(std::move(unacked), session);
  closing_.fetch_sub(1);
}

void Broker::redistribute(std::vector<std::pair<MessagePtr, Delivery>> unacked,
                          const std::shared_ptr<Session>& owner) {
  for (auto& [message, delivery] : unacked) {
    // Deliver to another online member of the same shared group that may read the topic.
    std::shared_ptr<Session> target;
    uint64_t qid = 0;
    const std::string& group_filter = delivery.shared_group;  // "$share/<group>/<filter>"
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, s] : sessions_) {
        if (s != owner && offline_.count(s.get()) == 0 &&
            s->subscriptions().count(group_filter) > 0 &&
            may_receive_locked(s.get(), message->topic)) {
          target = s;
          break;
        }
      }
      if (!target && owner) {
        auto it = sessions_.find(owner->client_id());
        if (it != sessions_.end() && it->second == owner) target = owner;  // keep it for its client
      }
      if (target && persist_ && delivery.qos > 0 && target->persistent()) {
        qid = next_qid_++;
        store::WriteBatch b;
        StoredDelivery sd;
        sd.qid = qid;
        sd.message = message;
        sd.delivery = delivery;
        Persistence::put_delivery(b, target->client_id(), target->generation(), sd);
        persist_->submit(std::move(b), {}, false, nullptr);
      }
    }
    if (target) {
      target->deliver(message, std::move(delivery), qid);
    } else {
      bump(stats_.publish_dropped);
    }
  }
}

bool Broker::may_receive_locked(Session* s, const std::string& topic) const {
  if (access_ == nullptr || !access_->checks_receive()) return true;
  ClientInfo who;
  who.client_id = s->client_id();
  who.username = s->username();
  return access_->can_receive(who, topic);
}

std::optional<uint8_t> Broker::tier_for(std::string_view topic, const Properties& props) const {
  for (const auto& [key, value] : props.user_properties) {
    if (key == "imet-tier") {
      if (value == "1") return 1;
      if (value == "2") return 2;
      if (value == "3") return 3;
      return std::nullopt;
    }
  }
  for (const TierRule& rule : config_.tier_rules) {
    if (topic_matches(rule.filter, topic)) return rule.tier;
  }
  return config_.default_tier;
}

void Broker::publish(const MessagePtr& message, store::WriteBatch extra,
                     std::function<void(util::Status)> done, const Session* writer) {
  thread_local std::vector<Out> outs;
  outs.clear();
  MessagePtr logged;  // appended to the message log by reference, not copied
  if (persist_ != nullptr && persist_->logging() && !message->topic.starts_with("$SYS/"))
    logged = message;
  const bool qos0 = message->qos == 0;  // `done` runs after the deliveries
  bool queued = false;  // the commit is queued already (a retained change, under mu_)
  bool wake = false;    // ... and the committer must be woken
  {
    std::lock_guard lock(mu_);
    if (writer != nullptr && !current_locked(*writer)) {
      // Its connection was taken over and still processes input: nothing of it is written.
      if (done) done(util::failed_precondition("the session was replaced"));
      return;
    }
    const bool retained_change = retain_locked(message, extra);
    collect_locked(message, outs, persist_ ? &extra : nullptr);
    if ((retained_change || writer != nullptr) && persist_ != nullptr) {
      // Queued before mu_ is released: retained changes (and a session's keys) reach the store
      // in the order they were made in memory, whichever thread gets to the committer first.
      wake = queue_commit(message, std::move(extra), std::move(logged),
                          qos0 ? nullptr : std::move(done), outs);
      queued = true;
    }
  }
  if (persist_ == nullptr) {
    for (Out& o : outs)
      o.session->deliver(message, std::move(o.delivery), o.qid);
    outs.clear();
    if (done) done({});
    return;
  }
  if (!queued)
    wake = queue_commit(message, std::move(extra), std::move(logged),
                        qos0 ? nullptr : std::move(done), outs);
  // QoS 0 and 1 are delivered now (QoS 2 once durable, by the commit's callback). The committer is
  // woken only after the deliveries: its wake-up (a futex call, and the committer thread it may
  // schedule on this CPU) does not delay them, and the commit's place in the order was fixed when
  // it was queued.
  for (Out& o : outs)
    o.session->deliver(message, std::move(o.delivery), o.qid);
  outs.clear();
  if (wake) persist_->wake();
  if (qos0 && done) done({});
}

void Broker::submit_for_session(const Session& session, store::WriteBatch batch) {
  std::lock_guard lock(mu_);
  if (persist_ != nullptr && current_locked(session))
    persist_->submit(std::move(batch), {}, false, nullptr);
}

bool Broker::queue_commit(const MessagePtr& message, store::WriteBatch extra, MessagePtr logged,
                          std::function<void(util::Status)> done, std::vector<Out>& outs) {
  if (message->qos == 0) {
    // QoS 0: delivered now; logged (and any retained change written) without waiting for a sync.
    if (logged == nullptr && extra.size() == 0) return false;
    return persist_->enqueue(std::move(extra), std::move(logged), false, std::move(done));
  }
  if (message->qos == 1) {
    // QoS 1 (at least once): delivered now, acknowledged to the publisher once durable. Queued
    // before delivering, so a subscriber's acknowledgement (which deletes its persisted copy
    // through the same committer) is always ordered after the copy's write. If the commit fails
    // or the node dies first, the publisher has no PUBACK and sends again: a duplicate, which
    // QoS 1 allows, never a loss.
    return persist_->enqueue(std::move(extra), std::move(logged), true,
                             [message, done = std::move(done)](util::Status status) {
                               if (!status.ok()) {
                                 util::log::error(
                                     "mqtt message not stored; not acknowledged",
                                     {{"topic", message->topic}, {"error", status.message()}});
                               }
                               if (done) done(status);
                             });
  }
  // QoS 2 (exactly once): delivered only once durable, so a publisher's resend after a crash can
  // never reach a subscriber twice. The deliveries go with the callback.
  return persist_->enqueue(std::move(extra), std::move(logged), true,
                           [message, targets = std::exchange(outs, {}),
                            done = std::move(done)](util::Status status) mutable {
                             if (status.ok()) {
                               for (Out& o : targets)
                                 o.session->deliver(message, std::move(o.delivery), o.qid);
                             } else {
                               util::log::error(
                                   "mqtt message not stored; not acknowledged",
                                   {{"topic", message->topic}, {"error", status.message()}});
                             }
                             if (done) done(status);
                           });
}

void Broker::publish_qos0(std::span<const MessagePtr> messages) {
  if (messages.size() == 1) {
    publish(messages[0]);
    return;
  }
  thread_local std::vector<Out> outs;
  thread_local std::vector<size_t> ends;  // the Outs of messages[i] end at outs[ends[i]]
  outs.clear();
  ends.clear();
  store::WriteBatch extra;
  thread_local std::vector<store::msglog::RecordView> logged;
  logged.clear();
  bool queued = false;
  {
    std::lock_guard lock(mu_);
    bool retained_change = false;
    for (const MessagePtr& message : messages) {
      assert(message->qos == 0);
      retained_change = retain_locked(message, extra) || retained_change;
      collect_locked(message, outs, persist_ ? &extra : nullptr);
      ends.push_back(outs.size());
    }
    if (retained_change && persist_ != nullptr) {
      // As in publish(): retained changes reach the store in the order they were made in memory.
      log_records(messages, logged);
      persist_->submit_logged(std::move(extra), logged);
      queued = true;
    }
  }
  // As publish() does for QoS 0: delivered now, then logged without waiting for a sync.
  size_t o = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    for (; o < ends[i]; ++o)
      outs[o].session->deliver(messages[i], std::move(outs[o].delivery), outs[o].qid);
  }
  outs.clear();
  if (persist_ == nullptr || queued) {
    logged.clear();
    return;
  }
  log_records(messages, logged);
  if (!logged.empty() || extra.size() > 0) persist_->submit_logged(std::move(extra), logged);
  logged.clear();
}

void Broker::log_records(std::span<const MessagePtr> messages,
                         std::vector<store::msglog::RecordView>& out) const {
  if (!persist_->logging()) return;
  for (const MessagePtr& message : messages) {
    if (!message->topic.starts_with("$SYS/")) out.push_back(Persistence::log_record(*message));
  }
}

bool Broker::retain_locked(const MessagePtr& message, store::WriteBatch& extra) {
  if (!message->retain || !config_.retain_available) return false;
  if (message->payload.size() == 0) {
    retained_.erase(message->topic);
    if (persist_) Persistence::del_retained(extra, message->topic);
  } else {
    retained_.set(message->topic, message);
    if (persist_) Persistence::put_retained(extra, *message);
  }
  return true;
}

void Broker::collect_locked(const MessagePtr& message, std::vector<Out>& outs,
                            store::WriteBatch* batch) {
  thread_local std::vector<Target> targets;
  targets.clear();
  subs_.match(
      message->topic,
      [&](Session* const& s, const SubOptions& o, const auto&) {
        if (o.no_local && s->client_id() == message->origin_client) return;
        targets.push_back(Target{s, &o});
      },
      [&](auto& group) {
        const auto* m = group.next_member([&](const auto& member) {
          return offline_.count(member.key) == 0 && may_receive_locked(member.key, message->topic);
        });
        if (m == nullptr) {
          m = group.next_member(
              [&](const auto& member) { return may_receive_locked(member.key, message->topic); });
        }
        if (m == nullptr) return;
        Delivery d;
        d.qos = std::min(message->qos, m->value.qos);
        d.retain = m->value.retain_as_published && message->retain;
        if (m->value.subscription_id != 0) d.sub_ids.push_back(m->value.subscription_id);
        d.shared_group.reserve(group.name().size() + 16);
        d.shared_group.append("$share/").append(group.name()).append("/");
        d.shared_group.append(group.filter().str());
        outs.push_back(Out{m->key->shared_from_this(), std::move(d)});
      });
  if (access_ != nullptr && access_->checks_receive()) {
    // The ACL's read rules apply to each message, not only to the subscription filter.
    std::erase_if(targets,
                  [&](const Target& t) { return !may_receive_locked(t.session, message->topic); });
  }
  if (targets.size() > 1) {
    std::sort(targets.begin(), targets.end(),
              [](const Target& a, const Target& b) { return a.session < b.session; });
  }
  for (size_t i = 0; i < targets.size();) {
    Session* s = targets[i].session;
    Delivery d;
    for (; i < targets.size() && targets[i].session == s; ++i) {
      const SubOptions& o = *targets[i].options;
      d.qos = std::max(d.qos, std::min(message->qos, o.qos));
      d.retain = d.retain || (o.retain_as_published && message->retain);
      if (o.subscription_id != 0) d.sub_ids.push_back(o.subscription_id);
    }
    outs.push_back(Out{s->shared_from_this(), std::move(d)});
  }
  if (batch == nullptr) return;
  for (Out& o : outs) {
    if (o.delivery.qos == 0 || !o.session->persistent()) continue;
    o.qid = next_qid_++;
    StoredDelivery sd;
    sd.qid = o.qid;
    sd.message = message;
    sd.delivery = o.delivery;
    Persistence::put_delivery(*batch, o.session->client_id(), o.session->generation(), sd);
  }
}

std::vector<ReasonCode> Broker::subscribe(Session& session, const std::vector<Subscription>& subs,
                                          uint32_t subscription_id, Version version,
                                          std::vector<Retained>& retained_out) {
  std::vector<ReasonCode> codes;
  codes.reserve(subs.size());
  const TopicLimits limits{config_.max_topic_length, config_.max_topic_levels};
  std::lock_guard lock(mu_);
  if (!current_locked(session)) {
    // The session was replaced (clean start, takeover) while this connection still ran: nothing
    // may be added to it (its subscriptions would outlive it in subs_ and in the store).
    codes.assign(subs.size(), ReasonCode::kUnspecifiedError);
    return codes;
  }
  for (const Subscription& sub : subs) {
    const ParsedSubscription parsed = parse_subscription_filter(sub.topic_filter, limits);
    if (!parsed.check.ok()) {
      codes.push_back(static_cast<ReasonCode>(reason_code_for_filter(parsed.check.error)));
      continue;
    }
    if (parsed.shared && sub.options.no_local) {  // MQTT-3.8.3-4
      codes.push_back(ReasonCode::kProtocolError);
      continue;
    }
    SubOptions o;
    o.qos = sub.options.qos;
    o.no_local = version == Version::kV5 && sub.options.no_local;
    o.retain_as_published = version == Version::kV5 && sub.options.retain_as_published;
    o.retain_handling = static_cast<uint8_t>(sub.options.retain_handling);
    o.subscription_id = subscription_id;
    const auto change = subs_.insert(sub.topic_filter, &session, o);
    session.subscriptions().mut()[sub.topic_filter] = o;
    if (persist_ && session.persistent()) {
      store::WriteBatch b;
      Persistence::put_subscription(b, session.client_id(), session.generation(), sub.topic_filter,
                                    o);
      persist_->submit(std::move(b), {}, false, nullptr);
    }
    codes.push_back(static_cast<ReasonCode>(o.qos));
    const bool is_new = change == decltype(subs_)::Change::kAdded;
    const bool send_retained =
        !parsed.shared && (o.retain_handling == 0 || (o.retain_handling == 1 && is_new));
    if (send_retained) {
      retained_.find(parsed.filter, [&](std::string_view, const MessagePtr& m) {
        Delivery d;
        d.qos = std::min(m->qos, o.qos);
        d.retain = true;
        if (subscription_id != 0) d.sub_ids.push_back(subscription_id);
        retained_out.push_back(Retained{m, std::move(d)});
      });
    }
  }
  return codes;
}

std::vector<ReasonCode> Broker::unsubscribe(Session& session,
                                            const std::vector<std::string>& filters) {
  std::vector<ReasonCode> codes;
  std::lock_guard lock(mu_);
  for (const std::string& f : filters) {
    const bool had = session.subscriptions().erase(f) > 0;
    if (had) subs_.erase(f, &session);
    if (had && persist_ && session.persistent()) {
      store::WriteBatch b;
      Persistence::del_subscription(b, session.client_id(), f);
      persist_->submit(std::move(b), {}, false, nullptr);
    }
    codes.push_back(had ? ReasonCode::kSuccess : ReasonCode::kNoSubscriptionExisted);
  }
  return codes;
}

void Broker::housekeeping() {
  const int64_t now = clock_.now_unix_ms();
  // Each will goes out with the deletion of its stored copy in the same commit.
  std::vector<std::pair<MessagePtr, store::WriteBatch>> due_wills;
  {
    std::lock_guard lock(mu_);
    std::vector<std::shared_ptr<Session>> expired;
    for (Session* s : offline_) {
      const uint32_t expiry = s->expiry_interval();
      if (expiry == kNeverExpires) continue;
      if (s->disconnected_at_ms() + int64_t{expiry} * 1000 <= now)
        expired.push_back(s->shared_from_this());
    }
    for (const auto& s : expired) {
      // The session ends: a will still waiting for its delay goes now (MQTT-3.1.3-9).
      store::WriteBatch b;
      if (MessagePtr w = take_will_locked(s->client_id(), &b)) {
        due_wills.emplace_back(std::move(w), std::move(b));
      }
      remove_session_locked(s);
    }
    std::vector<std::string> due;
    for (const auto& [client_id, w] : wills_) {
      if (w.due_ms <= now) due.push_back(client_id);
    }
    for (const std::string& client_id : due) {
      store::WriteBatch b;
      MessagePtr w = take_will_locked(client_id, &b);
      due_wills.emplace_back(std::move(w), std::move(b));
    }
  }
  for (auto& [will, batch] : due_wills)
    publish(will, std::move(batch));
  if (config_.sys_interval.count() > 0 && now >= next_sys_ms_) {
    next_sys_ms_ = now + config_.sys_interval.count() * 1000;
    publish_sys();
  }
}

void Broker::publish_sys() {
  const int64_t now = clock_.now_unix_ms();
  const auto u = [](const std::atomic<uint64_t>& c) {
    return std::to_string(c.load(std::memory_order_relaxed));
  };
  const std::vector<std::pair<std::string, std::string>> values = {
      {"version", config_.version},
      {"uptime", std::to_string((now - started_ms_) / 1000) + " seconds"},
      {"clients/connected", std::to_string(stats_.clients_connected.load())},
      {"clients/total", std::to_string(session_count())},
      {"messages/received", u(stats_.messages_received)},
      {"messages/sent", u(stats_.messages_sent)},
      {"publish/messages/dropped", u(stats_.publish_dropped)},
      {"publish/messages/qos0_dropped", u(stats_.qos0_dropped)},
      {"messages/expired", u(stats_.expired)},
      {"bytes/received", u(stats_.bytes_received)},
      {"bytes/sent", u(stats_.bytes_sent)},
      {"connections/total", u(stats_.connections_total)},
      {"connections/refused", u(stats_.connections_refused)},
      {"auth/failures", u(stats_.auth_failures)},
      {"subscriptions/count", std::to_string(subscription_count())},
      {"retained messages/count", std::to_string(retained_count())},
  };
  for (const auto& [key, value] : values) {
    auto m = std::make_shared<Message>();
    m->topic = "$SYS/broker/" + key;
    m->payload = SharedBytes::copy_of(std::string_view(value));
    m->retain = true;
    m->created_ms = now;
    m->tier = 1;
    publish(m);
  }
}

size_t Broker::session_count() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}
size_t Broker::subscription_count() const {
  std::lock_guard lock(mu_);
  return subs_.size();
}
size_t Broker::retained_count() const {
  std::lock_guard lock(mu_);
  return retained_.size();
}

}  // namespace imet::mqtt::broker
