// NodeClient against a real HTTP server (api::HttpServer, the node's own): URL checks, 2xx bodies,
// node errors turned into "code (reason N): message", connection failures; and hash_file.
#include "wallet/node_client.h"

#include <cstdlib>
#include <fstream>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include "api/http_server.h"
#include "crypto/hash.h"
#include "wallet/query_commands.h"

namespace imet::wallet {
namespace {

TEST(NodeClient, UrlsAreChecked) {
  ::unsetenv("IMET_NODE");
  EXPECT_EQ(NodeClient::connect_to("").value().url(), NodeClient::kDefaultUrl);
  ::setenv("IMET_NODE", "http://10.0.0.1:9", 1);
  EXPECT_EQ(NodeClient::connect_to("").value().url(), "http://10.0.0.1:9");
  ::unsetenv("IMET_NODE");
  EXPECT_TRUE(NodeClient::connect_to("http://node.example/").ok());
  for (const char* bad :
       {"https://x:1", "127.0.0.1:8645", "http://h:port", "http://h:1/v1", "http://:1"}) {
    auto c = NodeClient::connect_to(bad);
    EXPECT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.status().message().find(bad), std::string::npos) << c.status().message();
  }
}

class NodeClientServer : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = api::HttpServer::start(io_, "127.0.0.1", 0, [](const api::HttpRequest& r) {
      if (r.target == "/ok") return api::HttpResponse{200, "application/json", "{\"a\":1}"};
      if (r.target == "/echo") return api::HttpResponse{202, "application/json", r.body};
      if (r.target == "/rejected") {
        return api::HttpResponse{
            400, "application/json",
            R"({"error":{"code":"nonce_too_low","reason":7,"message":"nonce 0 already used"}})"};
      }
      if (r.target == "/plain") return api::HttpResponse{500, "text/plain", "boom"};
      return api::HttpResponse{404, "application/json",
                               R"({"error":{"code":"not_found","message":"no such thing"}})"};
    });
    ASSERT_TRUE(s.ok());
    server_ = *s;
    thread_ = std::thread([this] { io_.run(); });
    client_.emplace(
        NodeClient::connect_to("http://127.0.0.1:" + std::to_string(server_->port())).value());
  }
  void TearDown() override {
    server_->stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::shared_ptr<api::HttpServer> server_;
  std::thread thread_;
  std::optional<NodeClient> client_;
};

TEST_F(NodeClientServer, BodiesAndNodeErrors) {
  EXPECT_EQ(client_->get("/ok").value(), "{\"a\":1}");
  EXPECT_EQ(client_->post("/echo", "{\"tx\":\"00\"}").value(), "{\"tx\":\"00\"}");
  auto rejected = client_->get("/rejected");
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.status().message(), "nonce_too_low (reason 7): nonce 0 already used");
  auto missing = client_->get("/nothing");
  EXPECT_EQ(missing.status().code(), util::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "not_found: no such thing");
  auto plain = client_->get("/plain");
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("HTTP 500: boom"), std::string::npos);
}

TEST(NodeClient, ConnectionFailureNamesTheUrl) {
  uint16_t port = 0;
  {
    // A port nothing listens on: bound, then closed.
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  auto r = NodeClient::connect_to("http://127.0.0.1:" + std::to_string(port)).value().get("/ok");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), util::StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("cannot connect"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(std::to_string(port)), std::string::npos);
}

TEST(HashFile, MatchesBlake2bOfTheContents) {
  std::string path = ::testing::TempDir() + "imet-hash-file-test";
  std::string content(200'000, 'x');
  content[12345] = 'y';
  std::ofstream(path, std::ios::binary) << content;
  auto h = hash_file(path);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->first, crypto::blake2b_256(util::to_bytes(content)));
  EXPECT_EQ(h->second, content.size());
  EXPECT_FALSE(hash_file(path + ".missing").ok());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace imet::wallet
