// WsTransport: one class template over the next layer (TCP socket or TLS stream), hidden behind
// the two factory functions in ws_transport.h. The lowest layer is a ReadinessSocket (see there),
// so the transport's unread input is observable (unread_input).
#include "mqtt/net/ws_transport.h"

#include <type_traits>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "mqtt/net/readiness_socket.h"
#include "util/log.h"

namespace imet::mqtt::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using asio::ip::tcp;

namespace {

constexpr uint32_t kMaxRequestHeader = 8 * 1024;

bool is_token_separator(char c) {
  return c == ',' || c == ' ' || c == '\t';
}

// True when the comma-separated list `value` has the token `token`.
bool has_token(std::string_view value, std::string_view token) {
  size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && is_token_separator(value[i]))
      ++i;
    size_t end = i;
    while (end < value.size() && value[end] != ',')
      ++end;
    size_t last = end;
    while (last > i && (value[last - 1] == ' ' || value[last - 1] == '\t'))
      --last;
    if (value.substr(i, last - i) == token) return true;
    i = end;
  }
  return false;
}

boost::system::error_code refused_error() {
  return boost::system::errc::make_error_code(boost::system::errc::protocol_error);
}

template <class Next>
class WsTransport final : public Transport {
 public:
  static constexpr bool kTls = !std::is_same_v<Next, ReadinessSocket>;

  // `context` is null for plain WebSocket; `args` construct the next layer.
  template <class... Args>
  WsTransport(std::shared_ptr<asio::ssl::context> context, std::string path, std::string remote_ip,
              Args&&... args)
      : context_(std::move(context)),
        ws_(std::forward<Args>(args)...),
        path_(std::move(path)),
        remote_ip_(std::move(remote_ip)),
        buffer_(kMaxRequestHeader) {
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "imetd");
      res.set(http::field::sec_websocket_protocol, kWsSubprotocol);
    }));
    ws_.binary(true);
    ws_.auto_fragment(false);
    ws_.read_message_max(0);  // no limit: messages are a byte stream, MQTT limits packet size
  }

  asio::any_io_executor executor() override { return ws_.get_executor(); }

  void async_handshake(Handler handler) override {
    if constexpr (kTls) {
      ws_.next_layer().async_handshake(
          asio::ssl::stream_base::server,
          [this, h = std::move(handler)](const boost::system::error_code& ec) mutable {
            if (ec) {
              h(ec);
              return;
            }
            read_request(std::move(h));
          });
    } else {
      read_request(std::move(handler));
    }
  }

  void async_read_some(asio::mutable_buffer buffer, IoHandler handler) override {
    ws_.async_read_some(
        buffer, [this, h = std::move(handler)](const boost::system::error_code& ec, size_t n) {
          if (!ec && ws_.got_text()) {
            util::log::debug("mqtt websocket text message refused", {{"ip", remote_ip_}});
            h(refused_error(), 0);
            return;
          }
          h(ec, n);
        });
  }

  void async_write(asio::const_buffer buffer, IoHandler handler) override {
    ws_.async_write(buffer, std::move(handler));
  }

  void close() override {
    auto& socket = beast::get_lowest_layer(ws_);
    boost::system::error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }

  bool unread_input() override {
    if constexpr (kTls) {
      return ws_.next_layer().next_layer().unread_input();
    } else {
      return ws_.next_layer().unread_input();
    }
  }

  std::string remote_ip() const override { return remote_ip_; }
  const char* kind() const override { return kTls ? "wss" : "ws"; }

 private:
  void read_request(Handler handler) {
    parser_.emplace();
    parser_->header_limit(kMaxRequestHeader);
    http::async_read(
        ws_.next_layer(), buffer_, *parser_,
        [this, h = std::move(handler)](const boost::system::error_code& ec, size_t) mutable {
          if (ec) {
            h(ec);
            return;
          }
          on_request(std::move(h));
        });
  }

  void on_request(Handler handler) {
    const auto& req = parser_->get();
    std::optional<WsRefusal> refusal = check_ws_upgrade(req, path_);
    if (!refusal && buffer_.size() != 0) {
      // RFC 6455 4.1: the client waits for the 101 before it sends frames.
      refusal = WsRefusal{http::status::bad_request, "data sent before the WebSocket handshake"};
    }
    if (refusal) {
      refuse(std::move(*refusal), std::move(handler));
      return;
    }
    ws_.async_accept(req, [this, h = std::move(handler)](const boost::system::error_code& ec) {
      // The request is no longer needed: free its memory for the connection's lifetime.
      parser_.reset();
      buffer_.clear();
      buffer_.shrink_to_fit();
      h(ec);
    });
  }

  void refuse(WsRefusal refusal, Handler handler) {
    util::log::debug("mqtt websocket upgrade refused",
                     {{"ip", remote_ip_},
                      {"status", static_cast<uint64_t>(refusal.status)},
                      {"reason", refusal.reason}});
    response_.emplace(refusal.status, 11);
    response_->set(http::field::server, "imetd");
    response_->set(http::field::content_type, "text/plain");
    response_->keep_alive(false);
    response_->body() = std::move(refusal.reason) + "\n";
    response_->prepare_payload();
    http::async_write(ws_.next_layer(), *response_,
                      [h = std::move(handler)](const boost::system::error_code& ec, size_t) {
                        h(ec ? ec : refused_error());
                      });
  }

  std::shared_ptr<asio::ssl::context> context_;  // before ws_: outlives its SSL object
  websocket::stream<Next> ws_;
  std::string path_;
  std::string remote_ip_;
  beast::flat_buffer buffer_;  // the upgrade request
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::optional<http::response<http::string_body>> response_;  // a refusal being written
};

