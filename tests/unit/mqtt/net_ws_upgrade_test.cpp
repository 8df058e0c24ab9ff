// check_ws_upgrade: which HTTP requests may become MQTT WebSocket connections (path, subprotocol,
// upgrade headers) and the status and reason of each refusal.
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <gtest/gtest.h>

#include "mqtt/net/ws_transport.h"

namespace imet::mqtt::net {
namespace {

namespace http = boost::beast::http;
using Request = http::request<http::empty_body>;

Request upgrade(std::string target, std::string protocols) {
  Request r(http::verb::get, target, 11);
  r.set(http::field::host, "127.0.0.1");
  r.set(http::field::connection, "Upgrade");
  r.set(http::field::upgrade, "websocket");
  r.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  r.set(http::field::sec_websocket_version, "13");
  if (!protocols.empty()) r.set(http::field::sec_websocket_protocol, protocols);
  return r;
}

TEST(WsUpgrade, AcceptsTheConfiguredPathWithSubprotocolMqtt) {
  EXPECT_FALSE(check_ws_upgrade(upgrade("/mqtt", "mqtt"), "/mqtt").has_value());
  EXPECT_FALSE(check_ws_upgrade(upgrade("/iot/ws", "mqtt"), "/iot/ws").has_value());
}

TEST(WsUpgrade, IgnoresTheQueryString) {
  EXPECT_FALSE(check_ws_upgrade(upgrade("/mqtt?token=abc", "mqtt"), "/mqtt").has_value());
}

TEST(WsUpgrade, FindsMqttAmongSeveralOfferedSubprotocols) {
  EXPECT_FALSE(check_ws_upgrade(upgrade("/mqtt", "chat, mqtt"), "/mqtt").has_value());
  EXPECT_FALSE(check_ws_upgrade(upgrade("/mqtt", "mqtt ,chat"), "/mqtt").has_value());
  EXPECT_FALSE(check_ws_upgrade(upgrade("/mqtt", "chat,\tmqtt"), "/mqtt").has_value());
  // The offer may also come as several header lines.
  Request r = upgrade("/mqtt", "chat");
  r.insert(http::field::sec_websocket_protocol, "mqtt");
  EXPECT_FALSE(check_ws_upgrade(r, "/mqtt").has_value());
}

TEST(WsUpgrade, RefusesAnotherPathWith404) {
  for (const char* target : {"/", "/other", "/mqtt/", "/MQTT", "/mqttx", "mqtt"}) {
    auto refusal = check_ws_upgrade(upgrade(target, "mqtt"), "/mqtt");
    ASSERT_TRUE(refusal.has_value()) << target;
    EXPECT_EQ(refusal->status, http::status::not_found) << target;
    EXPECT_NE(refusal->reason.find(std::string("'") + target + "'"), std::string::npos)
        << refusal->reason;
  }
}

TEST(WsUpgrade, RefusesWith400WhenMqttIsNotOffered) {
  // mqttv3.1 is MQTT 3.1, which the broker does not speak; tokens are case-sensitive and whole.
  for (const char* protocols : {"", "chat", "mqttv3.1", "MQTT", "mqtt2", "xmqtt, chat"}) {
    auto refusal = check_ws_upgrade(upgrade("/mqtt", protocols), "/mqtt");
    ASSERT_TRUE(refusal.has_value()) << protocols;
    EXPECT_EQ(refusal->status, http::status::bad_request) << protocols;
    EXPECT_NE(refusal->reason.find("subprotocol 'mqtt'"), std::string::npos) << refusal->reason;
  }
}

TEST(WsUpgrade, RefusesRequestsThatAreNotWebSocketUpgrades) {
  Request no_upgrade = upgrade("/mqtt", "mqtt");
  no_upgrade.erase(http::field::upgrade);
  Request post = upgrade("/mqtt", "mqtt");
  post.method(http::verb::post);
  Request http10 = upgrade("/mqtt", "mqtt");
  http10.version(10);
  Request other_upgrade = upgrade("/mqtt", "mqtt");
  other_upgrade.set(http::field::upgrade, "h2c");
  for (const Request* r : {&no_upgrade, &post, &http10, &other_upgrade}) {
    auto refusal = check_ws_upgrade(*r, "/mqtt");
    ASSERT_TRUE(refusal.has_value());
    EXPECT_EQ(refusal->status, http::status::bad_request);
    EXPECT_NE(refusal->reason.find("not a WebSocket upgrade request"), std::string::npos)
        << refusal->reason;
  }
}

}  // namespace
}  // namespace imet::mqtt::net
