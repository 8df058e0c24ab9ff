#include "wallet/query_commands.h"

#include <ctime>
#include <fstream>

#include <nlohmann/json.hpp>

#include "ledger/block.h"
#include "ledger/smt/hash.h"
#include "ledger/smt/proof.h"
#include "ledger/state.h"
#include "util/fs.h"
#include "wallet/json_fields.h"

namespace imet::wallet {

namespace {

using nlohmann::json;

util::Result<json> get_json(const NodeClient& node, const std::string& path) {
  IMET_ASSIGN_OR_RETURN(std::string text, node.get(path));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return util::corruption("GET " + path + ": the node sent invalid JSON");
  return j;
}

std::string utc(uint64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string scalar(const json& v) {
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (s.size() > 80) return s.substr(0, 16) + "… (" + std::to_string(s.size() / 2) + " bytes)";
    return s;
  }
  return v.dump();
}

// Human output: "key: value" lines, nested objects indented, arrays of objects as "- " items.
void print_human(std::ostream& out, const json& j, int indent) {
  std::string pad(static_cast<size_t>(indent), ' ');
  if (j.is_array()) {
    if (j.empty()) out << pad << "(none)\n";
    for (const auto& e : j) {
      if (e.is_object()) {
        bool first = true;
        for (const auto& [k, v] : e.items()) {
          out << pad << (first ? "- " : "  ");
          first = false;
          if (v.is_structured()) {
            out << k << ":\n";
            print_human(out, v, indent + 4);
          } else {
            out << k << ": " << scalar(v) << "\n";
          }
        }
      } else {
        out << pad << "- " << scalar(e) << "\n";
      }
    }
    return;
  }
  if (!j.is_object()) {
    out << pad << scalar(j) << "\n";
    return;
  }
  for (const auto& [k, v] : j.items()) {
    if (v.is_array() &&
        std::none_of(v.begin(), v.end(), [](const json& e) { return e.is_structured(); })) {
      std::string list;
      for (const auto& e : v)
        list += (list.empty() ? "" : ", ") + scalar(e);
      out << pad << k << ": " << (list.empty() ? "(none)" : list) << "\n";
    } else if (v.is_structured()) {
      out << pad << k << ":\n";
      print_human(out, v, indent + 2);
    } else {
      out << pad << k << ": " << scalar(v) << "\n";
      if (k == "time_ms" && v.is_number_unsigned()) {
        out << pad << "time: " << utc(v.get<uint64_t>()) << "\n";
      }
    }
  }
}

void show(const KeyCommandContext& ctx, const json& j) {
  if (ctx.json) {
    *ctx.out << j.dump() << "\n";
  } else {
    print_human(*ctx.out, j, 0);
  }
}

// The header of the block at `height`, checked: decodes, hashes to the block hash the node gave,
// producer signature valid.
util::Result<ledger::BlockHeader> fetch_header(const NodeClient& node, uint64_t height) {
  IMET_ASSIGN_OR_RETURN(json b, get_json(node, "/v1/blocks/" + std::to_string(height)));
  auto raw = util::from_hex(json_text(b, "header"));
  if (!raw.ok()) return util::corruption("block " + std::to_string(height) + ": no header");
  auto h = codec::decode<ledger::BlockHeader>(*raw);
  if (!h.ok()) return h.status().with_context("block " + std::to_string(height) + " header");
  if (util::to_hex(h->hash()) != json_text(b, "hash")) {
    return util::corruption("block " + std::to_string(height) +
                            ": the header does not hash to the block hash the node named");
  }
  return h;
}

util::Result<ledger::BlockHeader> parse_header(const std::string& arg) {
  std::string hex = arg;
  if (arg.find('/') != std::string::npos || arg.find('.') != std::string::npos) {
    IMET_ASSIGN_OR_RETURN(hex, util::read_file(arg, 1 << 20));
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == ' '))
      hex.pop_back();
  }
  auto raw = util::from_hex(hex);
  if (!raw.ok()) return raw.status().with_context("--header");
  auto h = codec::decode<ledger::BlockHeader>(*raw);
  if (!h.ok()) return h.status().with_context("--header is not a block header");
  return h;
}

struct CheckedProof {
  util::Bytes key;
  std::optional<util::Bytes> record;
  uint64_t height = 0;
};

