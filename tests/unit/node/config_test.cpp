#include "node/config.h"

#include <gtest/gtest.h>

namespace imet::node {
namespace {

TEST(HostPort, Parses) {
  EXPECT_EQ(parse_host_port("127.0.0.1:1883").value(), (HostPort{"127.0.0.1", 1883}));
  EXPECT_EQ(parse_host_port("[::1]:8645").value(), (HostPort{"::1", 8645}));
  EXPECT_EQ(parse_host_port("[::1]:8645").value().to_string(), "[::1]:8645");
  EXPECT_EQ(parse_host_port("localhost:65535").value().port, 65535);
  for (const char* bad : {"", "1883", ":1883", "host:", "host:0", "host:65536", "host:12x",
                          "::1:80", "[::1]80", "[::1"}) {
    EXPECT_FALSE(parse_host_port(bad).ok()) << bad;
  }
}

TEST(Config, DefaultsAndFullFile) {
  NodeConfig def;
  EXPECT_EQ(def.mqtt, (HostPort{"0.0.0.0", 1883}));
  EXPECT_EQ(def.http, (HostPort{"127.0.0.1", 8645}));
  auto c = parse_config(R"(
data_dir = "/tmp/n1"
dev = true
io_threads = 3
io_adaptive = false
[log]
level = "debug"
file = "/tmp/n1.log"
[node_key]
passphrase_file = "/etc/imet/pass"
unencrypted = false
[mqtt]
listen = "127.0.0.1:11883"
[http]
listen = "127.0.0.1:18645"
[p2p]
listen = "[::]:17645"
seeds = ["127.0.0.1:17646", "[::1]:17647"]
max_outbound = 4
max_inbound = 9
max_inbound_per_netgroup = 3
ban_seconds = 60
)",
                        "test");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->data_dir, "/tmp/n1");
  EXPECT_TRUE(c->dev);
  EXPECT_EQ(c->io_threads, 3u);
  EXPECT_FALSE(c->io_adaptive);
  EXPECT_TRUE(def.io_adaptive);
  EXPECT_EQ(c->log_level, util::log::Level::kDebug);
  EXPECT_EQ(c->log_file, "/tmp/n1.log");
  EXPECT_EQ(c->node_key_passphrase_file, "/etc/imet/pass");
  EXPECT_EQ(c->mqtt.port, 11883);
  EXPECT_EQ(c->http.port, 18645);
  EXPECT_EQ(c->p2p, (HostPort{"::", 17645}));
  ASSERT_EQ(c->p2p_seeds.size(), 2u);
  EXPECT_EQ(c->p2p_seeds[1], (HostPort{"::1", 17647}));
  EXPECT_EQ(c->p2p_max_outbound, 4u);
  EXPECT_EQ(c->p2p_max_inbound, 9u);
  EXPECT_EQ(c->p2p_max_inbound_per_netgroup, 3u);
  EXPECT_EQ(c->p2p_ban_seconds, 60u);
}

TEST(Config, InboundPerNetgroupMustBePositive) {
  EXPECT_EQ(parse_config("", "test")->p2p_max_inbound_per_netgroup, 8u);
  for (const char* bad : {"0", "10001", "\"8\""}) {
    auto c = parse_config(std::string("[p2p]\nmax_inbound_per_netgroup = ") + bad + "\n", "test");
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.status().message().find("p2p.max_inbound_per_netgroup"), std::string::npos)
        << c.status().message();
  }
}

TEST(Config, MempoolAdmission) {
  auto def = parse_config("", "test");
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->mempool_admission.slots, 2u);
  EXPECT_EQ(def->mempool_admission.floor, 2000u);
  auto c = parse_config("[mempool]\nadmission_slots = 0\nadmission_floor = 500\n", "test");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->mempool_admission.slots, 0u);
  EXPECT_EQ(c->mempool_admission.floor, 500u);
  for (const char* bad : {"admission_slots = -1", "admission_slots = 1001", "admission_floor = 0",
                          "admission_slot = 3"}) {
    auto b = parse_config(std::string("[mempool]\n") + bad + "\n", "test");
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.status().message().find("mempool.admission"), std::string::npos)
        << b.status().message();
  }
}

TEST(Config, BadSeedIsNamed) {
  auto c = parse_config("[p2p]\nseeds = [\"nohost\"]\n", "test");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("p2p.seeds"), std::string::npos) << c.status().message();
  auto d = parse_config("[p2p]\nseeds = \"1.2.3.4:5\"\n", "test");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("must be an array"), std::string::npos);
}

TEST(Config, EmptyFileKeepsBase) {
  NodeConfig base;
  base.data_dir = "/x";
  auto c = parse_config("", "test", base);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->data_dir, "/x");
}

void expect_error(const std::string& text, const std::string& fragment) {
  auto c = parse_config(text, "'t.toml'");
  ASSERT_FALSE(c.ok()) << text;
  EXPECT_NE(c.status().message().find(fragment), std::string::npos)
      << "message: " << c.status().message() << "\nexpected to contain: " << fragment;
}

TEST(Config, RejectsBadFilesWithSpecificMessages) {
  expect_error("dev = tru", "is not valid TOML (line 1");
  expect_error("\n\ndata_dirr = \"/x\"", "'data_dirr' is not a known setting (line 3)");
  expect_error("[mqtt]\nlisten = \"0.0.0.0:1883\"\nlisen = 1", "'mqtt.lisen' is not a known");
  expect_error("[mqt]\nlisten = \"x:1\"", "'mqt' is not a known setting");
  expect_error("dev = \"yes\"", "'dev' must be true or false");
  expect_error("io_threads = -1", "'io_threads' must be between 0 and 256");
  expect_error("io_adaptive = 1", "'io_adaptive' must be true or false");
  expect_error("[mqtt]\nlisten = 1883", "'mqtt.listen' must be a string");
  expect_error("[mqtt]\nlisten = \"nohost\"", "'mqtt.listen' 'nohost' is not HOST:PORT");
  expect_error("[log]\nlevel = \"loud\"", "unknown log level 'loud'");
  expect_error("mqtt = 5", "'mqtt' must be a table");
  expect_error("[mqtt]\nlisten = \"0.0.0.0:7645\"", "mqtt and p2p listen on the same address");
}

TEST(Config, LoadFileErrors) {
  auto c = load_config_file("/nonexistent/imetd.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("cannot read config file"), std::string::npos);
}

}  // namespace
}  // namespace imet::node
