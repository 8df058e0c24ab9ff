// HttpServer: a small HTTP/1.1 server on Boost.Beast for the node's JSON API. It accepts on one
// address, reads each request (header ≤ 8 KiB, body ≤ 1 MiB, 30 s per request), calls the
// handler, writes the response, and keeps the connection alive when the client asks for it.
// Routing and JSON live in the handler (node/api_routes.h); this file knows only HTTP.
// Thread-safety: sessions run on the io_context's threads, each on its own strand; the handler may
// be called concurrently from several sessions and must be thread-safe. stop() is thread-safe.
// Invariants: a malformed request gets 400 and the connection is closed; no exception escapes a
// handler; a handler's exception becomes a 500.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "util/result.h"

namespace imet::api {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, e.g. "/v1/blocks/5"
  std::string body;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers = {};  // extra, e.g. Retry-After
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  // Binds and starts accepting. Port 0 picks a free port (see port()).
  static util::Result<std::shared_ptr<HttpServer>> start(boost::asio::io_context& io,
                                                         const std::string& host, uint16_t port,
                                                         HttpHandler handler);
  virtual ~HttpServer() = default;
  virtual uint16_t port() const = 0;
  virtual void stop() = 0;
};

}  // namespace imet::api
