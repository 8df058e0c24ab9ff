// NodeClient: the wallet's synchronous HTTP/1.1 client for a node's JSON API (docs/api.md), on
// Boost.Beast. It speaks plain http:// to one node (default $IMET_NODE, else
// http://127.0.0.1:8645), with a timeout per request. A node error response
// ({"error": {"code", "message", "reason"?}}) becomes a Status whose message carries the code,
// the ledger reason number when present, and the node's message, so the CLI can show it as is.
// Thread-safety: one NodeClient per thread (each request opens its own connection).
// Invariants: get()/post() return the body only for a 2xx status; every failure names the URL.
#pragma once

#include <string>

#include "util/result.h"

namespace imet::wallet {

class NodeClient {
 public:
  static constexpr const char* kDefaultUrl = "http://127.0.0.1:8645";
  // `url` empty: $IMET_NODE, else kDefaultUrl. Only http://HOST[:PORT][/] is accepted.
  static util::Result<NodeClient> connect_to(const std::string& url);

  const std::string& url() const { return url_; }
  // GET `path` (e.g. "/v1/status"); the response body on 2xx.
  util::Result<std::string> get(const std::string& path) const;
  // POST a JSON body; the response body on 2xx.
  util::Result<std::string> post(const std::string& path, const std::string& body) const;

 private:
  NodeClient(std::string url, std::string host, std::string port)
      : url_(std::move(url)), host_(std::move(host)), port_(std::move(port)) {}
  util::Result<std::string> request(bool post, const std::string& path,
                                    const std::string& body) const;

  std::string url_, host_, port_;
};

}  // namespace imet::wallet
