// Fixture and helpers of the broker::Persistence unit tests (broker_persistence_test.cpp,
// broker_restart_test.cpp): a message with every forwarded property, the store under test
// (store::MemoryStore or a store::RocksStore in a temporary directory, reopened from disk by
// restart()), and a Broker over it driven through open_session with RecordingSinks
// (broker_test_util.h).
// Thread-safety: the test thread drives everything; Persistence's committer thread runs the
// commit callbacks, and the helpers wait for them (drain(), publish()).
// Invariants: kGen is the session generation used by tests that write keys directly.
#pragma once

#include <cstdint>
#include <future>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "../store/temp_dir.h"
#include "broker_test_util.h"
#include "mqtt/broker/broker.h"
#include "mqtt/broker/persistence.h"
#include "store/memory_store.h"
#include "store/rocks_store.h"

namespace imet::mqtt::broker::test {

// Session generation of keys written directly by the tests.
inline constexpr uint64_t kGen = 0x0123456789ABCDEFull;

inline util::Bytes bytes(std::string_view s) {
  return util::Bytes(s.begin(), s.end());
}

inline Message full_message() {
  Message m;
  m.topic = "sensors/room-1/temp";
  const util::Bytes payload = {0x00, 0xFF, 0x10, 0x80, 0x7F, 0x00};
  m.payload = SharedBytes::copy_of(util::ByteSpan(payload));
  m.qos = 2;
  m.retain = true;
  m.properties.content_type = "application/octet-stream";
  m.properties.response_topic = "replies/room-1";
  m.properties.correlation_data = util::Bytes{0xde, 0xad, 0x00, 0xbe, 0xef};
  EXPECT_TRUE(m.properties.user_properties.add("imet-tier", "1"));
  EXPECT_TRUE(m.properties.user_properties.add("k", ""));
  EXPECT_TRUE(m.properties.user_properties.add("k", "second value"));
  m.created_ms = kT0;
  m.expiry_at_ms = kT0 + 3'600'000;
  m.origin_client = "device-42";
  m.tier = 1;
  m.log_seq = 0xFFFFFFFFFFFFFFFFull;
  return m;
}

inline void expect_same_message(const Message& got, const Message& want) {
  EXPECT_EQ(got.topic, want.topic);
  EXPECT_EQ(got.payload, want.payload);
  EXPECT_EQ(got.qos, want.qos);
  EXPECT_EQ(got.retain, want.retain);
  EXPECT_EQ(got.properties, want.properties);
  EXPECT_EQ(got.created_ms, want.created_ms);
  EXPECT_EQ(got.expiry_at_ms, want.expiry_at_ms);
  EXPECT_EQ(got.origin_client, want.origin_client);
  EXPECT_EQ(got.tier, want.tier);
  EXPECT_EQ(got.log_seq, want.log_seq);
}

enum class StoreKind { kMemory, kRocks };
inline void PrintTo(StoreKind kind, std::ostream* os) {
  *os << (kind == StoreKind::kMemory ? "MemoryStore" : "RocksStore");
}

// Owns the store under test; reopen() closes a RocksStore and opens it again from disk (a
// MemoryStore simply stays).
class StoreHolder {
 public:
  explicit StoreHolder(StoreKind kind) : kind_(kind) { open(); }
  store::KvStore& kv() { return *kv_; }
  void reopen() {
    if (kind_ == StoreKind::kMemory) return;
    kv_.reset();
    open();
  }

 private:
  void open() {
    if (kind_ == StoreKind::kMemory) {
      kv_ = std::make_unique<store::MemoryStore>();
      return;
    }
    store::RocksStore::Options o;
    o.block_cache_bytes = 1 << 20;
    o.write_buffer_bytes = 1 << 20;
    auto r = store::RocksStore::open(dir_.sub("db"), o);
    if (!r.ok()) throw std::runtime_error(r.status().to_string());
    kv_ = std::move(*r);
  }

