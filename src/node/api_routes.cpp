#include "node/api_routes.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "ledger/smt/tree.h"
#include "ledger/state.h"

namespace imet::node {

namespace {

using api::HttpRequest;
using api::HttpResponse;
using nlohmann::json;

HttpResponse reply(unsigned status, const json& j) {
  return {status, "application/json", j.dump()};
}
HttpResponse error(unsigned status, const std::string& code, const std::string& message) {
  return reply(status, {{"error", {{"code", code}, {"message", message}}}});
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

json tx_json(const ledger::Transaction& tx) {
  return {{"id", util::to_hex(tx.id())},
          {"kind", ledger::tx_kind_name(tx.kind())},
          {"sender", crypto::address_of(tx.sender)},
          {"nonce", tx.nonce},
          {"fee", ledger::format_amount(tx.fee)},
          {"expiry_height", tx.expiry_height}};
}

json block_json(const ledger::Block& b) {
  const ledger::BlockHeader& h = b.header;
  json txs = json::array();
  for (const auto& tx : b.txs)
    txs.push_back(tx_json(tx));
  return {{"height", h.height},
          {"hash", util::to_hex(h.hash())},
          {"prev_hash", util::to_hex(h.prev_hash)},
          {"time_ms", h.time_ms},
          {"producer", crypto::address_of(h.producer)},
          {"round", h.round},
          {"slot", h.slot},
          {"tx_root", util::to_hex(h.tx_root)},
          {"state_root", util::to_hex(h.state_root)},
          {"final", true},  // one delegate: a block is final once applied
          {"txs", txs}};
}

class Routes {
 public:
  Routes(Chain& chain, std::mutex& mu, const crypto::PublicKey& node_key)
      : chain_(chain), mu_(mu), node_address_(crypto::address_of(node_key)) {}

  HttpResponse operator()(const HttpRequest& r) const {
    std::string_view path = r.target;
    path = path.substr(0, path.find('?'));
    if (path == "/v1/status") return get_only(r, [&] { return status(); });
    if (path.starts_with("/v1/blocks/")) {
      return get_only(r, [&] { return block(path.substr(11)); });
    }
    if (path.starts_with("/v1/accounts/")) {
      return get_only(r, [&] { return account(path.substr(13)); });
    }
    if (path == "/v1/txs") {
      if (r.method != "POST") return error(405, "method_not_allowed", "use POST /v1/txs");
      return submit(r.body);
    }
    if (path.starts_with("/v1/txs/")) return get_only(r, [&] { return tx(path.substr(8)); });
    return error(404, "not_found", "no such endpoint: " + std::string(path));
  }

 private:
  template <typename F>
  HttpResponse get_only(const HttpRequest& r, F&& f) const {
    if (r.method != "GET") return error(405, "method_not_allowed", "use GET");
    return f();
  }

  HttpResponse status() const {
    std::lock_guard lock(mu_);
    const store::TipRecord& t = chain_.tip();
    return reply(200, {{"chain_id", chain_.config().chain_id},
                       {"height", t.height},
                       {"final_height", t.height},
                       {"hash", util::to_hex(t.hash)},
                       {"time_ms", t.time_ms},
                       {"state_root", util::to_hex(t.state_root)},
                       {"node", node_address_}});
  }

  HttpResponse block(std::string_view arg) const {
    auto height = parse_u64(arg);
    if (!height) return error(400, "invalid_height", "'" + std::string(arg) + "' is not a height");
    std::lock_guard lock(mu_);
    auto b = chain_.store().block_at(*height);
    if (!b.ok()) return error(500, "state_error", b.status().message());
    if (!*b) return error(404, "not_found", "no block at height " + std::string(arg));
    return reply(200, block_json(**b));
  }

  HttpResponse account(std::string_view arg) const {
    auto addr = crypto::parse_address(arg);
    if (!addr.ok()) return error(400, "invalid_address", addr.status().message());
    std::lock_guard lock(mu_);
    util::Bytes key = ledger::keys::account(*addr);
    auto acc = ledger::get_record<ledger::Account>(chain_.store().state(), key);
    if (!acc.ok()) return error(500, "state_error", acc.status().message());
    const store::TipRecord& t = chain_.tip();
    ledger::smt::SparseMerkleTree tree(chain_.store().nodes());
    auto proof = tree.prove(t.height, ledger::smt::key_of(key));
    if (!proof.ok()) return error(500, "state_error", proof.status().message());
    ledger::Account a = acc->value_or(ledger::Account{});
    json votes = json::array();
    for (const auto& v : a.votes)
      votes.push_back(crypto::encode_address(v));
    return reply(200, {{"address", std::string(arg)},
                       {"exists", acc->has_value()},
                       {"balance", ledger::format_amount(a.balance)},
                       {"transferable", ledger::format_amount(a.transferable(t.time_ms))},
                       {"stake", ledger::format_amount(a.stake)},
                       {"nonce", a.nonce},
                       {"votes", votes},
                       {"height", t.height},
                       {"state_root", util::to_hex(t.state_root)},
                       {"proof", util::to_hex(codec::encode(proof->proof))}});
  }

  HttpResponse submit(const std::string& body) const {
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("tx") || !j["tx"].is_string()) {
      return error(400, "bad_request", "expected a JSON body {\"tx\": \"<hex>\"}");
    }
    auto raw = util::from_hex(j["tx"].get<std::string>());
    if (!raw.ok()) return error(400, "malformed", "'tx': " + raw.status().message());
    auto tx = codec::decode<ledger::Transaction>(*raw);
    if (!tx.ok()) return error(400, "malformed", tx.status().message());
    std::lock_guard lock(mu_);
    if (auto e = chain_.submit(*tx)) {
      return reply(400, {{"error",
                          {{"code", ledger::reject_name(e->reason)},
                           {"reason", static_cast<int>(e->reason)},
                           {"message", e->message}}}});
    }
    return reply(202, {{"id", util::to_hex(tx->id())}, {"status", "pending"}});
  }

  HttpResponse tx(std::string_view arg) const {
    auto id = util::from_hex_fixed<32>(arg);
    if (!id.ok()) return error(400, "invalid_id", id.status().message());
    std::lock_guard lock(mu_);
    auto loc = chain_.store().tx_location(*id);
    if (!loc.ok()) return error(500, "state_error", loc.status().message());
    if (*loc) {
      return reply(200, {{"id", std::string(arg)},
                         {"status", "final"},
                         {"height", (*loc)->height},
                         {"index", (*loc)->index}});
    }
    if (chain_.is_pending(*id))
      return reply(200, {{"id", std::string(arg)}, {"status", "pending"}});
    return error(404, "not_found", "unknown transaction " + std::string(arg));
  }

  Chain& chain_;
  std::mutex& mu_;
  std::string node_address_;
};

}  // namespace

api::HttpHandler make_api_routes(Chain& chain, std::mutex& chain_mu,
                                 const crypto::PublicKey& node_key) {
  return Routes(chain, chain_mu, node_key);
}

}  // namespace imet::node
