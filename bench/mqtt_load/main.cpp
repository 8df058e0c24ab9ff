// imet-mqtt-load: a minimal, low-overhead MQTT 3.1.1 load generator for benchmarking brokers
// (IMET's imetd and mosquitto side by side: scripts/bench-mqtt.sh). One thread, epoll,
// non-blocking sockets, batched reads and writes, no allocation per message, so that on a small
// machine the generator takes far less CPU than the broker it measures.
//
//   imet-mqtt-load fanin   --pubs 4 --subs 1 --qos 0|1 --size 64 (--count N | --duration S)
//   imet-mqtt-load fanout  --pubs 1 --subs 100 ...
//   imet-mqtt-load latency --rate 5000 --duration S --qos 0|1
//   imet-mqtt-load idle    --conns N [--hold S]
//   imet-mqtt-load --selftest [--port P]
// Every mode prints one JSON line with its results on stdout (idle: once all connections are
// up, then it holds them). Exit status: 0 clean, 1 errors or losses, 2 bad usage.
// Thread-safety: single-threaded program. Invariants: see load_engine.h and idle_conns.h.
#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include "idle_conns.h"
#include "load_engine.h"

namespace {

using imet::bench::mqtt_load::IdleConfig;
using imet::bench::mqtt_load::LoadConfig;

void print_line(const nlohmann::json& j) {
  std::cout << j.dump() << std::endl;  // flushed: scripts wait for this line
}

void add_load_options(CLI::App* app, LoadConfig& c) {
  app->add_option("--pubs", c.pubs, "publisher connections")->capture_default_str();
  app->add_option("--subs", c.subs, "subscriber connections")->capture_default_str();
  app->add_option("--qos", c.qos, "QoS of publications and subscriptions (0 or 1)")
      ->capture_default_str();
  app->add_option("--size", c.size, "payload bytes (>= 20)")->capture_default_str();
  app->add_option("--count", c.count, "total messages over all publishers (instead of --duration)");
  app->add_option("--duration", c.duration_s, "seconds of publishing")->capture_default_str();
  app->add_option("--rate", c.rate, "total messages per second (0: as fast as flow control allows)")
      ->capture_default_str();
  app->add_option("--window", c.window,
                  "deliveries (message x subscriber) published but not yet received")
      ->capture_default_str();
  app->add_option("--inflight", c.inflight, "QoS 1: unacknowledged PUBLISH per publisher")
      ->capture_default_str();
  app->add_option("--batch", c.batch, "messages built per write by a publisher")
      ->capture_default_str();
  app->add_option("--drain-timeout", c.drain_timeout_s,
                  "seconds without progress after publishing before giving up on the rest")
      ->capture_default_str();
  app->add_option("--connect-timeout", c.connect_timeout_s, "seconds to connect and subscribe")
      ->capture_default_str();
  app->add_option("--topic", c.topic, "topic (default imet-bench/<pid>/t)");
}

int run_one(LoadConfig cfg) {
  const std::string pid = std::to_string(getpid());
  if (cfg.topic.empty()) cfg.topic = "imet-bench/" + pid + "/t";
  if (cfg.client_prefix.empty()) cfg.client_prefix = "imlg-" + pid + "-" + cfg.mode;
  auto r = imet::bench::mqtt_load::run_load(cfg);
  if (!r.ok()) {
    print_line({{"mode", cfg.mode}, {"ok", false}, {"error", r.status().message()}});
    std::cerr << "imet-mqtt-load: " << r.status().to_string() << "\n";
    return 1;
  }
  print_line(r->json);
  return r->clean ? 0 : 1;
}

// A tiny fan-in at QoS 0 and at QoS 1 against the given broker: everything sent must arrive once.
int selftest(const LoadConfig& base) {
  int failures = 0;
  for (uint8_t qos : {0, 1}) {
    LoadConfig c = base;
    c.mode = "selftest";
    c.pubs = 4;
    c.subs = 2;
    c.qos = qos;
    c.count = 4000;
    c.window = 500;
    c.inflight = 64;
    c.batch = 50;
    c.topic = "imet-bench/" + std::to_string(getpid()) + "/selftest" + std::to_string(qos);
    if (run_one(c) != 0) ++failures;
  }
  std::cerr << "imet-mqtt-load selftest: " << (failures == 0 ? "ok" : "FAILED") << "\n";
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"imet-mqtt-load: MQTT 3.1.1 load generator (one JSON line of results on stdout)"};
  std::string host = "127.0.0.1";
  uint16_t port = 1883;
  bool self = false;
  app.add_option("--host", host, "broker IPv4 address")->capture_default_str();
  app.add_option("--port", port, "broker MQTT port")->capture_default_str();
  app.add_flag("--selftest", self, "run a tiny fan-in at QoS 0 and 1 and check delivery");
  app.require_subcommand(0, 1);
  app.fallthrough();  // --host/--port also after the mode