  StoreKind kind_;
  store::testing::TempDir dir_;
  std::unique_ptr<store::KvStore> kv_;
};

// Waits until every commit submitted before it has been applied (commits are FIFO).
inline void drain(Persistence& p) {
  std::promise<util::Status> done;
  auto f = done.get_future();
  p.submit({}, {}, true, [&](util::Status s) { done.set_value(std::move(s)); });
  const util::Status s = f.get();
  ASSERT_TRUE(s.ok()) << s.to_string();
}

inline void write(store::KvStore& kv, const store::WriteBatch& b) {
  const util::Status s = kv.write(b);
  ASSERT_TRUE(s.ok()) << s.to_string();
}

class BrokerPersistenceStoreTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  BrokerPersistenceStoreTest() : holder_(GetParam()), clock_(kT0) {
    config_.sys_interval = std::chrono::seconds(0);
  }
  ~BrokerPersistenceStoreTest() override { shutdown(); }

  store::KvStore& kv() { return holder_.kv(); }
  std::unique_ptr<Persistence> make_persistence() {
    return std::make_unique<Persistence>(kv(), nullptr, committer_options_);
  }
  util::Result<LoadedState> load() { return make_persistence()->load(); }

  // A broker with persistence, restored from the store.
  Broker& start() {
    persist_ = make_persistence();
    broker_ = std::make_unique<Broker>(config_, clock_);
    broker_->set_persistence(persist_.get());
    const util::Status s = broker_->restore();
    EXPECT_TRUE(s.ok()) << s.to_string();
    return *broker_;
  }
  // Ends the broker as a crash would (no close_session): whatever reached the store stays.
  void shutdown() {
    if (persist_) drain(*persist_);
    broker_.reset();
    persist_.reset();
  }
  void restart() {
    shutdown();
    holder_.reopen();
    start();
  }

  StoreHolder holder_;
  store::GroupCommitter::Options committer_options_;
  BrokerConfig config_;
  util::ManualClock clock_;
  std::unique_ptr<Persistence> persist_;
  std::unique_ptr<Broker> broker_;
};

inline std::string store_name(const ::testing::TestParamInfo<StoreKind>& p) {
  return p.param == StoreKind::kMemory ? "Memory" : "Rocks";
}

// ---- a Broker over the store ----

struct Opened {
  std::shared_ptr<Session> session;
  std::shared_ptr<RecordingSink> sink;
  bool present = false;
};

inline Opened open_client(Broker& b, const std::string& id, bool clean_start, uint32_t expiry) {
  Opened o;
  o.sink = std::make_shared<RecordingSink>();
  auto r = b.open_session(id, clean_start, expiry, o.sink, LinkParams{}, [](bool) {});
  o.session = r.session;
  o.present = r.session_present;
  return o;
}

inline void subscribe(Broker& b, Session& s, const std::string& filter, uint8_t qos) {
  std::vector<Broker::Retained> retained;
  SubscriptionOptions so;
  so.qos = qos;
  b.subscribe(s, {Subscription{filter, so}}, 0, Version::kV5, retained);
  for (auto& r : retained)
    s.deliver(r.message, std::move(r.delivery));
}

// Publishes and waits for the commit (QoS 1/2: durable, then delivered).
inline void publish(Broker& b, const std::string& topic, const std::string& payload, uint8_t qos,
                    bool retain = false) {
  auto m = std::make_shared<Message>();
  m->topic = topic;
  m->payload = SharedBytes::copy_of(std::string_view(payload));
  m->qos = qos;
  m->retain = retain;
  m->created_ms = kT0;
  m->origin_client = "publisher";
  std::promise<util::Status> done;
  auto f = done.get_future();
  b.publish(m, {}, [&](util::Status s) { done.set_value(std::move(s)); });
  const util::Status s = f.get();
  ASSERT_TRUE(s.ok()) << s.to_string();
}

}  // namespace imet::mqtt::broker::test
