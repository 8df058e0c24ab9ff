// imetd: the IMET node daemon. Parses the command line and config file, then hands over to
// node::run_node(). Nothing else lives here.
#include <iostream>

#include <CLI/CLI.hpp>

#include "node/node.h"

int main(int argc, char** argv) {
  using imet::node::NodeConfig;
  CLI::App app{
      "imetd: the IMET node (MQTT broker, relay, ledger).\n"
      "Settings come from defaults, then --config FILE (TOML, see docs/configuration.md), then "
      "the flags below.",
      "imetd"};
  app.set_version_flag("--version", "imetd " IMET_VERSION);
  std::string config_file, data_dir, mqtt, http, p2p, log_level, log_file, passphrase_file;
  bool dev = false;
  unsigned io_threads = 0;
  app.add_option("--config", config_file, "TOML config file")->check(CLI::ExistingFile);
  app.add_option("--data-dir", data_dir,
                 "data directory (default $IMET_HOME or ~/.imet; ~/.imet/dev with --dev)");
  app.add_flag("--dev", dev, "run a single-node development network (unencrypted node key)");
  app.add_option("--mqtt", mqtt, "MQTT listen address HOST:PORT (default 0.0.0.0:1883)");
  app.add_option("--http", http, "HTTP API listen address HOST:PORT (default 127.0.0.1:8645)");
  app.add_option("--p2p", p2p, "P2P listen address HOST:PORT (default 0.0.0.0:7645)");
  std::vector<std::string> seeds;
  app.add_option("--seed", seeds, "peer to dial, HOST:PORT (repeatable; adds to p2p.seeds)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off (default info)");
  app.add_option("--log-file", log_file, "log file (default <data-dir>/imetd.log)");
  std::string genesis_file;
  app.add_option("--genesis", genesis_file,
                 "genesis file (default <data-dir>/genesis.json; a --dev node creates one)");
  app.add_option("--passphrase-file", passphrase_file,
                 "file whose first line is the node key passphrase (else $IMET_PASSPHRASE)");
  app.add_option("--io-threads", io_threads, "I/O threads (default: one per core)");
  CLI11_PARSE(app, argc, argv);

  auto fail = [](const imet::util::Status& st) {
    std::cerr << "imetd: " << st.message() << "\n";
    return 2;
  };
  NodeConfig config;
  if (!config_file.empty()) {
    auto loaded = imet::node::load_config_file(config_file, config);
    if (!loaded.ok()) return fail(loaded.status());
    config = std::move(loaded).value();
  }
  if (dev) config.dev = true;
  if (!data_dir.empty()) config.data_dir = data_dir;
  if (!log_file.empty()) config.log_file = log_file;
  if (!passphrase_file.empty()) config.node_key_passphrase_file = passphrase_file;
  if (!genesis_file.empty()) config.genesis_file = genesis_file;
  if (app.count("--io-threads")) config.io_threads = io_threads;
  if (!log_level.empty()) {
    auto l = imet::util::log::parse_level(log_level);
    if (!l.ok()) return fail(l.status().with_context("--log-level"));
    config.log_level = *l;
  }
  struct {
    const std::string& text;
    imet::node::HostPort& target;
    const char* flag;
  } addrs[] = {
      {mqtt, config.mqtt, "--mqtt"}, {http, config.http, "--http"}, {p2p, config.p2p, "--p2p"}};
  for (auto& a : addrs) {
    if (a.text.empty()) continue;
    auto hp = imet::node::parse_host_port(a.text);
    if (!hp.ok()) return fail(hp.status().with_context(a.flag));
    a.target = *hp;
  }
  for (const std::string& seed : seeds) {
    auto hp = imet::node::parse_host_port(seed);
    if (!hp.ok()) return fail(hp.status().with_context("--seed"));
    config.p2p_seeds.push_back(*hp);
  }
  if (auto st = config.validate(); !st.ok()) return fail(st);
  return imet::node::run_node(std::move(config));
}
