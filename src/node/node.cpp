#include "node/node.h"

#include <csignal>
#include <future>

#include <boost/asio/post.hpp>

#include "crypto/address.h"
#include "ledger/genesis.h"
#include "mqtt/broker/auth_access.h"
#include "node/api_routes.h"
#include "node/fd_limit.h"
#include "node/node_key.h"
#include "store/rocks_store.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"

namespace imet::node {

namespace log = util::log;

namespace {
constexpr std::string_view kFormatKey = "meta/db_format";
}

Node::Node(NodeConfig config) : ctx_(std::make_unique<NodeContext>()) {
  ctx_->config = std::move(config);
}

Node::~Node() {
  stop();
}

util::Status Node::start() {
  NodeConfig& cfg = ctx_->config;
  // 0. Catch SIGINT/SIGTERM from here on: a signal during start-up is handled once the I/O
  //    threads run (wait() then returns at once) instead of killing the process half-started.
  signals_.emplace(ctx_->io, SIGINT, SIGTERM);
  signals_->async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;  // cancelled at shutdown
    log::info("received signal, shutting down", {{"signal", sig}});
    stop_signal_.store(sig);
    stop_signal_.notify_all();
  });
  reload_signals_.emplace(ctx_->io, SIGHUP);
  arm_reload_signal();

  // 1. Configuration (already parsed and validated by the caller) and logging.
  cfg.finalize();
  IMET_TRY(cfg.validate());

  // 2. Data dir: create and lock it before touching anything inside.
  IMET_ASSIGN_OR_RETURN(ctx_->data_dir, DataDir::open(cfg.data_dir));
  IMET_TRY(log::init({cfg.log_level, cfg.log_file}));
  log::info("imetd starting", {{"version", IMET_VERSION},
                               {"data_dir", cfg.data_dir},
                               {"dev", cfg.dev},
                               {"pid", static_cast<int64_t>(::getpid())}});

  // File descriptors: every MQTT connection is one (node/fd_limit.h).
  if (auto fd = raise_fd_limit(); !fd.ok()) {
    log::warn("cannot read the file descriptor limit", {{"error", fd.status().message()}});
  } else {
    log::info("file descriptor limit",
              {{"soft", fd->soft}, {"soft_at_start", fd->soft_before}, {"hard", fd->hard}});
    const uint64_t room = mqtt_connection_capacity(fd->soft);
    const uint64_t wanted = cfg.broker.max_connections;
    if (wanted == 0 || wanted > room) {
      log::warn(
          "the file descriptor limit allows fewer MQTT connections than max_connections; "
          "raise the hard limit (systemd LimitNOFILE=, ulimit -Hn)",
          {{"max_connections", wanted}, {"room_for", room}, {"hard", fd->hard}});
    }
  }

  // 3. Node identity key.
  IMET_ASSIGN_OR_RETURN(NodeKeyResult key,
                        load_or_create_node_key(ctx_->data_dir->node_key_path(), cfg));
  ctx_->node_key = std::move(key.key);
  log::info(key.created ? "created node key" : "loaded node key",
            {{"address", crypto::address_of(ctx_->node_key->public_key())},
             {"encrypted", !cfg.unencrypted_node_key || !key.created}});

  // 4. Database.
  IMET_TRY(open_database());

  // 5. I/O thread pool (also runs the signal handler).
  IMET_TRY(start_io());

  // 6. Ledger: the chain of the genesis file (a dev node creates its own).
  IMET_TRY(open_chain());

  // 7. P2P network and consensus: the engine finalizes blocks with the other witnesses (a dev
  //    node's genesis has one witness, itself), sync fetches final blocks from peers.
  if (ctx_->chain) {
    IMET_ASSIGN_OR_RETURN(ctx_->consensus,
                          ConsensusService::start(ctx_->io, *ctx_->chain, ctx_->chain_mu, *ctx_->db,
                                                  *ctx_->node_key, cfg, ctx_->genesis_hash));
    log::info("P2P listening",
              {{"address", cfg.p2p.host + ":" + std::to_string(ctx_->consensus->p2p_port())},
               {"seeds", static_cast<uint64_t>(cfg.p2p_seeds.size())}});
  }

  // 8. HTTP JSON API over the chain.
  if (ctx_->chain) {
    auto http = api::HttpServer::start(
        ctx_->io, cfg.http.host, cfg.http.port,
        make_api_routes(*ctx_->chain, ctx_->chain_mu, ctx_->node_key->public_key(),
                        ctx_->consensus.get()));
    if (!http.ok()) return http.status();
    ctx_->http = *http;
    log::info("HTTP API listening", {{"address", cfg.http.to_string()}});
  }

  // 9. MQTT broker.
  IMET_TRY(start_mqtt());

  log::info("imetd running", {{"io_threads", static_cast<uint64_t>(ctx_->io_pool->threads())},
                              {"io_adaptive", ctx_->config.io_adaptive}});
  return {};
}