// Checks a proof object {key, record?, proof, height, state_root} against `header`.
util::Result<CheckedProof> check_proof(const json& p, const ledger::BlockHeader& header) {
  if (!header.signature_valid()) {
    return util::invalid_argument("block " + std::to_string(header.height) +
                                  ": the producer signature of the header does not verify");
  }
  CheckedProof out;
  out.height = p.value("height", uint64_t{0});
  if (out.height != header.height) {
    return util::invalid_argument("the proof is for height " + std::to_string(out.height) +
                                  ", the header is block " + std::to_string(header.height));
  }
  IMET_ASSIGN_OR_RETURN(out.key, util::from_hex(json_text(p, "key")));
  if (out.key.empty()) return util::invalid_argument("the proof names no state key");
  if (p.contains("record")) {
    IMET_ASSIGN_OR_RETURN(util::Bytes rec, util::from_hex(json_text(p, "record")));
    out.record = rec;
  }
  IMET_ASSIGN_OR_RETURN(util::Bytes proof_raw, util::from_hex(json_text(p, "proof")));
  auto proof = codec::decode<ledger::smt::Proof>(proof_raw);
  if (!proof.ok()) return proof.status().with_context("proof");
  if (json_text(p, "state_root") != util::to_hex(header.state_root)) {
    return util::invalid_argument("the proof claims state root " + json_text(p, "state_root") +
                                  " but block " + std::to_string(header.height) + " has " +
                                  util::to_hex(header.state_root));
  }
  std::optional<ledger::smt::ValueHash> value;
  if (out.record) value = ledger::smt::value_hash_of(*out.record);
  util::Status st =
      ledger::smt::verify(header.state_root, ledger::smt::key_of(out.key), value, *proof);
  if (!st.ok()) return st.with_context("state proof does not verify");
  return out;
}

std::string describe(const CheckedProof& c) {
  const uint8_t kind = c.key[0];
  std::string id = kind == 'm' || kind == 'l'
                       ? std::string(c.key.begin() + 1, c.key.end())
                       : (c.key.size() == 21 ? crypto::encode_address([&] {
                           crypto::AddressBytes a{};
                           std::copy(c.key.begin() + 1, c.key.end(), a.begin());
                           return a;
                         }())
                                             : util::to_hex(util::ByteSpan(c.key).subspan(1)));
  const char* what = kind == 'a'   ? "account"
                     : kind == 'd' ? "delegate"
                     : kind == 'n' ? "node"
                     : kind == 'v' ? "device"
                     : kind == 'm' ? "name"
                     : kind == 'z' ? "notarization"
                                   : "state entry";
  std::string s = std::string(what) + " " + id;
  if (!c.record) return s + " is absent";
  if (kind == 'a') {
    auto a = codec::decode<ledger::Account>(*c.record);
    if (a.ok()) {
      return s + " holds balance " + ledger::format_amount(a->balance) + " IMET, stake " +
             ledger::format_amount(a->stake) + " IMET, nonce " + std::to_string(a->nonce);
    }
  }
  if (kind == 'z') {
    auto n = codec::decode<ledger::Notarization>(*c.record);
    if (n.ok()) {
      return s + " is owned by " + crypto::encode_address(n->owner) + " since height " +
             std::to_string(n->height);
    }
  }
  return s + " holds a " + std::to_string(c.record->size()) + "-byte record";
}

}  // namespace

util::Result<std::pair<crypto::Hash256, uint64_t>> hash_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return util::not_found("cannot open '" + path + "'");
  crypto::Blake2b256 h;
  std::vector<char> buf(1 << 16);
  uint64_t size = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    auto n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    h.update(util::ByteSpan(reinterpret_cast<const uint8_t*>(buf.data()), n));
    size += n;
  }
  if (in.bad()) return util::io_error("error reading '" + path + "'");
  return std::make_pair(h.finish(), size);
}

util::Status query(const KeyCommandContext& ctx, const std::string& node_url,
                   const std::string& what, const std::string& arg) {
  IMET_ASSIGN_OR_RETURN(NodeClient node, NodeClient::connect_to(node_url));
  auto need_arg = [&](const char* name) -> util::Status {
    if (arg.empty()) return util::invalid_argument("imet query " + what + " needs " + name);
    return {};
  };
  std::string path;
  if (what == "status") {
    path = "/v1/status";
  } else if (what == "account") {
    IMET_TRY(need_arg("an address or key name"));
    IMET_ASSIGN_OR_RETURN(crypto::AddressBytes a, resolve_address(ctx, arg));
    path = "/v1/accounts/" + crypto::encode_address(a);
  } else if (what == "block") {
    IMET_TRY(need_arg("a height or block hash"));
    path = "/v1/blocks/" + arg;
  } else if (what == "tx") {
    IMET_TRY(need_arg("a transaction id"));
    path = "/v1/txs/" + arg;
  } else if (what == "delegates" || what == "nodes") {
    path = "/v1/" + what;
  } else if (what == "device" || what == "devices") {
    IMET_TRY(need_arg("a device address or key"));
    IMET_ASSIGN_OR_RETURN(crypto::AddressBytes a, resolve_address(ctx, arg));
    path = "/v1/devices/" + crypto::encode_address(a);
  } else if (what == "name" || what == "names") {
    IMET_TRY(need_arg("a name"));
    path = "/v1/names/" + arg;
  } else if (what == "notarization") {
    IMET_TRY(need_arg("a content hash"));
    path = "/v1/notarizations/" + arg;
  } else if (what == "epoch") {
    IMET_TRY(need_arg("an epoch number"));
    path = "/v1/epochs/" + arg;
  } else {
    return util::invalid_argument("unknown query '" + what + "'");
  }
  IMET_ASSIGN_OR_RETURN(json j, get_json(node, path));
  show(ctx, j);
  return {};
}

