#include "wallet/tx_commands.h"

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "ledger/apply.h"
#include "util/fs.h"
#include "wallet/json_fields.h"
#include "wallet/keystore.h"

namespace imet::wallet {

namespace {

using nlohmann::json;

// A key spec names a file when it looks like a path (a '/' or a .json/.key name) and one exists;
// otherwise it is a key name in the key store.
bool is_file(const std::string& path) {
  bool looks_like_path =
      path.find('/') != std::string::npos || path.ends_with(".json") || path.ends_with(".key");
  struct stat st {};
  return looks_like_path && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

util::Result<KeyFile> read_key_file(const KeyCommandContext& ctx, const std::string& spec) {
  if (is_file(spec)) {
    IMET_ASSIGN_OR_RETURN(std::string text, util::read_file(spec, 1 << 20));
    auto kf = parse_key_file(text);
    if (!kf.ok()) return kf.status().with_context("key file '" + spec + "'");
    return kf;
  }
  IMET_ASSIGN_OR_RETURN(KeyStore store, KeyStore::open(ctx.key_dir, /*create=*/false));
  return store.read(spec);
}

util::Result<json> parse_json(const std::string& text, const std::string& what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return util::corruption(what + " is not valid JSON");
  return j;
}

// Prints the outcome of a submission (and of --wait).
util::Status report(const KeyCommandContext& ctx, const NodeClient& node, const std::string& id,
                    bool wait) {
  json out = {{"id", id}, {"status", "pending"}};
  if (wait) {
    IMET_ASSIGN_OR_RETURN(std::string text, wait_for_tx(node, id));
    IMET_ASSIGN_OR_RETURN(out, parse_json(text, "the node's answer"));
  }
  if (ctx.json) {
    *ctx.out << out.dump() << "\n";
  } else if (json_text(out, "status") == "final") {
    *ctx.out << "transaction " << id << " final at height " << out["height"] << "\n";
  } else if (json_text(out, "status") == "rejected") {
    *ctx.out << "transaction " << id << " rejected\n";
  } else {
    *ctx.out << "transaction " << id << " submitted (pending)\n";
  }
  if (json_text(out, "status") == "rejected") {
    return util::invalid_argument("transaction " + id + " was rejected: " + json_text(out, "code") +
                                  " (reason " + out["reason"].dump() +
                                  "): " + json_text(out, "message"));
  }
  return {};
}

util::Status submit_hex(const KeyCommandContext& ctx, const NodeClient& node,
                        const std::string& tx_hex, bool wait) {
  IMET_ASSIGN_OR_RETURN(std::string text, node.post("/v1/txs", json{{"tx", tx_hex}}.dump()));
  IMET_ASSIGN_OR_RETURN(json j, parse_json(text, "the node's answer"));
  return report(ctx, node, json_text(j, "id"), wait);
}

}  // namespace

util::Result<crypto::SigningKey> load_signing_key(const KeyCommandContext& ctx,
                                                  const std::string& spec) {
  if (spec.empty()) return util::invalid_argument("--from is required: the name of a key");
  IMET_ASSIGN_OR_RETURN(KeyFile kf, read_key_file(ctx, spec));
  std::string pass;
  if (kf.encrypted()) {
    IMET_ASSIGN_OR_RETURN(
        pass, get_passphrase(ctx.passphrase, "Passphrase for key '" + spec + "': ", false));
  }
  return open_key(kf, pass);
}

util::Result<crypto::PublicKey> load_public_key(const KeyCommandContext& ctx,
                                                const std::string& spec) {
  if (spec.size() == 64 && spec.find_first_not_of("0123456789abcdef") == std::string::npos) {
    return util::from_hex_fixed<32>(spec);
  }
  IMET_ASSIGN_OR_RETURN(KeyFile kf, read_key_file(ctx, spec));
  return kf.public_key;
}

util::Result<crypto::AddressBytes> resolve_address(const KeyCommandContext& ctx,
                                                   const std::string& spec) {
  if (spec.starts_with("imet1")) return crypto::parse_address(spec);
  auto pk = load_public_key(ctx, spec);
  if (!pk.ok()) {
    return util::invalid_argument(
        "'" + spec + "' is neither an imet1… address nor a key: " + pk.status().message());
  }
  return crypto::address_bytes_of(*pk);
}

util::Result<std::string> wait_for_tx(const NodeClient& node, const std::string& id,
                                      int timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    auto text = node.get("/v1/txs/" + id);
    if (text.ok()) {
      json j = json::parse(*text, nullptr, false);
      std::string status = j.is_object() ? json_text(j, "status") : "";
      if (status == "final" || status == "rejected") return text;
    } else if (text.status().code() != util::StatusCode::kNotFound) {
      return text.status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return util::unavailable("transaction " + id + " is not final after " +
                           std::to_string(timeout_s) + " s");
}

util::Status run_tx(const KeyCommandContext& ctx, const TxOptions& o, const BodyBuilder& build) {
  IMET_ASSIGN_OR_RETURN(crypto::SigningKey key, load_signing_key(ctx, o.from));
  ledger::Transaction tx;
  tx.chain_id = o.chain_id;
  std::optional<NodeClient> node;
  std::optional<ledger::Amount> min_fee;
  if (o.offline) {
    if (o.chain_id.empty()) return util::invalid_argument("--offline needs --chain-id");
    if (!o.nonce)
      return util::invalid_argument("--offline needs --nonce (the sender's next nonce)");
    if (!o.expiry_height) return util::invalid_argument("--offline needs --expiry-height");
    if (o.out_file.empty() && !ctx.out) return util::invalid_argument("--offline needs --out");
  } else {
    IMET_ASSIGN_OR_RETURN(NodeClient n, NodeClient::connect_to(o.node_url));
    node = n;
    IMET_ASSIGN_OR_RETURN(std::string status_text, node->get("/v1/status"));
    IMET_ASSIGN_OR_RETURN(json status, parse_json(status_text, "GET /v1/status"));
    std::string node_chain = json_text(status, "chain_id");
    if (!o.chain_id.empty() && o.chain_id != node_chain) {
      return util::invalid_argument("--chain-id " + o.chain_id + " but the node at " + node->url() +
                                    " runs " + node_chain);
    }
    tx.chain_id = node_chain;
    uint64_t height = status.value("height", uint64_t{0});
    tx.expiry_height = o.expiry_height.value_or(height + 1000);
    if (o.nonce) {
      tx.nonce = *o.nonce;
    } else {
      IMET_ASSIGN_OR_RETURN(std::string acc_text,
                            node->get("/v1/accounts/" + crypto::address_of(key.public_key())));
      IMET_ASSIGN_OR_RETURN(json acc, parse_json(acc_text, "the account"));
      tx.nonce = acc.value("nonce", uint64_t{0});
    }
    IMET_ASSIGN_OR_RETURN(tx.body, build(key, tx.chain_id));
    std::string kind = ledger::tx_kind_name(tx.kind());
    if (status.contains("min_fees") && status["min_fees"].contains(kind)) {
      auto f = ledger::parse_amount(json_text(status["min_fees"], kind.c_str()));
      if (f.ok()) min_fee = *f;
    }
  }
  if (o.offline) {
    tx.nonce = *o.nonce;
    tx.expiry_height = *o.expiry_height;
    IMET_ASSIGN_OR_RETURN(tx.body, build(key, tx.chain_id));
  }
  if (!o.fee.empty()) {
    auto fee = ledger::parse_amount(o.fee);
    if (!fee.ok()) return fee.status().with_context("--fee");
    tx.fee = *fee;
  } else {
    tx.fee = min_fee.value_or(ledger::ChainParams{}.fees.min_fee(tx.kind()));
  }
  tx.sign(key);
  auto valid = codec::validate(tx);
  if (!valid.ok()) return valid.with_context("the transaction is malformed");
  IMET_ASSIGN_OR_RETURN(util::Bytes encoded, codec::try_encode(tx));
  const std::string id = util::to_hex(tx.id());
  if (o.offline || !o.out_file.empty()) {
    std::string text = json{{"id", id},
                            {"kind", ledger::tx_kind_name(tx.kind())},
                            {"chain_id", tx.chain_id},
                            {"sender", crypto::address_of(tx.sender)},
                            {"nonce", tx.nonce},
                            {"fee", ledger::format_amount(tx.fee)},
                            {"expiry_height", tx.expiry_height},
                            {"tx", util::to_hex(encoded)}}
                           .dump() +
                       "\n";
    if (o.out_file.empty()) {
      *ctx.out << text;
      return {};
    }
    IMET_TRY(util::write_file_new(o.out_file, text, 0600));
    if (!ctx.json)
      *ctx.out << "signed " << ledger::tx_kind_name(tx.kind()) << " " << id << " written to "
               << o.out_file << "\n";
    return {};
  }
  return submit_hex(ctx, *node, util::to_hex(encoded), o.wait);
}

util::Status tx_submit(const KeyCommandContext& ctx, const std::string& file,
                       const std::string& node_url, bool wait) {
  IMET_ASSIGN_OR_RETURN(std::string text, util::read_file(file, 1 << 20));
  IMET_ASSIGN_OR_RETURN(json j, parse_json(text, "'" + file + "'"));
  std::string hex = j.is_object() ? json_text(j, "tx") : "";
  if (hex.empty()) return util::invalid_argument("'" + file + "' has no \"tx\" field");
  auto raw = util::from_hex(hex);
  if (!raw.ok()) return raw.status().with_context("'" + file + "': tx");
  auto tx = codec::decode<ledger::Transaction>(*raw);
  if (!tx.ok()) return tx.status().with_context("'" + file + "' does not hold a transaction");
  IMET_ASSIGN_OR_RETURN(NodeClient node, NodeClient::connect_to(node_url));
  return submit_hex(ctx, node, hex, wait);
}

}  // namespace imet::wallet