util::Status Node::start_mqtt() {
  NodeConfig& cfg = ctx_->config;
  mqtt::broker::BrokerConfig bc = cfg.broker;
  bc.version = "imetd " IMET_VERSION;
  // Authentication and ACL (docs/mqtt.md): mosquitto password/ACL files, device-key tokens
  // checked against the ledger's device registry; anonymous only when allowed (default: dev only).
  mqtt::auth::AuthConfig ac;
  ac.allow_anonymous = cfg.mqtt_allow_anonymous.value_or(cfg.dev);
  ac.password_file = cfg.mqtt_password_file;
  ac.acl_file = cfg.mqtt_acl_file;
  mqtt::auth::DeviceKeyLookup lookup;
  if (ctx_->chain) {
    ac.chain_id = ctx_->chain->config().chain_id;
    lookup = [ctx = ctx_.get()](const std::string& address) -> std::optional<crypto::PublicKey> {
      auto addr = crypto::parse_address(address);
      if (!addr.ok()) return std::nullopt;
      std::lock_guard lock(ctx->chain_mu);
      auto rec = ledger::get_record<ledger::DeviceRecord>(ctx->chain->store().state(),
                                                          ledger::keys::device(*addr));
      if (!rec.ok() || !*rec) return std::nullopt;
      return (*rec)->device_key;
    };
  }
  auto authenticator = mqtt::auth::Authenticator::create(ac, std::move(lookup), ctx_->clock);
  if (!authenticator.ok()) return authenticator.status().with_context("MQTT authentication");
  auto auth_access = std::make_unique<mqtt::broker::AuthAccess>(std::move(authenticator).value());
  auth_access_.store(auth_access.get());
  ctx_->mqtt_access = std::move(auth_access);
  log::info("MQTT authentication", {{"allow_anonymous", ac.allow_anonymous},
                                    {"password_file", ac.password_file},
                                    {"acl_file", ac.acl_file}});
  // The access-point message log and the group committer for the broker's durable state.
  store::msglog::Options lo;
  lo.segment_max_bytes = cfg.msglog_segment_bytes;
  lo.retention_bytes = cfg.msglog_retention_bytes;
  lo.retention_age = std::chrono::hours(cfg.msglog_retention_hours);
  auto msglog = store::msglog::MessageLog::open(ctx_->data_dir->path() + "/msglog", lo);
  if (!msglog.ok()) return msglog.status().with_context("cannot open the message log");
  ctx_->msglog = std::move(msglog).value();
  store::GroupCommitter::Options go;
  go.window = std::chrono::microseconds(cfg.mqtt_commit_window_us);
  ctx_->mqtt_persist =
      std::make_unique<mqtt::broker::Persistence>(*ctx_->db, ctx_->msglog.get(), go);
  ctx_->broker = std::make_unique<mqtt::broker::Broker>(std::move(bc), ctx_->clock);
  ctx_->broker->set_persistence(ctx_->mqtt_persist.get());
  ctx_->broker->set_access(ctx_->mqtt_access.get());
  IMET_TRY(ctx_->broker->restore());
  ctx_->broker->start(ctx_->io);
  ctx_->mqtt =
      std::make_unique<mqtt::broker::MqttServer>(ctx_->io, *ctx_->broker, *ctx_->mqtt_access);
  auto port = ctx_->mqtt->listen_tcp(cfg.mqtt.host, cfg.mqtt.port);
  if (!port.ok()) return port.status();
  log::info("MQTT broker listening",
            {{"address", cfg.mqtt.host + ":" + std::to_string(*port)}, {"transport", "tcp"}});
  // TLS and WebSocket listeners ([mqtt] tls_listen, ws_listen, wss_listen).
  auto serving = [](const HostPort& at, const char* transport, uint16_t bound) {
    log::info("MQTT broker listening",
              {{"address", at.host + ":" + std::to_string(bound)}, {"transport", transport}});
  };
  if (cfg.mqtt_tls_listen) {
    auto p =
        ctx_->mqtt->listen_tls(cfg.mqtt_tls_listen->host, cfg.mqtt_tls_listen->port, cfg.mqtt_tls);
    if (!p.ok()) return p.status().with_context("[mqtt] tls_listen");
    serving(*cfg.mqtt_tls_listen, "tls", *p);
  }
  if (cfg.mqtt_ws_listen) {
    auto p = ctx_->mqtt->listen_ws(cfg.mqtt_ws_listen->host, cfg.mqtt_ws_listen->port,
                                   cfg.mqtt_ws_path, std::nullopt);
    if (!p.ok()) return p.status().with_context("[mqtt] ws_listen");
    serving(*cfg.mqtt_ws_listen, "ws", *p);
  }
  if (cfg.mqtt_wss_listen) {
    auto p = ctx_->mqtt->listen_ws(cfg.mqtt_wss_listen->host, cfg.mqtt_wss_listen->port,
                                   cfg.mqtt_ws_path, cfg.mqtt_tls);
    if (!p.ok()) return p.status().with_context("[mqtt] wss_listen");
    serving(*cfg.mqtt_wss_listen, "wss", *p);
  }
  return {};
}

