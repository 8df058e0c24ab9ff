// NodeContext: everything a running imetd owns, built in numbered steps by Node::start() and torn
// down in reverse by Node::stop(). Later components (relay, storage, ...) become further members
// and further steps.
// Thread-safety: built and destroyed on the main thread; members document their own rules.
// Invariants: a member is set only after every member it depends on (listed above it) is set.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "api/http_server.h"
#include "crypto/ed25519.h"
#include "mqtt/broker/access.h"
#include "mqtt/broker/broker.h"
#include "mqtt/broker/persistence.h"
#include "mqtt/broker/server.h"
#include "node/chain.h"
#include "node/config.h"
#include "node/consensus_service.h"
#include "node/data_dir.h"
#include "node/io_pool.h"
#include "store/kv_store.h"
#include "store/msglog/message_log.h"
#include "util/clock.h"

namespace imet::node {

struct NodeContext {
  NodeConfig config;                            // step 1
  std::optional<DataDir> data_dir;              // step 2: locked
  std::optional<crypto::SigningKey> node_key;   // step 3
  std::unique_ptr<store::KvStore> db;           // step 4
  boost::asio::io_context io;                   // step 5: the I/O pool
  std::unique_ptr<Chain> chain;                 // step 6: the ledger, when a genesis exists
  std::mutex chain_mu;                          // held by every user of `chain` (producer, API)
  ledger::Hash genesis_hash{};                  // step 6: the P2P network id
  std::unique_ptr<ConsensusService> consensus;  // step 7: P2P, consensus and sync
  std::shared_ptr<api::HttpServer> http;        // step 8: the JSON API
  util::SystemClock clock;
  std::unique_ptr<mqtt::broker::AccessControl> mqtt_access;  // step 9: the MQTT broker
  std::unique_ptr<store::msglog::MessageLog> msglog;
  std::unique_ptr<mqtt::broker::Persistence> mqtt_persist;
  std::unique_ptr<mqtt::broker::Broker> broker;
  std::unique_ptr<mqtt::broker::MqttServer> mqtt;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::unique_ptr<IoPool> io_pool;  // step 5
};

}  // namespace imet::node
