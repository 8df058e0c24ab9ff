#include "wallet/node_client.h"

#include <chrono>
#include <cstdlib>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace imet::wallet {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

util::Result<NodeClient> NodeClient::connect_to(const std::string& url_arg) {
  std::string url = url_arg;
  if (url.empty()) {
    const char* env = std::getenv("IMET_NODE");
    url = env && *env ? env : kDefaultUrl;
  }
  std::string_view rest = url;
  if (!rest.starts_with("http://")) {
    return util::invalid_argument("node URL '" + url + "' must start with http:// (for example " +
                                  kDefaultUrl + ")");
  }
  rest.remove_prefix(7);
  if (rest.ends_with("/")) rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) {
    return util::invalid_argument("node URL '" + url + "' must not have a path");
  }
  std::string host(rest), port = "80";
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = std::string(rest.substr(0, colon));
    port = std::string(rest.substr(colon + 1));
    if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos) {
      return util::invalid_argument("node URL '" + url + "' has a bad port");
    }
  }
  if (host.empty()) return util::invalid_argument("node URL '" + url + "' has no host");
  return NodeClient(url, host, port);
}

util::Result<std::string> NodeClient::get(const std::string& path) const {
  return request(false, path, "");
}

util::Result<std::string> NodeClient::post(const std::string& path, const std::string& body) const {
  return request(true, path, body);
}

util::Result<std::string> NodeClient::request(bool post, const std::string& path,
                                              const std::string& body) const {
  const std::string where = (post ? "POST " : "GET ") + url_ + path;
  try {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    beast::error_code ec;
    auto endpoints = resolver.resolve(host_, port_, ec);
    if (ec) return util::unavailable(where + ": cannot resolve " + host_ + ": " + ec.message());
    stream.expires_after(std::chrono::seconds(30));
    stream.connect(endpoints, ec);
    if (ec) {
      return util::unavailable(where + ": cannot connect: " + ec.message() +
                               " (is imetd running? set --node or $IMET_NODE)");
    }
    http::request<http::string_body> req{post ? http::verb::post : http::verb::get, path, 11};
    req.set(http::field::host, host_);
    req.set(http::field::user_agent, "imet");
    if (post) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
    }
    http::write(stream, req, ec);
    if (ec) return util::unavailable(where + ": " + ec.message());
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    http::read(stream, buffer, parser, ec);
    if (ec) return util::unavailable(where + ": bad response: " + ec.message());
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    auto& res = parser.get();
    unsigned status = res.result_int();
    if (status >= 200 && status < 300) return std::move(res.body());
    auto j = nlohmann::json::parse(res.body(), nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_object()) {
      const auto& e = j["error"];
      std::string code = e.value("code", "error");
      std::string msg = e.value("message", "");
      std::string reason = e.contains("reason") ? " (reason " + e["reason"].dump() + ")" : "";
      const std::string what = code + reason + ": " + msg;
      util::Status st = status == 404   ? util::not_found(what)
                        : status == 503 ? util::unavailable(what)  // busy: worth retrying
                                        : util::invalid_argument(what);
      return st;
    }
    return util::unavailable(where + ": HTTP " + std::to_string(status) + ": " + res.body());
  } catch (const std::exception& e) {
    return util::unavailable(where + ": " + e.what());
  }
}

}  // namespace imet::wallet
