// Session: the MQTT session state of one client id, which outlives its network connection when
// the session is persistent (clean_start = 0 with an expiry interval): outgoing QoS 1/2 messages in
// flight and their packet identifiers, the queue of messages waiting for an inflight slot or for
// the client to come back, incoming QoS 2 packet identifiers awaiting PUBREL (exactly-once), and
// the outgoing topic aliases of the current connection. The connection it is attached to is a
// PacketSink; the session encodes each outgoing PUBLISH itself (packet id, QoS, aliases, per-hop
// properties) and hands the bytes to the sink.
//
// Thread-safety: every public method locks the session's mutex, so deliveries from any I/O thread
// may race with acks from the owning connection. Lock order: Broker::mu_ -> Session::mu_ ->
// the sink's internal lock; a session never calls back into the broker. subscriptions() is the
// exception: it is owned by the broker and only touched under Broker::mu_.
// Invariants: inflight_ is in packet-id allocation order, each id at most once, size <=
// max(send quota, entries resent at re-attach); an id is never reused while in flight (allocation
// refuses the oldest in-flight id); queued_bytes_ is the payload+topic size of queue_;
// queue_.size() <= max_queued_messages; a QoS 0 message is never in inflight_.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/container/devector.hpp>

#include "mqtt/broker/config.h"
#include "mqtt/broker/lazy.h"
#include "mqtt/broker/message.h"
#include "mqtt/broker/persistence.h"
#include "mqtt/broker/stats.h"
#include "mqtt/codec/reason_code.h"
#include "mqtt/codec/types.h"
#include "util/bytes.h"
#include "util/clock.h"

namespace imet::mqtt::broker {

// Where a session writes packets: the client's connection. Thread-safe.
class PacketSink {
 public:
  virtual ~PacketSink() = default;
  // Bytes queued on the connection but not yet written to the socket.
  virtual size_t pending_bytes() const = 0;
  // Queues one packet given as two parts (header, payload) for writing.
  virtual void send(util::ByteSpan head, util::ByteSpan tail) = 0;
  // The server ends the connection (5.0: DISCONNECT with `reason` first), e.g. session takeover.
  virtual void kick(ReasonCode reason) = 0;
  // Before a new connection of the same client id takes this session over: processes the input
  // the connection has received but not yet read (complete packets already in the socket's
  // receive buffer or its own read buffer, e.g. a DISCONNECT that changes the session expiry or
  // a close), then runs `done` once, on any thread (not at all if the I/O stops first). The
  // default has no such input and runs `done` at once.
  virtual void drain_input(std::function<void()> done) { done(); }
};

// Outcome of an acknowledgement (PUBACK, PUBREC, PUBCOMP) from the client.
enum class AckResult : uint8_t {
  kDone,       // the flow with that packet id advanced (or ended)
  kUnknownId,  // no flow with that packet id: a stray ack, ignored (PUBREC: answered PUBREL 0x92)
  kWrongType,  // the flow with that packet id waits for another ack (PUBACK for QoS 2, PUBREC or
               // PUBCOMP for QoS 1, PUBCOMP before PUBREC): the client broke MQTT-4.3.2-4 /
               // MQTT-4.3.3-8 / MQTT-4.3.3-11, a protocol violation the connection ends for
};

// What the client announced in CONNECT about what it can receive.
struct LinkParams {
  Version version = Version::kV5;
  uint16_t receive_maximum = 65535;
  uint32_t max_packet_size = 0;  // 0 = protocol maximum
  uint16_t topic_alias_maximum = 0;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `persist` may be null (no durability); it must outlive the session. `generation` tags every
  // value this session stores (Persistence: stale writes of an earlier session of the same
  // client id are recognised by it).
  Session(std::string client_id, const BrokerConfig& config, BrokerStats& stats,
          const util::Clock& clock, Persistence* persist = nullptr, uint64_t generation = 0);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::string& client_id() const { return client_id_; }
  uint64_t generation() const { return generation_; }
  // The username of the current (or last) connection, for per-delivery read ACL checks.
  // Broker::mu_ guards it (set in open_session).
  std::optional<std::string>& username() { return username_; }

  // Attaches a new connection: resends every in-flight message (PUBLISH with DUP, or PUBREL once
  // PUBREC was received) and then as much of the queue as the limits allow.
  void attach(std::shared_ptr<PacketSink> sink, const LinkParams& link);
  // Detaches the current connection and tells it to go away (5.0: DISCONNECT `reason`).
  void kick(ReasonCode reason);
  // Tells the current connection to go away (5.0: DISCONNECT `reason`) without detaching it: the
  // connection ends as if the client had left (Broker::close_session), e.g. at server shutdown.
  // False if no connection is attached.
  bool close_connection(ReasonCode reason);
  // Detaches `sink` if it is the attached one (a taken-over connection may detach late).
  void detach(const PacketSink* sink);
  // Detaches the current connection without telling it anything and returns it (null if none):
  // the broker's teardown breaks the Connection <-> Session reference cycle with it.
  std::shared_ptr<PacketSink> release_sink();
  bool online() const;
  bool attached_to(const PacketSink* sink) const;
  // The attached connection (null if none).
  std::shared_ptr<PacketSink> sink() const;