util::Status notarize_file(const KeyCommandContext& ctx, TxOptions opts, const std::string& file,
                           const std::string& metadata) {
  IMET_ASSIGN_OR_RETURN(auto hashed, hash_file(file));
  // Plain variables, not a structured binding: clang 14 cannot capture bindings in a lambda.
  const auto hash = hashed.first;
  const auto size = hashed.second;
  if (metadata.size() > ledger::kMaxMetadata) {
    return util::invalid_argument("--metadata is " + std::to_string(metadata.size()) +
                                  " bytes; the limit is " + std::to_string(ledger::kMaxMetadata));
  }
  if (!ctx.json) *ctx.out << file << ": BLAKE2b-256 " << util::to_hex(hash) << "\n";
  return run_tx(ctx, opts, [&](const crypto::SigningKey&, const std::string&) {
    return util::Result<ledger::TxBody>(ledger::Notarize{hash, size, util::to_bytes(metadata)});
  });
}

util::Status verify_file(const KeyCommandContext& ctx, const std::string& node_url,
                         const std::string& file) {
  IMET_ASSIGN_OR_RETURN(auto hashed, hash_file(file));
  auto [hash, size] = hashed;
  IMET_ASSIGN_OR_RETURN(NodeClient node, NodeClient::connect_to(node_url));
  auto n = get_json(node, "/v1/notarizations/" + util::to_hex(hash));
  if (!n.ok()) {
    if (n.status().code() == util::StatusCode::kNotFound) {
      return util::not_found(file + " (BLAKE2b-256 " + util::to_hex(hash) +
                             ") is not notarized on this chain");
    }
    return n.status();
  }
  if (!n->contains("state_proof")) return util::corruption("the node sent no state proof");
  const json& p = (*n)["state_proof"];
  IMET_ASSIGN_OR_RETURN(ledger::BlockHeader header,
                        fetch_header(node, p.value("height", uint64_t{0})));
  IMET_ASSIGN_OR_RETURN(CheckedProof c, check_proof(p, header));
  if (c.key != ledger::keys::notarization(hash) || !c.record) {
    return util::invalid_argument("the proof is not about this file's notarization");
  }
  auto rec = codec::decode<ledger::Notarization>(*c.record);
  if (!rec.ok()) return rec.status().with_context("notarization record");
  json out = {{"file", file},
              {"content_hash", util::to_hex(hash)},
              {"size", size},
              {"owner", crypto::encode_address(rec->owner)},
              {"height", rec->height},
              {"time_ms", rec->time_ms},
              {"metadata", util::to_string(rec->metadata)},
              {"declared_size", rec->size},
              {"verified_at_height", header.height},
              {"state_root", util::to_hex(header.state_root)},
              {"block_hash", util::to_hex(header.hash())}};
  if (ctx.json) {
    *ctx.out << out.dump() << "\n";
    return {};
  }
  *ctx.out << file << ": notarized by " << crypto::encode_address(rec->owner) << " at height "
           << rec->height << " (" << utc(rec->time_ms) << ")\n"
           << "  content hash " << util::to_hex(hash) << ", " << size << " bytes"
           << (rec->size != size ? " (registered size " + std::to_string(rec->size) + ")" : "")
           << "\n";
  if (!rec->metadata.empty()) *ctx.out << "  metadata: " << util::to_string(rec->metadata) << "\n";
  *ctx.out << "  verified: state proof against block " << header.height << " (hash "
           << util::to_hex(header.hash()) << ", state root " << util::to_hex(header.state_root)
           << ")\n";
  return {};
}

util::Status verify_proof(const KeyCommandContext& ctx, const std::string& node_url,
                          const std::string& proof_file, const std::string& header_arg) {
  IMET_ASSIGN_OR_RETURN(std::string text, util::read_file(proof_file, 16 << 20));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return util::invalid_argument("'" + proof_file + "' is not a JSON object");
  }
  const json& p = j.contains("state_proof") ? j["state_proof"] : j;
  if (!p.contains("proof") || !p.contains("key")) {
    return util::invalid_argument("'" + proof_file +
                                  "' holds no proof (save `imet query account ADDR --json`)");
  }
  ledger::BlockHeader header;
  if (!header_arg.empty()) {
    IMET_ASSIGN_OR_RETURN(header, parse_header(header_arg));
  } else {
    IMET_ASSIGN_OR_RETURN(NodeClient node, NodeClient::connect_to(node_url));
    IMET_ASSIGN_OR_RETURN(header, fetch_header(node, p.value("height", uint64_t{0})));
  }
  IMET_ASSIGN_OR_RETURN(CheckedProof c, check_proof(p, header));
  if (ctx.json) {
    *ctx.out << json{{"valid", true},
                     {"height", header.height},
                     {"state_root", util::to_hex(header.state_root)},
                     {"key", util::to_hex(c.key)},
                     {"present", c.record.has_value()},
                     {"statement", describe(c)}}
                    .dump()
             << "\n";
  } else {
    *ctx.out << "proof valid: " << describe(c) << " in the state of block " << header.height
             << " (state root " << util::to_hex(header.state_root) << ")\n";
  }
  return {};
}

}  // namespace imet::wallet
