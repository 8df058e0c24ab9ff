#include "wallet/testnet_command.h"

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/address.h"
#include "ledger/genesis.h"
#include "util/fs.h"
#include "wallet/key_file.h"
#include "wallet/node_client.h"

namespace imet::wallet {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kManifest = "testnet.json";

struct NodeEntry {
  std::string name, dir, address;
  uint16_t p2p = 0, http = 0, mqtt = 0;
};

struct Manifest {
  std::string chain_id;
  uint32_t slot_ms = 0;
  std::vector<NodeEntry> nodes;
};

std::string resolve_dir(const TestnetOptions& o) {
  return fs::absolute(o.dir.empty() ? default_testnet_dir() : o.dir).lexically_normal().string();
}

std::string addr(uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

util::Result<Manifest> read_manifest(const std::string& dir) {
  auto text = util::read_file(dir + "/" + kManifest, 1 << 20);
  if (!text.ok()) {
    if (text.status().code() == util::StatusCode::kNotFound) {
      return util::not_found("no testnet in " + dir + " (create one with `imet testnet start`)");
    }
    return text.status();
  }
  json j = json::parse(*text, nullptr, false);
  Manifest m;
  try {
    m.chain_id = j.at("chain_id").get<std::string>();
    m.slot_ms = j.at("slot_ms").get<uint32_t>();
    for (const json& n : j.at("nodes")) {
      m.nodes.push_back({n.at("name").get<std::string>(), n.at("dir").get<std::string>(),
                         n.at("address").get<std::string>(), n.at("p2p").get<uint16_t>(),
                         n.at("http").get<uint16_t>(), n.at("mqtt").get<uint16_t>()});
    }
  } catch (const std::exception& e) {
    return util::corruption(dir + "/" + kManifest + " is damaged: " + e.what());
  }
  return m;
}

std::string manifest_json(const Manifest& m) {
  json nodes = json::array();
  for (const NodeEntry& n : m.nodes) {
    nodes.push_back({{"name", n.name},
                     {"dir", n.dir},
                     {"address", n.address},
                     {"p2p", n.p2p},
                     {"http", n.http},
                     {"mqtt", n.mqtt}});
  }
  return json{{"chain_id", m.chain_id}, {"slot_ms", m.slot_ms}, {"nodes", nodes}}.dump(2) + "\n";
}

// The running imetd of a node, if any (pid file + the process is alive and is an imetd).
std::optional<pid_t> running_pid(const NodeEntry& n) {
  auto text = util::read_file(n.dir + "/imetd.pid", 64);
  if (!text.ok()) return std::nullopt;
  pid_t pid = static_cast<pid_t>(std::atol(text->c_str()));
  if (pid <= 0 || ::kill(pid, 0) != 0) return std::nullopt;
  auto cmd = util::read_file("/proc/" + std::to_string(pid) + "/cmdline", 1 << 16);
  if (!cmd.ok() || cmd->find("imetd") == std::string::npos) return std::nullopt;
  return pid;
}

std::string find_imetd(const TestnetOptions& o) {
  if (!o.imetd.empty()) return o.imetd;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path sibling = self.parent_path() / "imetd";
    if (fs::exists(sibling, ec)) return sibling.string();
  }
  return "imetd";  // execvp searches PATH
}

util::Result<pid_t> launch(const std::string& imetd, const NodeEntry& n) {
  const std::string config = n.dir + "/imetd.toml";
  const std::string out = n.dir + "/imetd.out";
  pid_t pid = ::fork();
  if (pid < 0) return util::internal_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    ::setsid();  // own process group: a Ctrl-C in the launching shell does not stop the network
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    if (null >= 0) ::dup2(null, 0);
    const char* argv[] = {imetd.c_str(), "--config", config.c_str(), nullptr};
    ::execvp(argv[0], const_cast<char* const*>(argv));
    std::fprintf(stderr, "imet testnet: cannot run %s: %s\n", imetd.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  std::ofstream(n.dir + "/imetd.pid", std::ios::trunc) << pid << "\n";
  return pid;
}

// Waits until the node's API answers or its process exits.
util::Status wait_ready(const NodeEntry& n, pid_t pid) {
  auto client = NodeClient::connect_to("http://" + addr(n.http));
  if (!client.ok()) return client.status();
  for (int i = 0; i < 150; ++i) {
    if (client->get("/v1/status").ok()) return {};
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) {
      return util::unavailable(n.name + " exited during start-up; see " + n.dir + "/imetd.out");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return util::unavailable(n.name + " did not answer on " + addr(n.http) + " within 15 s; see " +
                           n.dir + "/imetd.out");
}

std::string node_config(const Manifest& m, const NodeEntry& n, const std::string& genesis) {
  std::string seeds;
  for (const NodeEntry& other : m.nodes) {
    if (other.name == n.name) continue;
    seeds += (seeds.empty() ? "\"" : ", \"") + addr(other.p2p) + "\"";
  }
  return "# imetd config of testnet node " + n.name + ", written by `imet testnet start`.\n" +
         "data_dir = \"" + n.dir + "\"\n" + "genesis_file = \"" + genesis + "\"\n" +
         "[node_key]\nunencrypted = true\n" + "[http]\nlisten = \"" + addr(n.http) + "\"\n" +
         "[mqtt]\nlisten = \"" + addr(n.mqtt) + "\"\nallow_anonymous = true\n" +
         "[p2p]\nlisten = \"" + addr(n.p2p) + "\"\nseeds = [" + seeds + "]\n";
}

// Testnet genesis (ledger::make_testnet_genesis): every node key is a witness with an equal share
// of the non-pool coins, part of it staked and voting for itself.
ledger::Genesis make_genesis(const std::vector<ledger::Address>& delegates, uint32_t slot_ms) {
  const auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  return ledger::make_testnet_genesis(delegates, now, "imet-testnet", slot_ms);
}

util::Result<Manifest> create_network(const TestnetOptions& o, const std::string& dir) {
  if (o.nodes < 1 || o.nodes > 100) return util::invalid_argument("--nodes must be 1 to 100");
  if (o.slot_ms < 100) return util::invalid_argument("--slot-ms must be at least 100");
  if (uint32_t{o.base_port} + 10 * o.nodes > 65535) {
    return util::invalid_argument("--base-port too high for " + std::to_string(o.nodes) + " nodes");
  }
  IMET_TRY(util::ensure_dir(dir, 0700));
  Manifest m;
  m.slot_ms = o.slot_ms;
  std::vector<ledger::Address> delegates;
  for (unsigned i = 0; i < o.nodes; ++i) {
    NodeEntry n;
    n.name = "node" + std::to_string(i);
    n.dir = dir + "/" + n.name;
    n.p2p = static_cast<uint16_t>(o.base_port + 10 * i);
    n.http = static_cast<uint16_t>(n.p2p + 1);
    n.mqtt = static_cast<uint16_t>(n.p2p + 2);
    IMET_TRY(util::ensure_dir(n.dir, 0700));
    crypto::SigningKey key = crypto::SigningKey::generate();
    IMET_TRY(util::write_file_new(n.dir + "/node_key.json", serialize_key_file(plain_key(key))));
    n.address = crypto::address_of(key.public_key());
    delegates.push_back(crypto::address_bytes_of(key.public_key()));
    m.nodes.push_back(std::move(n));
  }
  ledger::Genesis g = make_genesis(delegates, o.slot_ms);
  IMET_TRY(g.validate());
  m.chain_id = g.chain_id;
  const std::string genesis = dir + "/genesis.json";
  IMET_TRY(util::write_file_new(genesis, ledger::genesis_to_json(g), 0644));
  for (const NodeEntry& n : m.nodes) {
    IMET_TRY(util::write_file_new(n.dir + "/imetd.toml", node_config(m, n, genesis), 0644));
  }
  IMET_TRY(util::write_file_new(dir + "/" + kManifest, manifest_json(m), 0644));
  return m;
}

util::Status check_node_index(const TestnetOptions& o, const Manifest& m) {
  if (o.node && *o.node >= m.nodes.size()) {
    return util::invalid_argument("--node " + std::to_string(*o.node) + ": the network has " +
                                  std::to_string(m.nodes.size()) + " nodes (0-based)");
  }
  return {};
}

}  // namespace

std::string default_testnet_dir() {
  if (const char* home = std::getenv("IMET_HOME"); home && *home) {
    return std::string(home) + "/testnet";
  }
  const char* h = std::getenv("HOME");
  return std::string(h ? h : ".") + "/.imet/testnet";
}

util::Status testnet_start(const TestnetOptions& o, std::ostream& out) {
  const std::string dir = resolve_dir(o);
  auto existing = read_manifest(dir);
  if (existing.ok() && o.reset) {
    for (const NodeEntry& n : existing->nodes) {
      if (running_pid(n)) {
        return util::failed_precondition(n.name + " is running; `imet testnet stop` first");
      }
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec) return util::internal_error("cannot remove " + dir + ": " + ec.message());
    existing = util::not_found("reset");
  }
  Manifest m;
  if (existing.ok()) {
    m = std::move(existing).value();
    out << "testnet in " << dir << " exists (" << m.nodes.size() << " nodes, slot " << m.slot_ms
        << " ms); starting the nodes that are not running\n";
  } else if (existing.status().code() == util::StatusCode::kNotFound) {
    if (fs::exists(dir) && !fs::is_empty(dir)) {
      return util::failed_precondition(dir + " exists and is not a testnet; choose --dir");
    }
    IMET_ASSIGN_OR_RETURN(m, create_network(o, dir));
    out << "created testnet " << m.chain_id << " in " << dir << " (" << m.nodes.size()
        << " witnesses, slot " << m.slot_ms << " ms)\n";
  } else {
    return existing.status();
  }
  IMET_TRY(check_node_index(o, m));
  const std::string imetd = find_imetd(o);
  std::vector<std::pair<const NodeEntry*, pid_t>> started;
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    if (o.node && *o.node != i) continue;
    const NodeEntry& n = m.nodes[i];
    if (auto pid = running_pid(n)) {
      out << n.name << " already running (pid " << *pid << ")\n";
      continue;
    }
    IMET_ASSIGN_OR_RETURN(pid_t pid, launch(imetd, n));
    started.emplace_back(&n, pid);
  }
  for (const auto& [n, pid] : started) {
    IMET_TRY(wait_ready(*n, pid));
  }
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    if (o.node && *o.node != i) continue;
    const NodeEntry& n = m.nodes[i];
    out << n.name << "  api http://" << addr(n.http) << "  mqtt " << addr(n.mqtt) << "  p2p "
        << addr(n.p2p) << "  " << n.address << "\n";
  }
  return {};
}