util::Status Node::open_database() {
  auto db = store::RocksStore::open(ctx_->data_dir->db_path(), {});
  if (!db.ok()) return db.status().with_context("cannot open the node database");
  ctx_->db = std::move(db).value();
  auto format = ctx_->db->get(util::as_bytes(kFormatKey));
  if (!format.ok()) return format.status();
  std::string want = std::to_string(kDbFormatVersion);
  if (!format->has_value()) {
    IMET_TRY(ctx_->db->put(util::as_bytes(kFormatKey), util::as_bytes(want), {.sync = true}));
    log::info("created database", {{"path", ctx_->data_dir->db_path()}});
  } else if (util::to_string(**format) != want) {
    return util::failed_precondition("database '" + ctx_->data_dir->db_path() + "' has format " +
                                     util::to_string(**format) + " but this imetd reads format " +
                                     want + "; use a matching imetd version");
  }
  return {};
}

util::Status Node::start_io() {
  unsigned n = ctx_->config.io_threads;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  ctx_->work.emplace(ctx_->io.get_executor());
  IoPool::Options o;
  o.threads = n;
  o.adaptive = ctx_->config.io_adaptive;
  ctx_->io_pool = std::make_unique<IoPool>(ctx_->io, o, [this](const std::exception& e) {
    log::error("unhandled exception in I/O thread", {{"what", e.what()}});
    request_stop();
  });
  ctx_->io_pool->start();
  started_io_ = true;
  return {};
}

util::Status Node::open_chain() {
  const NodeConfig& cfg = ctx_->config;
  auto text = util::read_file(cfg.genesis_file, 64 << 20);
  if (!text.ok() && text.status().code() == util::StatusCode::kNotFound && cfg.dev) {
    ledger::Genesis g = ledger::make_dev_genesis(
        crypto::address_bytes_of(ctx_->node_key->public_key()),
        static_cast<uint64_t>(util::SystemClock::instance().now_unix_ms()));
    IMET_TRY(util::write_file_new(cfg.genesis_file, ledger::genesis_to_json(g), 0644));
    log::info("created dev genesis",
              {{"file", cfg.genesis_file}, {"hash", util::to_hex(g.hash())}});
    text = ledger::genesis_to_json(g);
  }
  if (!text.ok()) {
    if (text.status().code() == util::StatusCode::kNotFound) {
      log::warn("no genesis file: the ledger is off", {{"file", cfg.genesis_file}});
      return {};
    }
    return text.status().with_context("cannot read the genesis file");
  }
  auto genesis = ledger::parse_genesis_json(*text);
  if (!genesis.ok()) return genesis.status().with_context("'" + cfg.genesis_file + "'");
  ctx_->genesis_hash = genesis->hash();
  IMET_ASSIGN_OR_RETURN(ctx_->chain,
                        Chain::open(*ctx_->db, *genesis, {.admission = cfg.mempool_admission}));
  const store::TipRecord& tip = ctx_->chain->tip();
  log::info("chain loaded", {{"chain_id", genesis->chain_id},
                             {"height", tip.height},
                             {"hash", util::to_hex(tip.hash)},
                             {"state_root", util::to_hex(tip.state_root)}});
  return {};
}