std::string remote_ip_of(const tcp::socket& socket) {
  boost::system::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  return ec ? std::string("?") : ep.address().to_string();
}

}  // namespace

std::optional<WsRefusal> check_ws_upgrade(const http::request<http::empty_body>& request,
                                          std::string_view path) {
  if (!websocket::is_upgrade(request)) {
    return WsRefusal{http::status::bad_request,
                     "not a WebSocket upgrade request (MQTT over WebSocket needs GET with "
                     "Connection: Upgrade and Upgrade: websocket)"};
  }
  std::string_view target(request.target().data(), request.target().size());
  if (const size_t q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  if (target != path) {
    return WsRefusal{http::status::not_found,
                     "no MQTT WebSocket endpoint at '" + std::string(target) + "'"};
  }
  bool offered = false;
  const auto [first, last] = request.equal_range(http::field::sec_websocket_protocol);
  for (auto it = first; it != last; ++it) {
    if (has_token(std::string_view(it->value().data(), it->value().size()), kWsSubprotocol)) {
      offered = true;
    }
  }
  if (!offered) {
    return WsRefusal{http::status::bad_request,
                     "the client must offer the WebSocket subprotocol 'mqtt' "
                     "(Sec-WebSocket-Protocol: mqtt)"};
  }
  return std::nullopt;
}

std::unique_ptr<Transport> make_ws_transport(tcp::socket socket, std::string path) {
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  std::string ip = remote_ip_of(socket);
  return std::make_unique<WsTransport<ReadinessSocket>>(nullptr, std::move(path), std::move(ip),
                                                        std::move(socket));
}

std::unique_ptr<Transport> make_wss_transport(tcp::socket socket,
                                              std::shared_ptr<asio::ssl::context> context,
                                              std::string path) {
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  std::string ip = remote_ip_of(socket);
  asio::ssl::context& ctx = *context;
  return std::make_unique<WsTransport<asio::ssl::stream<ReadinessSocket>>>(
      std::move(context), std::move(path), std::move(ip), std::move(socket), ctx);
}

}  // namespace imet::mqtt::net