  LoadConfig fanin;
  fanin.mode = "fanin";
  auto* fanin_cmd = app.add_subcommand("fanin", "P publishers -> S subscribers on one topic");
  add_load_options(fanin_cmd, fanin);

  LoadConfig fanout;
  fanout.mode = "fanout";
  fanout.pubs = 1;
  fanout.subs = 100;
  auto* fanout_cmd =
      app.add_subcommand("fanout", "P publishers -> S subscribers (defaults 1 -> 100)");
  add_load_options(fanout_cmd, fanout);

  LoadConfig latency;
  latency.mode = "latency";
  latency.pubs = 1;
  latency.subs = 1;
  latency.rate = 5000;
  auto* latency_cmd =
      app.add_subcommand("latency", "fixed-rate publishing; p50/p90/p99/max delivery latency");
  add_load_options(latency_cmd, latency);

  IdleConfig idle;
  auto* idle_cmd = app.add_subcommand("idle", "open N idle connections and hold them");
  idle_cmd->add_option("--conns", idle.conns, "connections")->capture_default_str();
  idle_cmd->add_option("--keepalive", idle.keepalive_s, "CONNECT keepalive seconds (0: none)")
      ->capture_default_str();
  idle_cmd->add_option("--src-addrs", idle.src_addrs, "source addresses 127.0.0.1..127.0.0.K")
      ->capture_default_str();
  idle_cmd->add_option("--parallel", idle.parallel, "connects in progress at once")
      ->capture_default_str();
  idle_cmd->add_option("--connect-timeout", idle.connect_timeout_s, "seconds")
      ->capture_default_str();
  idle_cmd->add_option("--hold", idle.hold_s, "seconds to hold (default: until SIGTERM/SIGINT)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  for (LoadConfig* c : {&fanin, &fanout, &latency}) {
    c->host = host;
    c->port = port;
  }
  if (self) return selftest(fanin);
  if (fanin_cmd->parsed()) return run_one(fanin);
  if (fanout_cmd->parsed()) return run_one(fanout);
  if (latency_cmd->parsed()) return run_one(latency);
  if (idle_cmd->parsed()) {
    idle.host = host;
    idle.port = port;
    idle.client_prefix = "imlg-" + std::to_string(getpid());
    auto r = imet::bench::mqtt_load::run_idle(idle, print_line);
    if (!r.ok()) {
      print_line({{"mode", "idle"}, {"ok", false}, {"error", r.status().message()}});
      std::cerr << "imet-mqtt-load: " << r.status().to_string() << "\n";
      return 1;
    }
    std::cerr << "imet-mqtt-load idle: released; " << (*r)["closed_during_hold"].get<uint32_t>()
              << " connection(s) were closed by the broker while held\n";
    return (*r)["ok"].get<bool>() ? 0 : 1;
  }
  std::cerr << app.help();
  return 2;
}
