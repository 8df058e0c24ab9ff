#include "node/config.h"

#include <charconv>
#include <cstdlib>
#include <set>

#include <toml++/toml.h>

#include "mqtt/topic/validation.h"
#include "util/fs.h"

namespace imet::node {

namespace {

std::string where(const toml::node& n) {
  const auto& src = n.source();
  return src.begin ? " (line " + std::to_string(src.begin.line) + ")" : "";
}

class Reader {
 public:
  Reader(const toml::table& root, std::string origin) : root_(root), origin_(std::move(origin)) {}

  util::Status error(const std::string& key, const std::string& what, const toml::node* n) const {
    return util::invalid_argument("config " + origin_ + ": '" + key + "' " + what +
                                  (n ? where(*n) : ""));
  }

  util::Status string(const toml::table& t, const std::string& prefix, const char* key,
                      std::string& out) {
    mark(prefix, key);
    const toml::node* n = t.get(key);
    if (n == nullptr) return {};
    if (!n->is_string()) return error(prefix + key, "must be a string", n);
    out = n->as_string()->get();
    return {};
  }

  util::Status boolean(const toml::table& t, const std::string& prefix, const char* key,
                       bool& out) {
    mark(prefix, key);
    const toml::node* n = t.get(key);
    if (n == nullptr) return {};
    if (!n->is_boolean()) return error(prefix + key, "must be true or false", n);
    out = n->as_boolean()->get();
    return {};
  }

  template <typename Int>
  util::Status integer(const toml::table& t, const std::string& prefix, const char* key, Int& out,
                       int64_t min, int64_t max) {
    mark(prefix, key);
    const toml::node* n = t.get(key);
    if (n == nullptr) return {};
    if (!n->is_integer()) return error(prefix + key, "must be an integer", n);
    const int64_t v = n->as_integer()->get();
    if (v < min || v > max) {
      return error(prefix + key,
                   "must be between " + std::to_string(min) + " and " + std::to_string(max), n);
    }
    out = static_cast<Int>(v);
    return {};
  }

  util::Status uint(const toml::table& t, const std::string& prefix, const char* key, unsigned& out,
                    int64_t max) {
    mark(prefix, key);
    const toml::node* n = t.get(key);
    if (n == nullptr) return {};
    if (!n->is_integer()) return error(prefix + key, "must be an integer", n);
    int64_t v = n->as_integer()->get();
    if (v < 0 || v > max) {
      return error(prefix + key, "must be between 0 and " + std::to_string(max), n);
    }
    out = static_cast<unsigned>(v);
    return {};
  }

  util::Status host_port(const toml::table& t, const std::string& prefix, const char* key,
                         HostPort& out) {
    std::string s;
    IMET_TRY(string(t, prefix, key, s));
    if (t.get(key) == nullptr) return {};
    auto hp = parse_host_port(s);
    if (!hp.ok()) return error(prefix + key, hp.status().message(), t.get(key));
    out = *hp;
    return {};
  }

  // A sub-table that may be absent; error if present with another type.
  util::Result<const toml::table*> table(const char* key) {
    known_tables_.insert(key);
    const toml::node* n = root_.get(key);
    if (n == nullptr) return static_cast<const toml::table*>(nullptr);
    if (!n->is_table()) return error(key, "must be a table ([" + std::string(key) + "])", n);
    return n->as_table();
  }

  // Every key present in the file must have been read.
  util::Status check_unknown() const {
    for (const auto& [k, v] : root_) {
      std::string key(k.str());
      if (v.is_table() && known_tables_.count(key)) {
        for (const auto& [k2, v2] : *v.as_table()) {
          std::string full = key + "." + std::string(k2.str());
          if (!known_.count(full)) return error(full, "is not a known setting", &v2);
        }
      } else if (!known_.count(key)) {
        return error(key, "is not a known setting", &v);
      }
    }
    return {};
  }

  void mark_key(const std::string& prefix, const char* key) { mark(prefix, key); }

