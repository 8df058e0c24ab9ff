#include "api/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "util/log.h"

namespace imet::api {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kMaxBody = 1 << 20;
constexpr size_t kMaxHeader = 8 << 10;
constexpr auto kTimeout = std::chrono::seconds(30);

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<const HttpHandler> handler)
      : stream_(std::move(socket)), handler_(std::move(handler)) {}

  void run() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeader);
    parser_->body_limit(kMaxBody);
    stream_.expires_after(kTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      return close();
    }
    if (ec) {
      HttpResponse bad{400, "application/json",
                       R"({"error":{"code":"bad_request","message":"malformed HTTP request: )" +
                           ec.message() + "\"}}"};
      return write(bad, /*keep_alive=*/false);
    }
    const auto& req = parser_->get();
    HttpRequest r{std::string(req.method_string()), std::string(req.target()), req.body()};
    HttpResponse resp;
    try {
      resp = (*handler_)(r);
    } catch (const std::exception& e) {
      util::log::error("API handler failed", {{"target", r.target}, {"what", e.what()}});
      resp = {500, "application/json",
              R"({"error":{"code":"internal","message":"internal error"}})"};
    }
    write(resp, req.keep_alive());
  }

  void write(const HttpResponse& r, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(r.status);
    res->set(http::field::server, "imetd");
    res->set(http::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers)
      res->set(name, value);
    res->keep_alive(keep_alive);
    res->body() = r.body;
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
                        if (ec || !keep_alive) return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<const HttpHandler> handler_;
};

class Server final : public HttpServer, public std::enable_shared_from_this<Server> {
 public:
  Server(asio::io_context& io, HttpHandler handler)
      : io_(io),
        acceptor_(asio::make_strand(io)),
        handler_(std::make_shared<const HttpHandler>(std::move(handler))) {}

  util::Status listen(const std::string& host, uint16_t port) {
    beast::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (ec)
      return util::invalid_argument("HTTP listen address '" + host + "' is not an IP address");
    tcp::endpoint ep(addr, port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return util::unavailable("cannot listen for HTTP on " + host + ":" + std::to_string(port) +
                               ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    return {};
  }

  void accept() {
    acceptor_.async_accept(asio::make_strand(io_),
                           [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
                             if (ec == asio::error::operation_aborted) return;
                             if (!ec)
                               std::make_shared<Session>(std::move(s), self->handler_)->run();
                             if (self->acceptor_.is_open()) self->accept();
                           });
  }

  uint16_t port() const override { return port_; }
  void stop() override {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
    });
  }

 private:
  asio::io_context& io_;
  tcp::acceptor acceptor_;
  std::shared_ptr<const HttpHandler> handler_;
  uint16_t port_ = 0;
};

}  // namespace

util::Result<std::shared_ptr<HttpServer>> HttpServer::start(asio::io_context& io,
                                                            const std::string& host, uint16_t port,
                                                            HttpHandler handler) {
  auto server = std::make_shared<Server>(io, std::move(handler));
  IMET_TRY(server->listen(host, port));
  server->accept();
  return std::shared_ptr<HttpServer>(server);
}

}  // namespace imet::api