  // Delivers one message: written at once when online and the limits allow, else queued (QoS > 0,
  // or QoS 0 for offline sessions when configured), else dropped and counted.
  // `qid` != 0: the message is stored for this session under that id (Persistence); the store
  // entry is updated when the flow advances and deleted when it completes.
  void deliver(const MessagePtr& message, Delivery delivery, uint64_t qid = 0);
  // Restores what Persistence::load() found (before any connection attaches).
  void restore(const StoredSession& stored);
  // Whether messages for this session must be stored (durability on and expiry > 0).
  bool persistent() const;
  // Whether the store holds this session's record: set by the Broker when it writes or deletes
  // the record, and by restore(). Unlike persistent() it stays set when a DISCONNECT lowers the
  // expiry to 0, so that the record is deleted when the session ends.
  bool stored() const;
  void set_stored(bool stored);

  // Acknowledgements from the client (see AckResult). A stray PUBREC is answered here with PUBREL
  // 0x92; on kWrongType nothing is sent and the flow is left as it was (the caller closes).
  AckResult on_puback(uint16_t packet_id);
  AckResult on_pubrec(uint16_t packet_id, ReasonCode reason);
  AckResult on_pubcomp(uint16_t packet_id);
  // The connection's write buffer drained: send more of the queue.
  void on_writable();

  // Exactly-once for incoming QoS 2: begin() is false when the id is already awaiting PUBREL (a
  // retransmission: do not route the message again); release() is false when it was not.
  bool begin_incoming_qos2(uint16_t packet_id);
  bool release_incoming_qos2(uint16_t packet_id);
  size_t incoming_qos2_count() const;

  // Takes back the unacknowledged messages this session received through shared subscriptions
  // (when its client goes away they go to another member of the group), removing them here.
  std::vector<std::pair<MessagePtr, Delivery>> take_shared_unacked();

  // Expiry (seconds after disconnect; 0 = ends with the connection).
  void set_expiry_interval(uint32_t seconds);
  uint32_t expiry_interval() const;
  // Wall-clock ms when the last connection went away (0 while online).
  int64_t disconnected_at_ms() const;

  size_t inflight_count() const;
  size_t queued_count() const;

  // Raw filter -> options. Owned by the broker: access only under the broker's mutex. Allocated
  // on the first subscription (an idle client that never subscribes holds no map).
  using Subscriptions = std::unordered_map<std::string, SubOptions>;
  Lazy<Subscriptions>& subscriptions() { return subscriptions_; }

 private:
  struct Inflight {
    uint64_t qid = 0;
    uint16_t packet_id = 0;
    bool pubrec_received = false;
    MessagePtr message;
    Delivery delivery;
  };
  struct Queued {
    uint64_t qid = 0;
    MessagePtr message;
    Delivery delivery;
  };

  size_t send_quota_locked() const;
  bool writable_locked() const;
  // 0 when no id is free.
  uint16_t allocate_id_locked();
  // Encodes and sends one PUBLISH. False if the message was dropped instead (expired, too large
  // for the client); the caller then forgets it.
  bool write_publish_locked(const Message& m, const Delivery& d, uint16_t packet_id, bool dup);
  void write_ack_locked(PacketType type, uint16_t packet_id, ReasonCode reason);
  void enqueue_locked(const MessagePtr& m, Delivery d, uint64_t qid);
  // Moves a message to in flight under a new packet id and sends it; false if it was dropped.
  bool send_new_locked(uint64_t qid, const MessagePtr& m, Delivery& d, uint16_t id);
  void store_locked(const Inflight& f);
  void forget_locked(uint64_t qid);
  void pump_locked();
  bool expired_locked(const Message& m) const;

  const std::string client_id_;
  const BrokerConfig& config_;
  BrokerStats& stats_;
  const util::Clock& clock_;
  Persistence* const persist_;
  const uint64_t generation_;

  mutable std::mutex mu_;
  std::shared_ptr<PacketSink> sink_;
  LinkParams link_;
  Lazy<std::unordered_map<std::string, uint16_t>> out_aliases_;
  uint16_t next_alias_ = 1;
  // Allocated on first use (an idle session holds two pointers, not two empty devectors).
  Lazy<boost::container::devector<Inflight>> inflight_;
  Lazy<boost::container::devector<Queued>> queue_;
  size_t queued_bytes_ = 0;
  size_t queued_qos0_ = 0;
  uint16_t next_packet_id_ = 1;
  Lazy<std::unordered_set<uint16_t>> incoming_qos2_;
  uint32_t expiry_interval_ = 0;
  bool stored_ = false;
  int64_t disconnected_at_ms_ = 0;
  uint64_t dropped_ = 0;  // QoS 1/2 messages dropped for a full queue (log rate limit)

  Lazy<Subscriptions> subscriptions_;    // Broker::mu_
  std::optional<std::string> username_;  // Broker::mu_
};

}  // namespace imet::mqtt::broker