util::Status testnet_status(const TestnetOptions& o, std::ostream& out) {
  const std::string dir = resolve_dir(o);
  IMET_ASSIGN_OR_RETURN(Manifest m, read_manifest(dir));
  json nodes = json::array();
  for (const NodeEntry& n : m.nodes) {
    json e = {{"name", n.name},
              {"api", "http://" + addr(n.http)},
              {"mqtt", addr(n.mqtt)},
              {"p2p", addr(n.p2p)},
              {"address", n.address}};
    auto pid = running_pid(n);
    e["running"] = pid.has_value();
    if (pid) e["pid"] = *pid;
    auto client = NodeClient::connect_to("http://" + addr(n.http));
    if (pid && client.ok()) {
      auto st = client->get("/v1/status");
      if (st.ok()) {
        json s = json::parse(*st, nullptr, false);
        if (!s.is_discarded()) e["status"] = s;
      } else {
        e["error"] = st.status().message();
      }
    }
    nodes.push_back(e);
  }
  if (o.json) {
    out << json{{"dir", dir}, {"chain_id", m.chain_id}, {"slot_ms", m.slot_ms}, {"nodes", nodes}}
               .dump(2)
        << "\n";
    return {};
  }
  out << "testnet " << m.chain_id << " in " << dir << ", slot " << m.slot_ms << " ms\n";
  for (const json& e : nodes) {
    out << e["name"].get<std::string>() << "  ";
    if (!e["running"].get<bool>()) {
      out << "stopped\n";
      continue;
    }
    if (!e.contains("status")) {
      out << "running (pid " << e["pid"] << "), API not answering\n";
      continue;
    }
    const json& s = e["status"];
    out << "height " << s.value("height", 0) << "  final " << s.value("final_height", 0);
    if (s.contains("peers")) out << "  peers " << s["peers"];
    if (s.contains("sync") && s["sync"].is_object()) {
      out << "  sync " << s["sync"].value("state", std::string("?"));
    }
    out << "  api " << e["api"].get<std::string>() << "\n";
  }
  return {};
}

