#include "node/node.h"

#include <csignal>
#include <future>

#include <boost/asio/post.hpp>

#include "crypto/address.h"
#include "node/node_key.h"
#include "store/rocks_store.h"
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

  // Later steps (ledger, MQTT broker, P2P, HTTP API) plug in here.
  log::info("configured listeners (services not yet available in this build)",
            {{"mqtt", cfg.mqtt.to_string()},
             {"http", cfg.http.to_string()},
             {"p2p", cfg.p2p.to_string()}});
  log::info("imetd running", {{"io_threads", static_cast<uint64_t>(ctx_->io_threads.size())}});
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
  for (unsigned i = 0; i < n; ++i) {
    ctx_->io_threads.emplace_back([this] {
      try {
        ctx_->io.run();
      } catch (const std::exception& e) {
        log::error("unhandled exception in I/O thread", {{"what", e.what()}});
        request_stop();
      }
    });
  }
  started_io_ = true;
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
  if (started_io_) {
    log::info("stopping I/O threads");
    boost::system::error_code ec;
    if (signals_) signals_->cancel(ec);
    ctx_->work.reset();
    ctx_->io.stop();
    for (auto& t : ctx_->io_threads)
      t.join();
    ctx_->io_threads.clear();
    started_io_ = false;
  }
  signals_.reset();
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
