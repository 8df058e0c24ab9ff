// Fuzz target: the HTTP upgrade request of an MQTT WebSocket connection, as the ws/wss listener
// reads it (Beast's request parser with the listener's header limit) and then checks it
// (mqtt::net::check_ws_upgrade). Never crashes; an accepted request is a WebSocket upgrade for
// exactly the configured path that offers the subprotocol "mqtt".
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "mqtt/net/ws_transport.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace http = boost::beast::http;
  http::request_parser<http::empty_body> parser;
  parser.header_limit(8 * 1024);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return 0;
  const auto& req = parser.get();
  if (imet::mqtt::net::check_ws_upgrade(req, "/mqtt").has_value()) return 0;
  if (!boost::beast::websocket::is_upgrade(req)) std::abort();
  std::string_view target(req.target().data(), req.target().size());
  if (target.substr(0, target.find('?')) != "/mqtt") std::abort();
  return 0;
}