 private:
  void mark(const std::string& prefix, const char* key) { known_.insert(prefix + key); }
  const toml::table& root_;
  std::string origin_;
  std::set<std::string> known_;
  std::set<std::string> known_tables_;
};

util::Status optional_host_port(Reader& r, const toml::table& t, const std::string& prefix,
                                const char* key, std::optional<HostPort>& out) {
  HostPort hp;
  IMET_TRY(r.host_port(t, prefix, key, hp));
  if (t.get(key) != nullptr) out = hp;
  return {};
}

// [mqtt] TLS and WebSocket listeners: tls_listen, ws_listen, wss_listen, ws_path, tls_*.
util::Status read_mqtt_transports(Reader& r, const toml::table& t, NodeConfig& c) {
  const std::string p = "mqtt.";
  IMET_TRY(optional_host_port(r, t, p, "tls_listen", c.mqtt_tls_listen));
  IMET_TRY(optional_host_port(r, t, p, "ws_listen", c.mqtt_ws_listen));
  IMET_TRY(optional_host_port(r, t, p, "wss_listen", c.mqtt_wss_listen));
  IMET_TRY(r.string(t, p, "ws_path", c.mqtt_ws_path));
  const std::string& path = c.mqtt_ws_path;
  if (path.empty() || path.front() != '/' || path.find_first_of("?# \t\r\n") != std::string::npos) {
    return r.error("mqtt.ws_path", "must be a URL path starting with '/' (for example \"/mqtt\")",
                   t.get("ws_path"));
  }
  IMET_TRY(r.string(t, p, "tls_cert_file", c.mqtt_tls.cert_file));
  IMET_TRY(r.string(t, p, "tls_key_file", c.mqtt_tls.key_file));
  IMET_TRY(r.string(t, p, "tls_ca_file", c.mqtt_tls.ca_file));
  IMET_TRY(r.boolean(t, p, "tls_require_client_cert", c.mqtt_tls.require_client_cert));
  const toml::node* tls_listener =
      t.get("tls_listen") != nullptr ? t.get("tls_listen") : t.get("wss_listen");
  if (tls_listener != nullptr) {
    if (c.mqtt_tls.cert_file.empty()) {
      return r.error("mqtt.tls_cert_file", "must be set when mqtt.tls_listen or mqtt.wss_listen is",
                     tls_listener);
    }
    if (c.mqtt_tls.key_file.empty()) {
      return r.error("mqtt.tls_key_file", "must be set when mqtt.tls_listen or mqtt.wss_listen is",
                     tls_listener);
    }
  }
  if (c.mqtt_tls.require_client_cert && c.mqtt_tls.ca_file.empty()) {
    return r.error("mqtt.tls_require_client_cert",
                   "needs mqtt.tls_ca_file (the CA that signs client certificates)",
                   t.get("tls_require_client_cert"));
  }
  return {};
}

// tier_rules = [ { filter = "sensors/#", tier = 3 }, ... ]: the tier of messages from clients that
// do not set the imet-tier user property (3.1.1 devices); the first matching filter wins.
util::Status read_tier_rules(Reader& r, const toml::table& t, mqtt::broker::BrokerConfig& b) {
  r.mark_key("mqtt.", "tier_rules");
  const toml::node* n = t.get("tier_rules");
  if (n == nullptr) return {};
  const toml::array* arr = n->as_array();
  if (arr == nullptr) return r.error("mqtt.tier_rules", "must be an array of tables", n);
  for (const toml::node& item : *arr) {
    const toml::table* rule = item.as_table();
    const toml::node* filter = rule ? rule->get("filter") : nullptr;
    const toml::node* tier = rule ? rule->get("tier") : nullptr;
    if (rule == nullptr || filter == nullptr || !filter->is_string() || tier == nullptr ||
        !tier->is_integer() || rule->size() != 2) {
      return r.error("mqtt.tier_rules",
                     "entries must be { filter = \"topic/filter\", tier = 1|2|3 }", &item);
    }
    const std::string f = filter->as_string()->get();
    const int64_t v = tier->as_integer()->get();
    if (v < 1 || v > 3) return r.error("mqtt.tier_rules", "tier must be 1, 2 or 3", tier);
    if (!mqtt::validate_topic_filter(f).ok()) {
      return r.error("mqtt.tier_rules", "'" + f + "' is not a valid topic filter", filter);
    }
    b.tier_rules.push_back({f, static_cast<uint8_t>(v)});
  }
  return {};
}

util::Status read_mqtt(Reader& r, const toml::table& t, NodeConfig& c) {
  const std::string p = "mqtt.";
  mqtt::broker::BrokerConfig& b = c.broker;
  constexpr int64_t kU32 = 0xFFFFFFFF;
  IMET_TRY(r.host_port(t, p, "listen", c.mqtt));
  bool anonymous = false;
  IMET_TRY(r.boolean(t, p, "allow_anonymous", anonymous));
  if (t.get("allow_anonymous") != nullptr) c.mqtt_allow_anonymous = anonymous;
  IMET_TRY(r.string(t, p, "password_file", c.mqtt_password_file));
  IMET_TRY(r.string(t, p, "acl_file", c.mqtt_acl_file));
  IMET_TRY(r.integer(t, p, "max_keepalive", b.max_keepalive, 1, 65535));
  IMET_TRY(r.integer(t, p, "max_connections", b.max_connections, 0, kU32));
  IMET_TRY(r.integer(t, p, "max_connections_per_ip", b.max_connections_per_ip, 0, kU32));
  int64_t connect_timeout_ms = b.connect_timeout.count();
  IMET_TRY(r.integer(t, p, "connect_timeout_ms", connect_timeout_ms, 100, 3'600'000));
  b.connect_timeout = std::chrono::milliseconds(connect_timeout_ms);
  IMET_TRY(r.integer(t, p, "max_packet_size", b.max_packet_size, 64, 268'435'460));
  IMET_TRY(r.integer(t, p, "max_topic_length", b.max_topic_length, 1, 65535));
  IMET_TRY(r.integer(t, p, "max_topic_levels", b.max_topic_levels, 1, 65535));
  IMET_TRY(r.integer(t, p, "receive_maximum", b.receive_maximum, 1, 65535));
  IMET_TRY(r.integer(t, p, "topic_alias_maximum", b.topic_alias_maximum, 0, 65535));
  IMET_TRY(r.integer(t, p, "max_inflight", b.max_inflight, 1, 65535));
  IMET_TRY(r.integer(t, p, "max_queued_messages", b.max_queued_messages, 1, kU32));
  IMET_TRY(r.integer(t, p, "max_queued_bytes", b.max_queued_bytes, 1024, int64_t{1} << 40));
  IMET_TRY(r.boolean(t, p, "queue_qos0_offline", b.queue_qos0_offline));
  IMET_TRY(r.integer(t, p, "max_session_expiry", b.max_session_expiry, 0, kU32));
  IMET_TRY(r.boolean(t, p, "retain_available", b.retain_available));
  int64_t sys_interval = b.sys_interval.count();
  IMET_TRY(r.integer(t, p, "sys_interval", sys_interval, 0, 86400));
  b.sys_interval = std::chrono::seconds(sys_interval);
  IMET_TRY(r.integer(t, p, "default_tier", b.default_tier, 1, 3));
  IMET_TRY(read_tier_rules(r, t, b));
  IMET_TRY(r.integer(t, p, "commit_window_us", c.mqtt_commit_window_us, 0, 100'000));
  IMET_TRY(r.integer(t, p, "log_segment_bytes", c.msglog_segment_bytes, 4096, int64_t{1} << 40));
  IMET_TRY(r.integer(t, p, "log_retention_bytes", c.msglog_retention_bytes, 0, int64_t{1} << 50));
  IMET_TRY(r.integer(t, p, "log_retention_hours", c.msglog_retention_hours, 0, 24 * 3650));
  IMET_TRY(read_mqtt_transports(r, t, c));
  return {};
}

// [p2p]: listen, seeds = ["HOST:PORT", ...], max_outbound, max_inbound, max_inbound_per_netgroup,
// ban_seconds.
util::Status read_p2p(Reader& r, const toml::table& t, NodeConfig& c) {
  IMET_TRY(r.host_port(t, "p2p.", "listen", c.p2p));
  r.mark_key("p2p.", "seeds");
  if (const toml::node* n = t.get("seeds")) {
    const toml::array* arr = n->as_array();
    if (arr == nullptr) return r.error("p2p.seeds", "must be an array of \"HOST:PORT\" strings", n);
    c.p2p_seeds.clear();
    for (const toml::node& item : *arr) {
      if (!item.is_string()) return r.error("p2p.seeds", "entries must be strings", &item);
      auto hp = parse_host_port(item.as_string()->get());
      if (!hp.ok()) return r.error("p2p.seeds", hp.status().message(), &item);
      c.p2p_seeds.push_back(*hp);
    }
  }
  IMET_TRY(r.uint(t, "p2p.", "max_outbound", c.p2p_max_outbound, 1000));
  IMET_TRY(r.uint(t, "p2p.", "max_inbound", c.p2p_max_inbound, 10000));
  IMET_TRY(
      r.integer(t, "p2p.", "max_inbound_per_netgroup", c.p2p_max_inbound_per_netgroup, 1, 10000));
  IMET_TRY(r.integer(t, "p2p.", "ban_seconds", c.p2p_ban_seconds, 0, 30 * 24 * 3600));
  return {};
}

// [mempool]: admission_slots (0 = off), admission_floor.
util::Status read_mempool(Reader& r, const toml::table& t, NodeConfig& c) {
  IMET_TRY(r.integer(t, "mempool.", "admission_slots", c.mempool_admission.slots, 0, 1000));
  IMET_TRY(r.integer(t, "mempool.", "admission_floor", c.mempool_admission.floor, 1, 10'000'000));
  return {};
}

util::Status read_into(Reader& r, const toml::table& root, NodeConfig& c) {
  IMET_TRY(r.string(root, "", "data_dir", c.data_dir));
  IMET_TRY(r.boolean(root, "", "dev", c.dev));
  IMET_TRY(r.uint(root, "", "io_threads", c.io_threads, 256));
  IMET_TRY(r.boolean(root, "", "io_adaptive", c.io_adaptive));
  IMET_TRY(r.string(root, "", "genesis_file", c.genesis_file));
  IMET_ASSIGN_OR_RETURN(const toml::table* log, r.table("log"));
  if (log) {
    std::string level;
    IMET_TRY(r.string(*log, "log.", "level", level));
    if (!level.empty()) {
      auto l = util::log::parse_level(level);
      if (!l.ok()) return r.error("log.level", l.status().message(), log->get("level"));
      c.log_level = *l;
    }
    IMET_TRY(r.string(*log, "log.", "file", c.log_file));
  }
  IMET_ASSIGN_OR_RETURN(const toml::table* key, r.table("node_key"));
  if (key) {
    IMET_TRY(r.string(*key, "node_key.", "passphrase_file", c.node_key_passphrase_file));
    IMET_TRY(r.boolean(*key, "node_key.", "unencrypted", c.unencrypted_node_key));
  }
  IMET_ASSIGN_OR_RETURN(const toml::table* mqtt, r.table("mqtt"));
  if (mqtt) IMET_TRY(read_mqtt(r, *mqtt, c));
  IMET_ASSIGN_OR_RETURN(const toml::table* http, r.table("http"));
  if (http) IMET_TRY(r.host_port(*http, "http.", "listen", c.http));
  IMET_ASSIGN_OR_RETURN(const toml::table* p2p, r.table("p2p"));
  if (p2p) IMET_TRY(read_p2p(r, *p2p, c));
  IMET_ASSIGN_OR_RETURN(const toml::table* mempool, r.table("mempool"));
  if (mempool) IMET_TRY(read_mempool(r, *mempool, c));
  return r.check_unknown();
}

}  // namespace

std::string HostPort::to_string() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

util::Result<HostPort> parse_host_port(std::string_view text) {
  HostPort hp;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return util::invalid_argument("'" + std::string(text) + "' is not [IPv6]:PORT");
    }
    hp.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return util::invalid_argument("'" + std::string(text) + "' is not HOST:PORT");
    }
    hp.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (hp.host.find(':') != std::string::npos) {
      return util::invalid_argument("'" + std::string(text) +
                                    "': write IPv6 addresses as [ADDRESS]:PORT");
    }
  }
  if (hp.host.empty()) {
    return util::invalid_argument("'" + std::string(text) + "' has no host (use 0.0.0.0 for all)");
  }
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return util::invalid_argument("'" + std::string(text) + "' has an invalid port (1-65535)");
  }
  hp.port = static_cast<uint16_t>(port);
  return hp;
}