util::Status testnet_stop(const TestnetOptions& o, std::ostream& out) {
  const std::string dir = resolve_dir(o);
  IMET_ASSIGN_OR_RETURN(Manifest m, read_manifest(dir));
  IMET_TRY(check_node_index(o, m));
  std::vector<std::pair<const NodeEntry*, pid_t>> stopping;
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    if (o.node && *o.node != i) continue;
    const NodeEntry& n = m.nodes[i];
    auto pid = running_pid(n);
    if (!pid) continue;
    ::kill(*pid, o.kill ? SIGKILL : SIGTERM);
    stopping.emplace_back(&n, *pid);
  }
  for (const auto& [n, pid] : stopping) {
    for (int i = 0; i < 300 && ::kill(pid, 0) == 0; ++i) {
      ::waitpid(pid, nullptr, WNOHANG);  // reaps it if it is our child
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (::kill(pid, 0) == 0) {
      ::kill(pid, SIGKILL);
      out << n->name << " did not stop within 30 s: killed\n";
    } else {
      out << n->name << (o.kill ? " killed" : " stopped") << "\n";
    }
    ::unlink((n->dir + "/imetd.pid").c_str());
  }
  if (stopping.empty()) out << "nothing running\n";
  return {};
}

}  // namespace imet::wallet
