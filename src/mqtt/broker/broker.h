// Broker: the shared state of the MQTT broker and the routing of messages between sessions. Holds
// the session registry (client id -> Session), the subscription tree, the retained messages,
// pending wills (v5 will delay; stored with persistence, so they survive a restart), connection
// admission limits and the $SYS statistics. Connections (connection.h) call it from their
// strands; a 1-second housekeeping timer expires sessions, fires delayed wills and publishes $SYS.
// shutdown() ends every connection with DISCONNECT 0x8B (Server shutting down) and syncs.
//
// Thread-safety: all public methods are thread-safe. mu_ guards sessions_, subs_, retained_,
// wills_ and every Session::subscriptions(); it is held only for bookkeeping and matching, never
// while writing to a socket (deliveries happen after it is released). publish_qos0 takes it once
// for a batch of messages: the batch is matched as if its messages had arrived back to back with
// no other broker call in between. Lock order: mu_ ->
// Session::mu_ -> sink lock. conn_mu_ (admission) is independent.
// Invariants: subs_ holds exactly the union of the sessions' subscriptions() (keyed by Session*,
// every key a live session in sessions_); a session is in offline_ iff it is in sessions_ and not
// attached; retained_ holds no message with an empty payload; with persistence, wills_ equals the
// mq/w/ keys submitted to the committer (a put when a will is added, a delete when it leaves).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "mqtt/broker/access.h"
#include "mqtt/broker/config.h"
#include "mqtt/broker/message.h"
#include "mqtt/broker/persistence.h"
#include "mqtt/broker/session.h"
#include "mqtt/broker/stats.h"
#include "mqtt/codec/packet.h"
#include "mqtt/topic/retained_index.h"
#include "mqtt/topic/subscription_tree.h"
#include "util/clock.h"

namespace imet::mqtt::broker {

class Broker {
 public:
  Broker(BrokerConfig config, const util::Clock& clock);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  const BrokerConfig& config() const { return config_; }
  BrokerStats& stats() { return stats_; }
  const util::Clock& clock() const { return clock_; }

  // Durability (optional; set before start()). restore() loads the sessions, subscriptions,
  // queued messages and retained messages stored by a previous run.
  void set_persistence(Persistence* persist) { persist_ = persist; }
  // Read ACL applied to every delivery when it restricts reads (AccessControl::checks_receive).
  void set_access(AccessControl* access) { access_ = access; }
  util::Status restore();

  // Starts the housekeeping timer on `io` (the first pass runs at once: delayed wills that fell
  // due while the node was down go out now); stop() cancels it.
  void start(boost::asio::io_context& io);
  void stop();

  // Server shutdown (SIGTERM/SIGINT), called while the connections' io_context still runs: from
  // now on no CONNECT is accepted (CONNACK 0x88 / 3), every connected client is told to go
  // (5.0: DISCONNECT 0x8B Server shutting down; 3.1.1: the connection is closed), and the call
  // waits up to `timeout` for those connections to end. Each ends as any server-side close does:
  // its will without a delay is published, a delayed will is stored, its persistent session goes
  // offline with its disconnect time. Then everything submitted so far is synced to disk
  // (Persistence::sync). Returns the number of clients still connected at the deadline; their
  // connections are released from their sessions when the Broker is destroyed (no cycle leaks).
  size_t shutdown(std::chrono::milliseconds timeout);
  bool shutting_down() const { return shutting_down_.load(std::memory_order_acquire); }

  // Admission of a new socket from `ip`: false when a connection limit is reached.
  bool admit(const std::string& ip);
  void release(const std::string& ip);

  // The connection attached to the session of `client_id`, or null (no session, or offline).
  // Before opening a session, a new connection of that client id lets it drain the input it has
  // already received (PacketSink::drain_input): a DISCONNECT the client sent on its old
  // connection before connecting again then counts, whichever I/O thread gets to it first.
  std::shared_ptr<PacketSink> attached_connection(const std::string& client_id) const;

