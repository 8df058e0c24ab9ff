#include "node/api_routes.h"

#include <charconv>
#include <cmath>

#include <nlohmann/json.hpp>

#include "ledger/pod.h"
#include "ledger/smt/tree.h"
#include "ledger/state.h"
#include "node/consensus_service.h"
#include "node/tx_admission.h"

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

// One equivocation evidence entry: the offender and the two conflicting votes' common fields.
json evidence_json(const ledger::Evidence& e) {
  return {{"offender", crypto::address_of(e.a.voter)},
          {"type", ledger::vote_type_name(e.a.type)},
          {"height", e.a.height},
          {"attempt", e.a.attempt},
          {"block_hashes", {util::to_hex(e.a.block_hash), util::to_hex(e.b.block_hash)}},
          {"offence_id", util::to_hex(e.offence_id())}};
}

json block_json(const ledger::Block& b) {
  const ledger::BlockHeader& h = b.header;
  json txs = json::array();
  for (const auto& tx : b.txs)
    txs.push_back(tx_json(tx));
  json evidence = json::array();
  for (const auto& e : b.evidence)
    evidence.push_back(evidence_json(e));
  return {{"height", h.height},
          {"hash", util::to_hex(h.hash())},
          {"prev_hash", util::to_hex(h.prev_hash)},
          {"time_ms", h.time_ms},
          {"producer", crypto::address_of(h.producer)},
          {"round", h.round},
          {"slot", h.slot},
          {"tx_root", util::to_hex(h.tx_root)},
          {"state_root", util::to_hex(h.state_root)},
          {"final", true},  // only blocks with a finality certificate are stored
          {"header", util::to_hex(codec::encode(h))},
          {"evidence", evidence},
          {"txs", txs}};
}

json cert_json(const ledger::FinalityCertificate& c) {
  json commits = json::array();
  for (const ledger::CommitSig& s : c.commits) {
    commits.push_back(
        {{"voter", crypto::address_of(s.voter)}, {"signature", util::to_hex(s.signature)}});
  }
  return {{"height", c.height},
          {"attempt", c.attempt},
          {"block_hash", util::to_hex(c.block_hash)},
          {"commits", commits}};
}

