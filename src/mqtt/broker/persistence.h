// Persistence: how the broker's durable state lives in the node's KvStore (RocksDB) and how every
// accepted message reaches the access-point message log, both through one GroupCommitter (store/
// group_commit.h). Key layout (prefix "mq/"):
//   mq/s/<client id>                         session: generation, expiry interval, disconnect time
//   mq/u/<client id> 0x00 <raw filter>       subscription options (+ session generation)
//   mq/r/<topic>                             retained message
//   mq/q/<client id> 0x00 <qid u64 BE>       queued or in-flight QoS 1/2 message of a persistent
//                                            session (+ session generation)
//   mq/i/<client id> 0x00 <packet id BE>     incoming QoS 2 packet id awaiting PUBREL (+
//   generation) mq/w/<client id>                         pending delayed will: due time and the
//   will message mq/m/synced                              time of the last sync() (a clean
//   shutdown)
// Only persistent sessions (expiry interval > 0) are stored; a clean session ends with its
// connection, so a crash loses nothing it could have been promised.
//
// Session generations: every session incarnation gets a random 64-bit generation, stored in its
// mq/s record and in each of its u/q/i values. Commits are applied in submit order but some
// writes of a session (e.g. a subscription still inside the group-commit window, a queued copy
// built just before a clean start) can land after the deletion of that session's keys, which is a
// scan at submit time. load() therefore keeps only the u/q/i values whose generation equals their
// session's and reports every other one (and every key of a client without a session record) as
// stale, for the broker to delete. Values written before generations existed (format 1) have
// generation 0 and belong to a format-1 session record (also generation 0).
// Thread-safety: the encode/decode helpers are pure; submit() may be called from any thread
// (GroupCommitter::submit is thread-safe); load() runs once before the broker serves clients.
// Invariants: a stored message decodes to the Message that was stored (its properties go through
// the MQTT 5 codec); qids are unique per broker lifetime and increase (load() returns the largest).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt/broker/message.h"
#include "store/group_commit.h"
#include "store/kv_store.h"
#include "store/msglog/message_log.h"
#include "util/result.h"

namespace imet::mqtt::broker {

// A message stored for one session, with how it is to be delivered.
struct StoredDelivery {
  uint64_t qid = 0;
  MessagePtr message;  // null once PUBREC was received (only the packet id matters)
  Delivery delivery;
  uint16_t packet_id = 0;  // non-zero once sent (QoS 2: needed to resume the flow)
  bool pubrec_received = false;
};

struct StoredSession {
  std::string client_id;
  uint64_t generation = 0;
  uint32_t expiry_interval = 0;
  int64_t disconnected_at_ms = 0;
  std::vector<std::pair<std::string, SubOptions>> subscriptions;
  std::vector<StoredDelivery> deliveries;  // in qid order
  std::vector<uint16_t> incoming_qos2;
};

// A delayed will (MQTT 5 Will Delay Interval) waiting for its time, stored when the connection
// ended so that it survives a restart.
struct StoredWill {
  std::string client_id;
  int64_t due_ms = 0;  // wall clock (Unix ms) at which it is published
  MessagePtr message;
};

struct LoadedState {
  std::vector<StoredSession> sessions;
  std::vector<MessagePtr> retained;
  std::vector<StoredWill> wills;
  uint64_t max_qid = 0;
  // Keys of an older session generation or of no stored session: to be deleted (see above).
  std::vector<util::Bytes> stale_keys;
};

class Persistence {
 public:
  // `log` may be null (no message log). Both must outlive this object.
  Persistence(store::KvStore& kv, store::msglog::MessageLog* log,
              store::GroupCommitter::Options options);
  ~Persistence();

  util::Result<LoadedState> load() const;

  // Key/value builders (append to a batch). `generation` is the session's (see above).
  static void put_session(store::WriteBatch& b, const std::string& client_id, uint64_t generation,
                          uint32_t expiry, int64_t disconnected_at_ms);
  static void put_subscription(store::WriteBatch& b, const std::string& client_id,
                               uint64_t generation, const std::string& filter, const SubOptions& o);
  static void del_subscription(store::WriteBatch& b, const std::string& client_id,
                               const std::string& filter);
  static void put_retained(store::WriteBatch& b, const Message& m);
  static void del_retained(store::WriteBatch& b, const std::string& topic);
  static void put_delivery(store::WriteBatch& b, const std::string& client_id, uint64_t generation,
                           const StoredDelivery& d);
  static void del_delivery(store::WriteBatch& b, const std::string& client_id, uint64_t qid);
  static void put_incoming(store::WriteBatch& b, const std::string& client_id, uint64_t generation,
                           uint16_t id);
  static void del_incoming(store::WriteBatch& b, const std::string& client_id, uint16_t id);
  static void put_will(store::WriteBatch& b, const std::string& client_id, int64_t due_ms,
                       const Message& will);
  static void del_will(store::WriteBatch& b, const std::string& client_id);
  // Deletes every key of the session found in the store now (a scan; a pending delayed will is
  // not part of the session and stays). Writes still in the committer are caught by the session
  // generation at the next load().
  void del_session(store::WriteBatch& b, const std::string& client_id) const;

  // The message log record of an accepted message: a view of `m` (valid while m lives).
  static store::msglog::RecordView log_record(const Message& m);

  // Submits a commit; `done` (may be empty) runs on the committer thread. `logged` (may be null)
  // is appended to the message log (its fields are copied into the committer's pending arena; no
  // Record is built and no reference is kept).
  void submit(store::WriteBatch batch, MessagePtr logged, bool durable,
              std::function<void(util::Status)> done) {
    if (enqueue(std::move(batch), std::move(logged), durable, std::move(done))) wake();
  }
  // submit() in two steps (GroupCommitter::enqueue): queues the commit and returns whether wake()
  // must follow; the caller calls it soon, after what should not wait behind the wake-up.
  bool enqueue(store::WriteBatch batch, MessagePtr logged, bool durable,
               std::function<void(util::Status)> done);
  void wake() { committer_.wake(); }
  // A non-durable commit without callback whose records are `logged` (views of messages the
  // caller keeps alive until this returns; appended in this order, copied like `logged` above).
  void submit_logged(store::WriteBatch batch, std::span<const store::msglog::RecordView> logged);
  // A durable commit of its own: once `done` runs, every commit submitted before is on stable
  // storage (the log fdatasync'ed, the KvStore written with sync=true). Used at shutdown.
  void sync(std::function<void(util::Status)> done);
  bool logging() const { return log_ != nullptr; }
  void stop() { committer_.stop(); }
  // Backpressure (GroupCommitter::backlogged / when_drained): while the committer is behind,
  // connections issue no further reads; `fn` runs once it has caught up.
  bool backlogged() const { return committer_.backlogged(); }
  store::GroupCommitter::Stats committer_stats() const { return committer_.stats(); }
  void when_drained(std::function<void()> fn) { committer_.when_drained(std::move(fn)); }

  // Message encoding (exposed for tests).
  static util::Bytes encode_message(const Message& m);
  static util::Result<MessagePtr> decode_message(util::ByteSpan data);

 private:
  store::KvStore& kv_;
  store::msglog::MessageLog* log_;
  store::GroupCommitter committer_;
};

}  // namespace imet::mqtt::broker