  // CONNECT accepted: finds or creates the session of `client_id` (clean_start discards an
  // existing one), takes it over from a previous connection (which is kicked with 0x8E), cancels
  // a pending delayed will of that client, and attaches `sink`.
  struct Opened {
    std::shared_ptr<Session> session;
    bool session_present = false;
  };
  // `on_opened(session_present)` runs before the sink is attached (the CONNACK must precede any
  // resent or queued PUBLISH).
  Opened open_session(const std::string& client_id, bool clean_start, uint32_t expiry_interval,
                      std::shared_ptr<PacketSink> sink, const LinkParams& link,
                      const std::function<void(bool)>& on_opened,
                      std::optional<std::string> username = std::nullopt);

  // The connection of `sink` ended. `will` (null if none or the client disconnected normally) is
  // published after `will_delay` seconds (capped by the session expiry) unless the client
  // reconnects first. A session with expiry 0 ends now. A connection that was taken over has no
  // will when the new connection continues its session; when the session ended (clean start or
  // expiry 0) its will is published at once. Unacknowledged messages received through shared
  // subscriptions go to another member of their group. `new_expiry`: the Session Expiry Interval
  // of the client's DISCONNECT, applied only if the connection still has the session (a
  // connection taken over cannot change the session its successor continues).
  void close_session(const std::shared_ptr<Session>& session, const PacketSink* sink,
                     MessagePtr will, uint32_t will_delay,
                     std::optional<uint32_t> new_expiry = std::nullopt);

  // Routes an accepted message to every matching subscription and updates the retained store.
  // With persistence, the message goes to the message log, and for QoS 1/2 the retained update,
  // the copies for persistent sessions and `extra` are made durable (group commit) before `done`
  // runs (on the committer thread); a QoS 1 message is delivered at once (a failed commit can only
  // cause a duplicate), a QoS 2 message only once durable. Without, `done` runs at once.
  // `writer`: the session `extra` writes keys of (a QoS 2 PUBLISH records its packet id); the
  // message is then refused (`done` with an error, nothing routed) unless that session is still
  // its client id's, and its commit is queued under mu_, so it precedes every write of a session
  // that replaces it.
  void publish(const MessagePtr& message, store::WriteBatch extra = {},
               std::function<void(util::Status)> done = nullptr, const Session* writer = nullptr);
  // Submits `batch`, writes of keys of `session`, unless the session was replaced (under mu_, as
  // publish() does with `writer`).
  void submit_for_session(const Session& session, store::WriteBatch batch);
  // QoS 0 messages accepted together (the PUBLISH packets of one read of one connection), each
  // routed exactly as publish(message) would, in order, but with one acquisition of mu_ for all
  // (retained updates and matching), deliveries after it in message order, and one commit for
  // their log records and retained changes. Every message must have qos 0.
  void publish_qos0(std::span<const MessagePtr> messages);
  Persistence* persistence() const { return persist_; }

  // SUBSCRIBE: for each subscription a reason code (granted QoS or failure). Retained messages to
  // send after the SUBACK are appended to `retained_out`.
  struct Retained {
    MessagePtr message;
    Delivery delivery;
  };
  std::vector<ReasonCode> subscribe(Session& session, const std::vector<Subscription>& subs,
                                    uint32_t subscription_id, Version version,
                                    std::vector<Retained>& retained_out);
  // UNSUBSCRIBE: kSuccess or kNoSubscriptionExisted per filter.
  std::vector<ReasonCode> unsubscribe(Session& session, const std::vector<std::string>& filters);

  // Tier of a message (SPEC section 4): the imet-tier user property, else the first matching
  // topic rule, else the configured default. nullopt: the imet-tier property is not 1, 2 or 3.
  std::optional<uint8_t> tier_for(std::string_view topic, const Properties& props) const;

  // Runs one housekeeping pass (expired sessions, due wills, $SYS when due). Called by the timer;
  // public for tests.
  void housekeeping();