void Node::arm_reload_signal() {
  reload_signals_->async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;  // cancelled at shutdown
    log::info("received SIGHUP, reloading the MQTT password and ACL files", {});
    if (util::Status st = reload_mqtt_auth(); !st.ok()) {
      log::error("MQTT password/ACL reload failed; the previous files stay in force",
                 {{"error", st.message()}});
    }
    arm_reload_signal();
  });
}

util::Status Node::reload_mqtt_auth() {
  mqtt::broker::AuthAccess* access = auth_access_.load();
  if (access == nullptr) return util::failed_precondition("the MQTT broker is not running");
  IMET_TRY(access->reload());
  log::info("MQTT password and ACL files reloaded",
            {{"password_file", ctx_->config.mqtt_password_file},
             {"acl_file", ctx_->config.mqtt_acl_file}});
  return {};
}

int Node::wait() {
  for (;;) {
    int s = stop_signal_.load();
    if (s >= 0) return s;
    stop_signal_.wait(s);
  }
}

void Node::request_stop() {
  stop_signal_.store(0);
  stop_signal_.notify_all();
}

void Node::stop() {
  if (!ctx_) return;
  // Reverse order of start().
  if (ctx_->mqtt) ctx_->mqtt->stop();
  // MQTT clients get DISCONNECT 0x8B (5.0) or a close (3.1.1); their wills and sessions are
  // handled and everything is synced while the I/O threads still run.
  if (ctx_->broker && started_io_) ctx_->broker->shutdown(std::chrono::seconds(5));
  if (ctx_->broker) ctx_->broker->stop();
  if (ctx_->http) {
    ctx_->http->stop();
  }
  if (ctx_->consensus) ctx_->consensus->stop();
  if (started_io_) {
    log::info("stopping I/O threads");
    boost::system::error_code ec;
    if (signals_) signals_->cancel(ec);
    if (reload_signals_) reload_signals_->cancel(ec);
    ctx_->work.reset();
    ctx_->io.stop();
    ctx_->io_pool->stop();
    ctx_->io_pool->join();
    started_io_ = false;
  }
  signals_.reset();
  reload_signals_.reset();
  auth_access_.store(nullptr);
  ctx_->consensus.reset();  // the I/O threads are joined: no handler is running
  ctx_->mqtt.reset();
  if (ctx_->mqtt_persist) ctx_->mqtt_persist->stop();  // drains: every accepted commit lands
  ctx_->broker.reset();
  ctx_->mqtt_persist.reset();
  ctx_->msglog.reset();
  ctx_->mqtt_access.reset();
  ctx_->http.reset();
  if (ctx_->chain) {
    log::info("closing chain", {{"height", ctx_->chain->tip().height}});
    ctx_->chain.reset();
  }
  if (ctx_->db) {
    log::info("closing database");
    ctx_->db.reset();
  }
  ctx_->node_key.reset();
  if (ctx_->data_dir) {
    log::info("imetd stopped");
    ctx_->data_dir.reset();  // releases the lock last
  }
  ctx_.reset();
}

int run_node(NodeConfig config) {
  Node node(std::move(config));
  util::Status st = node.start();
  if (!st.ok()) {
    log::error("imetd failed to start", {{"error", st.message()}});
    node.stop();
    return 1;
  }
  node.wait();
  node.stop();
  return 0;
}

}  // namespace imet::node