std::string default_data_dir(bool dev) {
  std::string base;
  if (const char* home = std::getenv("IMET_HOME"); home != nullptr && *home != '\0') {
    base = home;
  } else {
    const char* h = std::getenv("HOME");
    base = std::string(h != nullptr ? h : ".") + "/.imet";
  }
  return dev ? base + "/dev" : base;
}

void NodeConfig::finalize() {
  if (data_dir.empty()) data_dir = default_data_dir(dev);
  if (log_file.empty()) log_file = data_dir + "/imetd.log";
  if (genesis_file.empty()) genesis_file = data_dir + "/genesis.json";
  if (dev) unencrypted_node_key = true;
}

util::Status NodeConfig::validate() const {
  if (mqtt.port == p2p.port && mqtt.host == p2p.host) {
    return util::invalid_argument("mqtt and p2p listen on the same address " + mqtt.to_string());
  }
  if (mqtt == http || http == p2p) {
    return util::invalid_argument("http listens on the same address as another service: " +
                                  http.to_string());
  }
  // The MQTT TLS and WebSocket listeners share no address with each other or another service.
  const std::pair<const char*, const std::optional<HostPort>*> extra[] = {
      {"mqtt.tls_listen", &mqtt_tls_listen},
      {"mqtt.ws_listen", &mqtt_ws_listen},
      {"mqtt.wss_listen", &mqtt_wss_listen}};
  for (size_t i = 0; i < std::size(extra); ++i) {
    if (!*extra[i].second) continue;
    const HostPort& a = **extra[i].second;
    for (const HostPort* other : {&mqtt, &http, &p2p}) {
      if (a == *other) {
        return util::invalid_argument(
            std::string(extra[i].first) +
            " listens on the same address as another service: " + a.to_string());
      }
    }
    for (size_t j = i + 1; j < std::size(extra); ++j) {
      if (*extra[j].second && a == **extra[j].second) {
        return util::invalid_argument(std::string(extra[i].first) + " and " + extra[j].first +
                                      " listen on the same address " + a.to_string());
      }
    }
  }
  return {};
}

util::Result<NodeConfig> parse_config(std::string_view text, const std::string& origin,
                                      NodeConfig base) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    return util::invalid_argument(
        "config " + origin + " is not valid TOML (line " + std::to_string(src.begin.line) +
        ", column " + std::to_string(src.begin.column) + "): " + std::string(e.description()));
  }
  Reader reader(root, origin);
  IMET_TRY(read_into(reader, root, base));
  IMET_TRY(base.validate());
  return base;
}

util::Result<NodeConfig> load_config_file(const std::string& path, NodeConfig base) {
  auto text = util::read_file(path, 1 << 20);
  if (!text.ok()) return text.status().with_context("cannot read config file");
  return parse_config(*text, "'" + path + "'", std::move(base));
}

}  // namespace imet::node