class Routes {
 public:
  Routes(Chain& chain, std::mutex& mu, const crypto::PublicKey& node_key,
         ConsensusService* consensus)
      : chain_(chain),
        mu_(mu),
        node_address_(crypto::address_of(node_key)),
        consensus_(consensus) {}

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
    if (path == "/v1/delegates") return get_only(r, [&] { return delegates(); });
    if (path == "/v1/nodes") return get_only(r, [&] { return nodes(); });
    if (path.starts_with("/v1/devices/")) {
      return get_only(r, [&] { return device(path.substr(12)); });
    }
    if (path.starts_with("/v1/names/")) return get_only(r, [&] { return name(path.substr(10)); });
    if (path.starts_with("/v1/epochs/")) return get_only(r, [&] { return epoch(path.substr(11)); });
    if (path.starts_with("/v1/notarizations/")) {
      return get_only(r, [&] { return notarization(path.substr(18)); });
    }
    return error(404, "not_found", "no such endpoint: " + std::string(path));
  }

 private:
  template <typename F>
  HttpResponse get_only(const HttpRequest& r, F&& f) const {
    if (r.method != "GET") return error(405, "method_not_allowed", "use GET");
    return f();
  }

  // The mempool and its admission control (caller holds mu_): the backlog, the limit from which
  // client transactions are refused as busy (503), the finalized rate it follows, and refusals.
  json mempool_json() const {
    const AdmissionLimit& a = chain_.admission();
    const Chain::AdmissionStats& s = chain_.admission_stats();
    return {{"pending", chain_.pending_count()},
            {"admission_limit", a.limit()},
            {"admission_slots", a.options().slots},
            {"admission_floor", a.options().floor},
            {"finalized_per_s", std::round(a.rate_per_s() * 10) / 10},
            {"max_txs", chain_.pending_limit()},
            {"refused_busy", s.refused_busy},
            {"refused_full", s.refused_full}};
  }

  HttpResponse status() const {
    std::lock_guard lock(mu_);
    const store::TipRecord& t = chain_.tip();
    const ledger::ChainParams& p = chain_.config().params;
    json fees = json::object();
    for (uint8_t k = 1; k <= ledger::kTxKindCount; ++k) {
      auto kind = static_cast<ledger::TxKind>(k);
      fees[ledger::tx_kind_name(kind)] = ledger::format_amount(p.fees.min_fee(kind));
    }
    auto schedule = chain_.next_schedule();
    json witnesses = json::array();
    if (schedule.ok()) {
      for (const ledger::Address& w : schedule->witnesses) {
        witnesses.push_back(crypto::encode_address(w));
      }
    }
    json sync = {{"state", "synced"}, {"best_peer_height", t.height}};
    size_t peers = 0;
    json p2p = nullptr;
    if (consensus_) {
      SyncInfo si = consensus_->sync_info();
      sync = {{"state", si.state},
              {"best_peer_height", si.best_peer_height},
              {"requests_in_flight", si.requests_in_flight},
              {"buffered_blocks", si.buffered_blocks}};
      peers = consensus_->peers().size();
      const net::HostStats st = consensus_->p2p_stats();
      p2p = {{"handshakes_ok", st.handshakes_ok},
             {"handshakes_failed", st.handshakes_failed},
             {"refused_network", st.refused_network},
             {"refused_banned", st.refused_banned},
             {"refused_full", st.refused_full},
             {"refused_netgroup", st.refused_netgroup},
             {"evicted_inbound", st.evicted_inbound},
             {"bans", st.bans},
             {"violations", st.violations},
             {"rate_limited", st.rate_limited},
             {"slow_peers_dropped", st.slow_peers_dropped},
             {"known_addresses", st.known_addresses}};
    }
    json head = {{"height", t.height},
                 {"hash", util::to_hex(t.hash)},
                 {"time_ms", t.time_ms},
                 {"state_root", util::to_hex(t.state_root)}};
    return reply(200, {{"chain_id", chain_.config().chain_id},
                       {"height", t.height},
                       {"final_height", t.height},  // only final blocks are applied
                       {"hash", util::to_hex(t.hash)},
                       {"time_ms", t.time_ms},
                       {"state_root", util::to_hex(t.state_root)},
                       {"head", head},
                       {"final", head},
                       {"pending_txs", chain_.pending_count()},
                       {"mempool", mempool_json()},
                       {"epoch", p.pod.epoch_of(t.height)},
                       {"epoch_blocks", p.pod.epoch_blocks},
                       {"min_fees", fees},
                       {"node", node_address_},
                       {"witnesses", witnesses},
                       {"round", schedule.ok() ? schedule->round : 0},
                       {"peers", peers},
                       {"p2p", p2p},
                       {"sync", sync}});
  }

  HttpResponse block(std::string_view arg) const {
    if (arg.size() == 64) {
      auto hash = util::from_hex_fixed<32>(arg);
      if (!hash.ok()) return error(400, "invalid_hash", hash.status().message());
      std::lock_guard lock(mu_);
      auto b = chain_.store().block_by_hash(*hash);
      if (!b.ok()) return error(500, "state_error", b.status().message());
      if (!*b) return error(404, "not_found", "no block with hash " + std::string(arg));
      return reply(200, with_cert(**b));
    }
    auto height = parse_u64(arg);
    if (!height) {
      return error(400, "invalid_height",
                   "'" + std::string(arg) + "' is neither a height nor a 64-hex-digit block hash");
    }
    std::lock_guard lock(mu_);
    auto b = chain_.store().block_at(*height);
    if (!b.ok()) return error(500, "state_error", b.status().message());
    if (!*b) return error(404, "not_found", "no block at height " + std::string(arg));
    return reply(200, with_cert(**b));
  }

  // block_json plus the stored finality certificate. Call with mu_ held.
  json with_cert(const ledger::Block& b) const {
    json j = block_json(b);
    auto cert = chain_.certificate(b.header.height);
    if (cert.ok() && *cert) j["certificate"] = cert_json(**cert);
    return j;
  }

  // The state proof of `key` at the head, with what a client needs to check it (verify-proof):
  // the typed key, the record bytes (absent: a non-membership proof), the height and state root.
  // Call with mu_ held.
  util::Result<json> proof_json(const util::Bytes& key) const {
    const store::TipRecord& t = chain_.tip();
    ledger::smt::SparseMerkleTree tree(chain_.store().nodes());
    IMET_ASSIGN_OR_RETURN(auto proof, tree.prove(t.height, ledger::smt::key_of(key)));
    IMET_ASSIGN_OR_RETURN(std::optional<util::Bytes> raw, chain_.store().state().get(key));
    json j = {{"key", util::to_hex(key)},
              {"height", t.height},
              {"state_root", util::to_hex(t.state_root)},
              {"proof", util::to_hex(codec::encode(proof.proof))}};
    if (raw) j["record"] = util::to_hex(*raw);
    return j;
  }

  HttpResponse account(std::string_view arg) const {
    auto addr = crypto::parse_address(arg);
    if (!addr.ok()) return error(400, "invalid_address", addr.status().message());
    std::lock_guard lock(mu_);
    util::Bytes key = ledger::keys::account(*addr);
    auto acc = ledger::get_record<ledger::Account>(chain_.store().state(), key);
    if (!acc.ok()) return error(500, "state_error", acc.status().message());
    const store::TipRecord& t = chain_.tip();
    auto proof = proof_json(key);
    if (!proof.ok()) return error(500, "state_error", proof.status().message());
    ledger::Account a = acc->value_or(ledger::Account{});
    json votes = json::array();
    for (const auto& v : a.votes)
      votes.push_back(crypto::encode_address(v));
    json unbonding = json::array();
    for (const auto& u : a.unbonding) {
      unbonding.push_back(
          {{"amount", ledger::format_amount(u.amount)}, {"release_ms", u.release_ms}});
    }
    json out = {{"address", std::string(arg)},
                {"exists", acc->has_value()},
                {"balance", ledger::format_amount(a.balance)},
                {"transferable", ledger::format_amount(a.transferable(t.time_ms))},
                {"stake", ledger::format_amount(a.stake)},
                {"unbonding", unbonding},
                {"locked", ledger::format_amount(a.lock ? a.lock->locked_at(t.time_ms) : 0)},
                {"nonce", a.nonce},
                {"votes", votes}};
    out.update(*proof);
    return reply(200, out);
  }

  static json reject_json(const ledger::TxError& e) {
    return {{"code", ledger::reject_name(e.reason)},
            {"reason", static_cast<int>(e.reason)},
            {"message", e.message}};
  }

  // POST /v1/txs: {"tx": "<hex>"} submits one transaction; {"txs": ["<hex>", ...]} up to
  // kMaxSubmitBatch at once (signatures verified in parallel), answered per transaction.
  HttpResponse submit(const std::string& body) const {
    json j = json::parse(body, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("txs")) return submit_batch(j["txs"]);
    if (j.is_discarded() || !j.is_object() || !j.contains("tx") || !j["tx"].is_string()) {
      return error(400, "bad_request",
                   "expected a JSON body {\"tx\": \"<hex>\"} or {\"txs\": [\"<hex>\", ...]}");
    }
    auto raw = util::from_hex(j["tx"].get<std::string>());
    if (!raw.ok()) return error(400, "malformed", "'tx': " + raw.status().message());
    auto tx = codec::decode<ledger::Transaction>(*raw);
    if (!tx.ok()) return error(400, "malformed", tx.status().message());
    const ledger::Hash id = tx->id();
    AdmissionResult r = admit(chain_, mu_, {std::move(tx).value()});
    if (r.results[0]) {
      // A full mempool or a backlog at the admission limit is the node's state, not the
      // request's fault: 503, worth retrying (after Retry-After seconds).
      const bool busy = r.results[0]->reason == ledger::Reject::kMempoolFull;
      HttpResponse res = reply(busy ? 503 : 400, {{"error", reject_json(*r.results[0])}});
      if (busy) res.headers.emplace_back("Retry-After", std::to_string(retry_after(r)));
      return res;
    }
    if (consensus_) consensus_->on_local_txs(std::move(r.added));
    return reply(202, {{"id", util::to_hex(id)}, {"status", "pending"}});
  }

  static constexpr size_t kMaxSubmitBatch = 4096;

  HttpResponse submit_batch(const json& list) const {
    if (!list.is_array()) return error(400, "bad_request", "'txs' must be an array of hex strings");
    if (list.size() > kMaxSubmitBatch) {
      return error(400, "too_many",
                   "at most " + std::to_string(kMaxSubmitBatch) +
                       " transactions per request; got " + std::to_string(list.size()));
    }
    // Entries that do not decode are answered at once; the rest are admitted together.
    std::vector<json> results(list.size());
    std::vector<ledger::Transaction> txs;
    std::vector<size_t> where;
    for (size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_string()) {
        results[i] = {{"error", {{"code", "malformed"}, {"message", "not a hex string"}}}};
        continue;
      }
      auto raw = util::from_hex(list[i].get<std::string>());
      auto tx = raw.ok() ? codec::decode<ledger::Transaction>(*raw)
                         : util::Result<ledger::Transaction>(raw.status());
      if (!tx.ok()) {
        results[i] = {{"error", {{"code", "malformed"}, {"message", tx.status().message()}}}};
        continue;
      }
      results[i] = {{"id", util::to_hex(tx->id())}};
      txs.push_back(std::move(tx).value());
      where.push_back(i);
    }
    AdmissionResult r = admit(chain_, mu_, std::move(txs));
    size_t accepted = 0, busy = 0;
    for (size_t k = 0; k < where.size(); ++k) {
      json& out = results[where[k]];
      if (r.results[k]) {
        out["error"] = reject_json(*r.results[k]);
        if (r.results[k]->reason == ledger::Reject::kMempoolFull) ++busy;
      } else {
        out["status"] = "pending";
        ++accepted;
      }
    }
    if (consensus_) consensus_->on_local_txs(std::move(r.added));
    // Answered per transaction (200), except when the node is busy for every one of them: then
    // the request as a whole is refused (503), and can be sent again as it is.
    json body = {{"accepted", accepted}, {"results", results}};
    const bool all_busy = busy > 0 && busy == list.size();
    if (all_busy) {
      body["error"] = {{"code", ledger::reject_name(ledger::Reject::kMempoolFull)},
                       {"reason", static_cast<int>(ledger::Reject::kMempoolFull)},
                       {"message", r.results[0]->message}};
    }
    HttpResponse res = reply(all_busy ? 503 : 200, body);
    if (busy > 0) res.headers.emplace_back("Retry-After", std::to_string(retry_after(r)));
    return res;
  }

  // Seconds a client refused as busy should wait: the admission limit's estimate, or one slot
  // (at least 1 s) when the hard cap refused.
  uint32_t retry_after(const AdmissionResult& r) const {
    if (r.retry_after_s > 0) return r.retry_after_s;
    std::lock_guard lock(mu_);
    return chain_.admission().retry_after_s(chain_.pending_count());
  }

  HttpResponse tx(std::string_view arg) const {
    auto id = util::from_hex_fixed<32>(arg);
    if (!id.ok()) return error(400, "invalid_id", id.status().message());
    std::lock_guard lock(mu_);
    auto loc = chain_.store().tx_location(*id);
    if (!loc.ok()) return error(500, "state_error", loc.status().message());
    if (*loc) {
      json j = {{"id", std::string(arg)},
                {"status", "final"},  // only final blocks are applied
                {"height", (*loc)->height},
                {"index", (*loc)->index}};
      auto b = chain_.store().block_at((*loc)->height);
      if (b.ok() && *b && (*loc)->index < (*b)->txs.size()) {
        j["block_hash"] = util::to_hex((*b)->header.hash());
        j["time_ms"] = (*b)->header.time_ms;
        j["tx"] = tx_json((*b)->txs[(*loc)->index]);
      }
      return reply(200, j);
    }
    if (chain_.is_pending(*id))
      return reply(200, {{"id", std::string(arg)}, {"status", "pending"}});
    if (auto rej = chain_.rejection(*id)) {
      json j = {{"id", std::string(arg)},
                {"status", "rejected"},
                {"code", ledger::reject_name(rej->error.reason)},
                {"reason", static_cast<int>(rej->error.reason)},
                {"message", rej->error.message}};
      if (rej->height > 0) j["height"] = rej->height;
      return reply(200, j);
    }
    return error(404, "not_found", "unknown transaction " + std::string(arg));
  }

  static constexpr size_t kListLimit = 1000;

  static std::string address_in_key(const util::Bytes& key) {
    crypto::AddressBytes a{};
    std::copy(key.begin() + 1, key.begin() + 1 + static_cast<std::ptrdiff_t>(a.size()), a.begin());
    return crypto::encode_address(a);
  }

  template <typename T, typename ToJson>
  HttpResponse list(uint8_t prefix, ToJson&& to_json) const {
    std::lock_guard lock(mu_);
    const uint8_t p[1] = {prefix};
    auto entries = chain_.store().scan_state(util::ByteSpan(p, 1), kListLimit);
    if (!entries.ok()) return error(500, "state_error", entries.status().message());
    json out = json::array();
    for (const auto& [k, v] : *entries) {
      auto rec = codec::decode<T>(v);
      if (!rec.ok() || k.size() != 21) return error(500, "state_error", "damaged record");
      out.push_back(to_json(address_in_key(k), *rec));
    }
    return reply(200, out);
  }

  template <typename T, typename ToJson>
  HttpResponse one(const util::Bytes& key, const std::string& what, ToJson&& to_json) const {
    std::lock_guard lock(mu_);
    auto rec = ledger::get_record<T>(chain_.store().state(), key);
    if (!rec.ok()) return error(500, "state_error", rec.status().message());
    if (!*rec) return error(404, "not_found", what + " is not registered");
    json out = to_json(**rec);
    auto proof = proof_json(key);
    if (!proof.ok()) return error(500, "state_error", proof.status().message());
    out["state_proof"] = *proof;
    return reply(200, out);
  }

  HttpResponse delegates() const {
    // Called by list() with mu_ held. The round is the next block's (jailing counts in rounds).
    std::optional<uint64_t> round;
    return list<ledger::Delegate>(
        ledger::keys::kDelegate, [&](const std::string& addr, const ledger::Delegate& d) {
          if (!round) {
            auto sched = chain_.next_schedule();
            round = sched.ok() ? sched->round : 0;
          }
          json j = {{"address", addr},
                    {"name", d.name},
                    {"registered_height", d.registered_height},
                    {"missed", d.missed},
                    {"jailed", d.jailed_height != 0 && *round < d.jailed_until_round},
                    {"jailed_height", d.jailed_height},
                    {"jailed_until_round", d.jailed_until_round}};
          auto who = crypto::parse_address(addr);
          if (who.ok()) {
            auto acc = ledger::get_record<ledger::Account>(chain_.store().state(),
                                                           ledger::keys::account(*who));
            if (acc.ok()) j["stake"] = ledger::format_amount(*acc ? (*acc)->stake : 0);
          }
          return j;
        });
  }

  static json node_json(const std::string& addr, const ledger::NodeRecord& n) {
    return {{"node", addr},
            {"owner", crypto::encode_address(n.owner)},
            {"class", static_cast<int>(n.info.node_class)},
            {"endpoints", n.info.endpoints},
            {"region", n.info.region},
            {"capacity_bytes_per_s", n.info.capacity_bytes_per_s},
            {"stake", ledger::format_amount(n.stake)},
            {"registered_height", n.registered_height}};
  }

  HttpResponse nodes() const { return list<ledger::NodeRecord>('n', node_json); }

  HttpResponse device(std::string_view arg) const {
    auto addr = crypto::parse_address(arg);
    if (!addr.ok()) return error(400, "invalid_address", addr.status().message());
    return one<ledger::DeviceRecord>(ledger::keys::device(*addr), "device " + std::string(arg),
                                     [&](const ledger::DeviceRecord& d) {
                                       return json{{"device", std::string(arg)},
                                                   {"owner", crypto::encode_address(d.owner)},
                                                   {"default_tier", d.default_tier},
                                                   {"sponsor", crypto::encode_address(d.sponsor)},
                                                   {"registered_height", d.registered_height}};
                                     });
  }

  HttpResponse name(std::string_view arg) const {
    if (!ledger::valid_name(arg)) {
      return error(400, "invalid_name", "'" + std::string(arg) + "' is not a valid name");
    }
    return one<ledger::NameRecord>(
        ledger::keys::name(arg), "name '" + std::string(arg) + "'",
        [&](const ledger::NameRecord& n) {
          static const char* kKinds[] = {"", "node", "topic", "content", "url"};
          return json{
              {"name", std::string(arg)},
              {"owner", crypto::encode_address(n.owner)},
              {"target",
               {{"kind", kKinds[static_cast<int>(n.target.kind)]}, {"value", n.target.value}}},
              {"registered_height", n.registered_height},
              {"updated_height", n.updated_height}};
        });
  }

  HttpResponse notarization(std::string_view arg) const {
    auto hash = util::from_hex_fixed<32>(arg);
    if (!hash.ok()) return error(400, "invalid_hash", hash.status().message());
    return one<ledger::Notarization>(ledger::keys::notarization(*hash),
                                     "content " + std::string(arg),
                                     [&](const ledger::Notarization& n) {
                                       return json{{"content_hash", std::string(arg)},
                                                   {"owner", crypto::encode_address(n.owner)},
                                                   {"size", n.size},
                                                   {"metadata", util::to_hex(n.metadata)},
                                                   {"height", n.height},
                                                   {"time_ms", n.time_ms}};
                                     });
  }

  HttpResponse epoch(std::string_view arg) const {
    auto e = parse_u64(arg);
    if (!e) return error(400, "invalid_epoch", "'" + std::string(arg) + "' is not an epoch number");
    std::lock_guard lock(mu_);
    auto rec = ledger::get_record<ledger::EpochRecord>(chain_.store().state(),
                                                       ledger::keys::pod_epoch(*e));
    if (!rec.ok()) return error(500, "state_error", rec.status().message());
    const ledger::PodParams& pp = chain_.config().params.pod;
    uint64_t now = pp.epoch_of(chain_.tip().height);
    if (!*rec) {
      return error(404, "not_found",
                   "epoch " + std::string(arg) +
                       (*e + 2 <= now ? " is paid out" : " has no PoD record yet") +
                       " (current epoch " + std::to_string(now) + ")");
    }
    json relayers = json::array();
    for (const auto& r : (*rec)->relayers) {
      relayers.push_back({{"node", crypto::encode_address(r.node)},
                          {"owner", crypto::encode_address(r.owner)},
                          {"weight", r.weight}});
    }
    return reply(200, {{"epoch", *e},
                       {"first_height", *e * pp.epoch_blocks},
                       {"payout_height", (*e + 2) * pp.epoch_blocks},
                       {"pool", ledger::format_amount((*rec)->pool)},
                       {"total_weight", (*rec)->total_weight},
                       {"relayers", relayers}});
  }

  Chain& chain_;
  std::mutex& mu_;
  std::string node_address_;
  ConsensusService* consensus_;
};

}  // namespace

api::HttpHandler make_api_routes(Chain& chain, std::mutex& chain_mu,
                                 const crypto::PublicKey& node_key, ConsensusService* consensus) {
  return Routes(chain, chain_mu, node_key, consensus);
}

}  // namespace imet::node
