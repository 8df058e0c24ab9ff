// WsTransport: MQTT over WebSocket (RFC 6455, MQTT 5.0 section 6), plain ("ws", usually port 8083)
// or over TLS ("wss"), built on Boost.Beast. The handshake reads the HTTP upgrade request, accepts
// it only for the configured path and only when the client offers the subprotocol "mqtt" (the
// 101 response names it), and otherwise answers 404 or 400 with the reason and fails. After that,
// async_read_some delivers the payload of binary messages as one byte stream, whatever the message
// boundaries (an MQTT packet may span messages, a message may hold several packets); async_write
// sends each buffer as one binary message. A text message ends the connection (MQTT 5.0 6.0).
// Thread-safety: as Transport (strand only). check_ws_upgrade is a pure function.
// Invariants: the socket's executor is the strand returned by executor(); no MQTT byte is read
// before the 101 response is written.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>

#include "mqtt/net/transport.h"

namespace boost::asio::ssl {
class context;
}

namespace imet::mqtt::net {

inline constexpr std::string_view kDefaultWsPath = "/mqtt";
inline constexpr std::string_view kWsSubprotocol = "mqtt";

// Why an upgrade request is refused: the HTTP status sent back and a one-line reason (the body).
struct WsRefusal {
  boost::beast::http::status status;
  std::string reason;
};

// Checks an HTTP request before the WebSocket accept: a WebSocket upgrade (GET, HTTP/1.1,
// Connection: upgrade, Upgrade: websocket), its path (the target without a query string) equal to
// `path`, and "mqtt" among the offered subprotocols. nullopt = go ahead. Beast checks the rest
// (Sec-WebSocket-Key and -Version) during the accept and answers 400 itself.
std::optional<WsRefusal> check_ws_upgrade(
    const boost::beast::http::request<boost::beast::http::empty_body>& request,
    std::string_view path);

// A WebSocket transport over a plain TCP socket ("ws").
std::unique_ptr<Transport> make_ws_transport(boost::asio::ip::tcp::socket socket, std::string path);
// A WebSocket transport over TLS ("wss"): the TLS handshake comes first, with `context` (see
// make_server_tls_context in mqtt/net/tls_transport.h).
std::unique_ptr<Transport> make_wss_transport(boost::asio::ip::tcp::socket socket,
                                              std::shared_ptr<boost::asio::ssl::context> context,
                                              std::string path);

}  // namespace imet::mqtt::net