  size_t session_count() const;
  size_t subscription_count() const;
  size_t retained_count() const;

 private:
  struct PendingWill {
    MessagePtr message;
    int64_t due_ms = 0;
  };

  void remove_session_locked(const std::shared_ptr<Session>& session);
  // Whether `session` is the registered session of its client id (not replaced or removed).
  bool current_locked(const Session& session) const;
  uint64_t new_generation_locked();
  // Removes the delayed will of `client_id` (if any) and, with persistence, its stored copy
  // (into `batch` when given, else as a commit of its own). Returns the will.
  MessagePtr take_will_locked(const std::string& client_id, store::WriteBatch* batch);
  size_t online_count_locked() const;
  struct Out {
    std::shared_ptr<Session> session;
    Delivery delivery;
    uint64_t qid = 0;
  };
  // Matches subscriptions (mu_ held); adds the stored copies for persistent sessions to `batch`.
  // A retained message (retain flag, retain available) replaces or, with an empty payload,
  // clears the topic's retained message, also in `extra` with persistence; returns whether it
  // did. Requires mu_. The commit with `extra` must then be queued before mu_ is released.
  bool retain_locked(const MessagePtr& message, store::WriteBatch& extra);
  void collect_locked(const MessagePtr& message, std::vector<Out>& outs, store::WriteBatch* batch);
  // Queues the commit of a published message (requires persistence): its log record, `extra`,
  // and by QoS the callback (QoS 1: `done` once durable; QoS 2: the deliveries of `outs`, which
  // it takes, then `done`; QoS 0: `done` once applied, null from publish()). Returns whether the
  // committer must be woken.
  bool queue_commit(const MessagePtr& message, store::WriteBatch extra, MessagePtr logged,
                    std::function<void(util::Status)> done, std::vector<Out>& outs);
  // The message log records of `messages` ($SYS topics are not logged), appended to `out`.
  void log_records(std::span<const MessagePtr> messages,
                   std::vector<store::msglog::RecordView>& out) const;
  // Write / delete the session's stored record (and mark it stored or not). Require mu_.
  void persist_session_locked(Session& s, int64_t disconnected_at_ms);
  void forget_session_locked(Session& s);
  // Hands unacknowledged shared-subscription messages to another online member of their group;
  // with none online they go back to `owner` (if it lives on) to wait for its client.
  void redistribute(std::vector<std::pair<MessagePtr, Delivery>> unacked,
                    const std::shared_ptr<Session>& owner);
  bool may_receive_locked(Session* s, const std::string& topic) const;
  void publish_sys();
  void arm_timer(std::chrono::milliseconds after);

  const BrokerConfig config_;
  const util::Clock& clock_;
  BrokerStats stats_;
  const int64_t started_ms_;

  mutable std::mutex mu_;
  // Keyed by a view of the session's own client_id() (immutable, alive while the entry holds the
  // session): the id is stored once, not twice.
  std::unordered_map<std::string_view, std::shared_ptr<Session>> sessions_;
  std::unordered_set<Session*> offline_;
  SubscriptionTree<Session*, SubOptions> subs_;
  RetainedIndex<MessagePtr> retained_;
  std::unordered_map<std::string, PendingWill> wills_;  // client id -> delayed will
  int64_t next_sys_ms_ = 0;
  Persistence* persist_ = nullptr;
  AccessControl* access_ = nullptr;
  uint64_t next_qid_ = 1;        // mu_
  std::mt19937_64 generations_;  // mu_: session generations (Persistence)
  std::atomic<bool> shutting_down_{false};
  std::atomic<size_t> closing_{0};  // close_session calls in progress

  std::mutex conn_mu_;
  size_t connections_ = 0;
  std::unordered_map<std::string, size_t> per_ip_;

  std::unique_ptr<boost::asio::steady_timer> timer_;
};

}  // namespace imet::mqtt::broker
