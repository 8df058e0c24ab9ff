// Persistence: how the broker's durable state lives in the node's KvStore (RocksDB) and how every
// accepted message reaches the access-point message log, both through one GroupCommitter (store/
// group_commit.h). Key layout (prefix "mq/"):
//   mq/s/<client id>                      session: expiry interval, disconnect time
//   mq/u/<client id> 0x00 <raw filter>    subscription options
//   mq/r/<topic>                          retained message
//   mq/q/<client id> 0x00 <qid u64 BE>    queued or in-flight QoS 1/2 message of a persistent
//   session mq/i/<client id> 0x00 <packet id BE>  incoming QoS 2 packet id awaiting PUBREL
// Only persistent sessions (expiry interval > 0) are stored; a clean session ends with its
// connection, so a crash loses nothing it could have been promised.
// Thread-safety: the encode/decode helpers are pure; submit() may be called from any thread
// (GroupCommitter::submit is thread-safe); load() runs once before the broker serves clients.
// Invariants: a stored message decodes to the Message that was stored (its properties go through
// the MQTT 5 codec); qids are unique per broker lifetime and increase (load() returns the largest).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
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
  uint32_t expiry_interval = 0;
  int64_t disconnected_at_ms = 0;
  std::vector<std::pair<std::string, SubOptions>> subscriptions;
  std::vector<StoredDelivery> deliveries;  // in qid order
  std::vector<uint16_t> incoming_qos2;
};

struct LoadedState {
  std::vector<StoredSession> sessions;
  std::vector<MessagePtr> retained;
  uint64_t max_qid = 0;
};

class Persistence {
 public:
  // `log` may be null (no message log). Both must outlive this object.
  Persistence(store::KvStore& kv, store::msglog::MessageLog* log,
              store::GroupCommitter::Options options);
  ~Persistence();

  util::Result<LoadedState> load() const;

  // Key/value builders (append to a batch).
  static void put_session(store::WriteBatch& b, const std::string& client_id, uint32_t expiry,
                          int64_t disconnected_at_ms);
  static void put_subscription(store::WriteBatch& b, const std::string& client_id,
                               const std::string& filter, const SubOptions& o);
  static void del_subscription(store::WriteBatch& b, const std::string& client_id,
                               const std::string& filter);
  static void put_retained(store::WriteBatch& b, const Message& m);
  static void del_retained(store::WriteBatch& b, const std::string& topic);
  static void put_delivery(store::WriteBatch& b, const std::string& client_id,
                           const StoredDelivery& d);
  static void del_delivery(store::WriteBatch& b, const std::string& client_id, uint64_t qid);
  static void put_incoming(store::WriteBatch& b, const std::string& client_id, uint16_t id);
  static void del_incoming(store::WriteBatch& b, const std::string& client_id, uint16_t id);
  // Deletes every key of the session (scans the store).
  void del_session(store::WriteBatch& b, const std::string& client_id) const;

  // The message log record of an accepted message.
  static store::msglog::Record log_record(const Message& m);

  // Submits a commit; `done` (may be empty) runs on the committer thread.
  void submit(store::WriteBatch batch, std::vector<store::msglog::Record> records, bool durable,
              std::function<void(util::Status)> done);
  bool logging() const { return log_ != nullptr; }
  void stop() { committer_.stop(); }

  // Message encoding (exposed for tests).
  static util::Bytes encode_message(const Message& m);
  static util::Result<MessagePtr> decode_message(util::ByteSpan data);

 private:
  store::KvStore& kv_;
  store::msglog::MessageLog* log_;
  store::GroupCommitter committer_;
};

}  // namespace imet::mqtt::broker
