#include "wallet/ledger_cli.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "ledger/pod.h"
#include "util/fs.h"
#include "wallet/query_commands.h"

namespace imet::wallet {

namespace {

using ledger::TxBody;
using BodyResult = util::Result<TxBody>;

util::Result<ledger::Amount> amount_arg(const std::string& text, const char* flag) {
  auto a = ledger::parse_amount(text);
  if (!a.ok()) return a.status().with_context(flag);
  return a;
}

util::Result<ledger::NodeClass> node_class_arg(const std::string& s) {
  if (s == "edge" || s == "1") return ledger::NodeClass::kEdge;
  if (s == "hp-cloud" || s == "2") return ledger::NodeClass::kHighPerformanceCloud;
  if (s == "cloud" || s == "3") return ledger::NodeClass::kNormalCloud;
  if (s == "super-cloud" || s == "4") return ledger::NodeClass::kSuperCloud;
  return util::invalid_argument("--class '" + s + "' must be edge, hp-cloud, cloud or super-cloud");
}

util::Result<ledger::NameTargetKind> target_kind_arg(const std::string& s) {
  if (s == "node") return ledger::NameTargetKind::kNode;
  if (s == "topic") return ledger::NameTargetKind::kTopic;
  if (s == "content") return ledger::NameTargetKind::kContent;
  if (s == "url") return ledger::NameTargetKind::kUrl;
  return util::invalid_argument("--kind '" + s + "' must be node, topic, content or url");
}

util::Result<ledger::Hash> hash_arg(const std::string& s, const char* flag) {
  auto h = util::from_hex_fixed<32>(s);
  if (!h.ok()) return h.status().with_context(flag);
  return h;
}

class Impl final : public LedgerCli {
 public:
  Impl(CLI::App& app, KeyCommandContext& ctx, util::Status* result) : ctx_(ctx), result_(result) {
    add_tx(app);
    add_query(app);
    add_notary(app);
    add_pod(app);
  }

 private:
  // ---- shared options ----
  void common(CLI::App* c) {
    c->add_option("--from", tx_.from, "sender: key name, or a key file path")->required();
    c->add_option("--fee", tx_.fee, "fee in IMET (default: the kind's minimum)");
    nonce_opt_.push_back(c->add_option("--nonce", nonce_, "nonce (default: from the node)"));
    expiry_opt_.push_back(c->add_option("--expiry-height", expiry_,
                                        "last height to include it (default: head + 1000)"));
    c->add_option("--chain-id", tx_.chain_id, "chain id (default: the node's)");
    c->add_flag("--offline", tx_.offline,
                "sign into --out FILE without a node (needs --chain-id, --nonce, --expiry-height)");
    c->add_option("--out", tx_.out_file, "write the signed transaction to FILE, do not submit");
    node_option(c);
    c->add_flag("--wait", tx_.wait, "wait until the transaction is final (or rejected)");
    c->add_flag("--json", ctx_.json, "print JSON");
  }
  void node_option(CLI::App* c) {
    c->add_option("--node", node_url_,
                  "node API URL (default $IMET_NODE or http://127.0.0.1:8645)");
  }
  TxOptions tx_options() {
    TxOptions o = tx_;
    o.node_url = node_url_;
    for (CLI::Option* opt : nonce_opt_)
      if (opt->count()) o.nonce = nonce_;
    for (CLI::Option* opt : expiry_opt_)
      if (opt->count()) o.expiry_height = expiry_;
    return o;
  }
  // Adds `imet tx NAME` whose body comes from `build`.
  CLI::App* tx_kind(
      const std::string& name, const std::string& help,
      std::function<BodyResult(const crypto::SigningKey&, const std::string&)> build) {
    CLI::App* c = tx_cmd_->add_subcommand(name, help);
    common(c);
    c->callback([this, build] { *result_ = run_tx(ctx_, tx_options(), build); });
    return c;
  }

  void add_tx(CLI::App& app) {
    tx_cmd_ = app.add_subcommand("tx", "build, sign and submit transactions");
    tx_cmd_->require_subcommand(1);
    tx_cmd_->add_option("--keydir", ctx_.key_dir, "key directory");
    tx_cmd_->add_option("--passphrase-file", ctx_.passphrase.file, "passphrase file");
    tx_cmd_->fallthrough();

    auto* transfer =
        tx_kind("transfer", "send IMET", [this](const auto&, const auto&) -> BodyResult {
          IMET_ASSIGN_OR_RETURN(crypto::AddressBytes to, resolve_address(ctx_, to_));
          IMET_ASSIGN_OR_RETURN(ledger::Amount a, amount_arg(amount_, "--amount"));
          return TxBody(ledger::Transfer{to, a, util::to_bytes(memo_)});
        });
    transfer->add_option("--to", to_, "recipient: imet1… address or key name")->required();
    transfer->add_option("--amount", amount_, "amount in IMET, e.g. 12.5")->required();
    transfer->add_option("--memo", memo_, "memo (up to 256 bytes)");

    auto* vote = tx_kind(
        "vote", "replace your approval set (no --delegate: clear it)",
        [this](const auto&, const auto&) -> BodyResult {
          ledger::Vote v;
          for (const std::string& d : delegates_) {
            IMET_ASSIGN_OR_RETURN(crypto::AddressBytes a, resolve_address(ctx_, d));
            v.delegates.push_back(a);
          }
          std::sort(v.delegates.begin(), v.delegates.end());
          v.delegates.erase(std::unique(v.delegates.begin(), v.delegates.end()), v.delegates.end());
          return TxBody(v);
        });
    vote->add_option("--delegate", delegates_, "a delegate's address (repeatable, up to 30)");

    auto* reg_del = tx_kind("register-delegate", "become a delegate candidate",
                            [this](const auto&, const auto&) -> BodyResult {
                              return TxBody(ledger::RegisterDelegate{name_});
                            });
    reg_del->add_option("--name", name_, "delegate name (a-z 0-9 - .)")->required();
    tx_kind("unregister-delegate", "withdraw your delegate candidacy",
            [](const auto&, const auto&) -> BodyResult {
              return TxBody(ledger::UnregisterDelegate{});
            });

    auto* stake =
        tx_kind("stake", "stake IMET (locked coins allowed)",
                [this](const auto&, const auto&) -> BodyResult {
                  IMET_ASSIGN_OR_RETURN(ledger::Amount a, amount_arg(amount_, "--amount"));
                  return TxBody(ledger::Stake{a});
                });
    stake->add_option("--amount", amount_, "amount in IMET")->required();
    auto* unstake = tx_kind(
        "unstake", "start unbonding staked IMET", [this](const auto&, const auto&) -> BodyResult {
          IMET_ASSIGN_OR_RETURN(ledger::Amount a, amount_arg(amount_, "--amount"));
          return TxBody(ledger::Unstake{a});
        });
    unstake->add_option("--amount", amount_, "amount in IMET")->required();

    auto* reg_node = tx_kind(
        "register-node", "register a node you own (the node key signs the ownership)",
        [this](const crypto::SigningKey& sender, const std::string& chain_id) -> BodyResult {
          IMET_ASSIGN_OR_RETURN(crypto::SigningKey node, load_signing_key(ctx_, node_));
          ledger::RegisterNode r;
          r.node_key = node.public_key();
          IMET_ASSIGN_OR_RETURN(r.info, node_info());
          IMET_ASSIGN_OR_RETURN(r.stake, amount_arg(stake_, "--stake"));
          r.node_signature =
              node.sign(ledger::node_ownership_message(chain_id, sender.public_key()));
          return TxBody(r);
        });
    reg_node->add_option("--node-key", node_, "the node's key: name or key file (node_key.json)")
        ->required();
    node_info_options(reg_node);
    reg_node->add_option("--stake", stake_, "node stake in IMET (default 0)");

    auto* upd_node = tx_kind("update-node", "change a node's class, endpoints, region, capacity",
                             [this](const auto&, const auto&) -> BodyResult {
                               ledger::UpdateNode u;
                               IMET_ASSIGN_OR_RETURN(u.node_key, load_public_key(ctx_, node_));
                               IMET_ASSIGN_OR_RETURN(u.info, node_info());
                               IMET_TRY(merge_current_info(u.node_key, u.info));
                               return TxBody(u);
                             });
    upd_node->add_option("--node-key", node_, "node key: name, key file or public key hex")
        ->required();
    node_info_options(upd_node);

    auto* unreg_node = tx_kind("unregister-node", "retire a node; its stake starts unbonding",
                               [this](const auto&, const auto&) -> BodyResult {
                                 ledger::UnregisterNode u;
                                 IMET_ASSIGN_OR_RETURN(u.node_key, load_public_key(ctx_, node_));
                                 return TxBody(u);
                               });
    unreg_node->add_option("--node-key", node_, "node key: name, key file or public key hex")
        ->required();

    auto* device = tx_kind(
        "device", "register a device key you own (with its delivery tier and sponsor)",
        [this](const crypto::SigningKey& sender, const std::string& chain_id) -> BodyResult {
          ledger::DeviceRegister d;
          IMET_ASSIGN_OR_RETURN(d.device_key, load_public_key(ctx_, device_));
          if (tier_ < 1 || tier_ > 3) return util::invalid_argument("--tier must be 1, 2 or 3");
          d.default_tier = static_cast<uint8_t>(tier_);
          d.sponsor = sender.public_key();
          if (!sponsor_.empty()) {
            IMET_ASSIGN_OR_RETURN(crypto::SigningKey sp, load_signing_key(ctx_, sponsor_));
            d.sponsor = sp.public_key();
            if (d.sponsor != sender.public_key()) {
              d.sponsor_signature =
                  sp.sign(ledger::sponsor_message(chain_id, d.device_key, sender.public_key()));
            }
          }
          return TxBody(d);
        });
    device->add_option("--device", device_, "device key: name, key file or public key hex")
        ->required();
    device->add_option("--tier", tier_, "default delivery tier 1-3 (default 2)");
    device->add_option("--sponsor", sponsor_,
                       "sponsor key (name or file) that pays the traffic and signs its consent "
                       "(default: you)");

    auto* name =
        tx_kind("name", "register a name (or --update yours) pointing to a target",
                [this](const auto&, const auto&) -> BodyResult {
                  IMET_ASSIGN_OR_RETURN(ledger::NameTargetKind k, target_kind_arg(target_kind_));
                  ledger::NameTarget t{k, target_};
                  if (update_) return TxBody(ledger::NameUpdate{name_, t});
                  return TxBody(ledger::NameRegister{name_, t});
                });
    name->add_option("--name", name_, "the name (a-z 0-9 - .)")->required();
    name->add_option("--kind", target_kind_, "target kind: node, topic, content or url")
        ->required();
    name->add_option("--target", target_, "target value")->required();
    name->add_flag("--update", update_, "update a name you own");

    auto* anchor = tx_kind("anchor", "anchor a log or sidechain root at a height",
                           [this](const auto&, const auto&) -> BodyResult {
                             IMET_ASSIGN_OR_RETURN(ledger::Hash root, hash_arg(root_, "--root"));
                             return TxBody(ledger::Anchor{log_id_, height_, root});
                           });
    anchor->add_option("--log-id", log_id_, "log or chain id")->required();
    anchor->add_option("--height", height_, "the log's height (must increase)")->required();
    anchor->add_option("--root", root_, "its root, 64 hex digits")->required();

    auto* notarize = tx_kind("notarize", "notarize a content hash (see also: imet notarize FILE)",
                             [this](const auto&, const auto&) -> BodyResult {
                               IMET_ASSIGN_OR_RETURN(ledger::Hash h, hash_arg(hash_, "--hash"));
                               return TxBody(ledger::Notarize{h, size_, util::to_bytes(metadata_)});
                             });
    notarize->add_option("--hash", hash_, "BLAKE2b-256 of the content, 64 hex digits")->required();
    notarize->add_option("--size", size_, "content size in bytes");
    notarize->add_option("--metadata", metadata_, "metadata (up to 1 KiB)");

    auto* settle =
        tx_kind("pod-settle", "settle Proof-of-Data receipts (see imet pod)",
                [this](const auto&, const auto&) -> BodyResult { return read_receipts(); });
    settle
        ->add_option("--receipts", receipts_file_,
                     "JSON file {\"receipts\": [\"<hex>\", …]} (imet pod sign-receipt)")
        ->required();

    CLI::App* submit = tx_cmd_->add_subcommand("submit", "submit a transaction signed offline");
    submit->add_option("file", submit_file_, "file written by imet tx … --offline")->required();
    node_option(submit);
    submit->add_flag("--wait", tx_.wait, "wait until final (or rejected)");
    submit->add_flag("--json", ctx_.json, "print JSON");
    submit->callback([this] { *result_ = tx_submit(ctx_, submit_file_, node_url_, tx_.wait); });
  }

  void node_info_options(CLI::App* c) {
    info_opts_.push_back(
        c->add_option("--class", class_, "edge, hp-cloud, cloud or super-cloud (default cloud)"));
    info_opts_.push_back(c->add_option("--endpoint", endpoints_,
                                       "endpoint such as tcp://203.0.113.5:7645 (repeatable)"));
    info_opts_.push_back(c->add_option("--region", region_, "region, e.g. eu-west"));
    info_opts_.push_back(
        c->add_option("--capacity", capacity_, "declared capacity, bytes per second"));
  }
  // update-node online: fields not given keep the node's registered values (offline, the whole
  // info must be given, as the transaction replaces it).
  util::Status merge_current_info(const crypto::PublicKey& key, ledger::NodeInfo& info) {
    if (tx_.offline) return {};
    IMET_ASSIGN_OR_RETURN(NodeClient node, NodeClient::connect_to(node_url_));
    IMET_ASSIGN_OR_RETURN(std::string text, node.get("/v1/nodes"));
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_array()) return util::corruption("GET /v1/nodes: not a JSON array");
    const std::string addr = crypto::address_of(key);
    for (const auto& n : j) {
      if (!n.is_object() || n.value("node", "") != addr) continue;
      auto given = [&](size_t i) {
        for (size_t k = i; k < info_opts_.size(); k += 4)
          if (info_opts_[k]->count()) return true;
        return false;
      };
      if (!given(0)) info.node_class = static_cast<ledger::NodeClass>(n.value("class", 3));
      if (!given(1)) info.endpoints = n.value("endpoints", std::vector<std::string>{});
      if (!given(2)) info.region = n.value("region", "");
      if (!given(3)) info.capacity_bytes_per_s = n.value("capacity_bytes_per_s", uint64_t{0});
      return {};
    }
    return util::not_found("node " + addr + " is not registered");
  }
  util::Result<ledger::NodeInfo> node_info() {
    ledger::NodeInfo info;
    IMET_ASSIGN_OR_RETURN(info.node_class, node_class_arg(class_));
    info.endpoints = endpoints_;
    info.region = region_;
    info.capacity_bytes_per_s = capacity_;
    return info;
  }
  BodyResult read_receipts() {
    IMET_ASSIGN_OR_RETURN(std::string text, util::read_file(receipts_file_, 16 << 20));
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("receipts") ||
        !j["receipts"].is_array()) {
      return util::invalid_argument("'" + receipts_file_ +
                                    "' must be JSON {\"receipts\": [\"<hex>\", …]}");
    }
    ledger::PodSettle s;
    for (size_t i = 0; i < j["receipts"].size(); ++i) {
      const auto& e = j["receipts"][i];
      std::string where = "'" + receipts_file_ + "' receipt " + std::to_string(i);
      if (!e.is_string()) return util::invalid_argument(where + " is not a hex string");
      auto raw = util::from_hex(e.get<std::string>());
      if (!raw.ok()) return raw.status().with_context(where);
      auto r = codec::decode<ledger::PodReceipt>(*raw);
      if (!r.ok()) return r.status().with_context(where);
      s.receipts.push_back(*r);
    }
    return TxBody(s);
  }

  void add_query(CLI::App& app) {
    CLI::App* q = app.add_subcommand("query", "read the chain from a node");
    q->require_subcommand(1);
    q->add_option("--keydir", ctx_.key_dir, "key directory (to name accounts by key)");
    q->fallthrough();
    struct Kind {
      const char* name;
      const char* help;
      const char* arg;  // nullptr: no argument
    };
    static const Kind kKinds[] = {
        {"status", "chain id, head and final height, fees", nullptr},
        {"account", "balance, stake, nonce, votes, with a state proof", "address or key name"},
        {"block", "a block by height or hash", "height or hash"},
        {"tx", "a transaction's status: pending, final or rejected (with the reason)", "id"},
        {"delegates", "registered delegates", nullptr},
        {"nodes", "registered nodes", nullptr},
        {"devices", "a registered device", "device address or key"},
        {"names", "a registered name", "name"},
        {"notarization", "who notarized a content hash, and when", "content hash"},
        {"epoch", "a Proof-of-Data epoch: pool and settled weights", "epoch number"},
    };
    for (const Kind& k : kKinds) {
      CLI::App* c = q->add_subcommand(k.name, k.help);
      if (k.arg) c->add_option("arg", query_arg_, k.arg)->required();
      node_option(c);
      c->add_flag("--json", ctx_.json, "print the node's JSON");
      std::string what = k.name;
      c->callback([this, what] { *result_ = query(ctx_, node_url_, what, query_arg_); });
    }
  }

  void add_notary(CLI::App& app) {
    CLI::App* n = app.add_subcommand("notarize", "record a file's BLAKE2b-256 hash on chain");
    n->add_option("file", file_, "the file")->required();
    n->add_option("--metadata", metadata_, "metadata stored with the hash (up to 1 KiB)");
    n->add_option("--keydir", ctx_.key_dir, "key directory");
    n->add_option("--passphrase-file", ctx_.passphrase.file, "passphrase file");
    common(n);
    n->callback([this] {
      TxOptions o = tx_options();
      if (!o.offline && o.out_file.empty()) o.wait = true;  // report the height
      *result_ = notarize_file(ctx_, o, file_, metadata_);
    });

    CLI::App* v = app.add_subcommand("verify", "who notarized this file, and when (proof-checked)");
    v->add_option("file", file_, "the file")->required();
    node_option(v);
    v->add_flag("--json", ctx_.json, "print JSON");
    v->callback([this] { *result_ = verify_file(ctx_, node_url_, file_); });

    CLI::App* vp = app.add_subcommand(
        "verify-proof", "check an account or registry proof against a block header's state root");
    vp->add_option("proof", file_, "JSON from imet query account|devices|names|notarization --json")
        ->required();
    vp->add_option("--header", header_,
                   "the block header (hex, or a file holding it); default: fetched from the node");
    node_option(vp);
    vp->add_flag("--json", ctx_.json, "print JSON");
    vp->callback([this] { *result_ = verify_proof(ctx_, node_url_, file_, header_); });
  }

  void add_pod(CLI::App& app) {
    CLI::App* pod = app.add_subcommand("pod", "Proof-of-Data tools");
    pod->require_subcommand(1);
    pod->add_option("--keydir", ctx_.key_dir, "key directory");
    pod->add_option("--passphrase-file", ctx_.passphrase.file, "passphrase file");
    pod->fallthrough();
    CLI::App* s = pod->add_subcommand(
        "sign-receipt", "sign a relay receipt as the receiving node (what the relay will do)");
    s->add_option("--receiver", node_, "receiving node's key: name or key file")->required();
    s->add_option("--relayer", relayer_, "relaying node: key name, file or public key hex")
        ->required();
    s->add_option("--epoch", height_, "epoch of the entropy block")->required();
    s->add_option("--tier", tier_, "delivery tier 1-3")->required();
    s->add_option("--messages", size_, "message count")->required();
    s->add_option("--bytes", bytes_, "bytes relayed")->required();
    s->add_option("--batch-root", root_, "batch Merkle root, 64 hex digits (default zeros)");
    s->add_option("--entropy", hash_, "a recent block hash, 64 hex digits")->required();
    s->add_option("--chain-id", tx_.chain_id, "chain id")->required();
    s->add_flag("--json", ctx_.json, "print JSON (the only output format)");
    s->callback([this] { *result_ = sign_receipt_cmd(); });
  }

  util::Status sign_receipt_cmd() {
    IMET_ASSIGN_OR_RETURN(crypto::SigningKey receiver, load_signing_key(ctx_, node_));
    ledger::PodReceipt r;
    IMET_ASSIGN_OR_RETURN(r.relayer, load_public_key(ctx_, relayer_));
    r.epoch = height_;
    if (tier_ < 1 || tier_ > 3) return util::invalid_argument("--tier must be 1, 2 or 3");
    r.tier = static_cast<uint8_t>(tier_);
    r.message_count = size_;
    r.bytes = bytes_;
    if (!root_.empty()) {
      IMET_ASSIGN_OR_RETURN(r.batch_root, hash_arg(root_, "--batch-root"));
    }
    IMET_ASSIGN_OR_RETURN(r.chain_entropy, hash_arg(hash_, "--entropy"));
    ledger::sign_receipt(r, tx_.chain_id, receiver);
    *ctx_.out << nlohmann::json{{"id", util::to_hex(ledger::receipt_id(tx_.chain_id, r))},
                                {"receipt", util::to_hex(codec::encode(r))}}
                     .dump()
              << "\n";
    return {};
  }

  KeyCommandContext& ctx_;
  util::Status* result_;
  CLI::App* tx_cmd_ = nullptr;
  TxOptions tx_;
  std::string node_url_;
  uint64_t nonce_ = 0, expiry_ = 0;
  std::vector<CLI::Option*> nonce_opt_, expiry_opt_;
  std::vector<CLI::Option*> info_opts_;  // class, endpoint, region, capacity per subcommand
  // Kind-specific options (one subcommand runs per invocation).
  std::string to_, amount_, memo_, name_, node_, stake_ = "0", class_ = "cloud", region_;
  std::vector<std::string> delegates_, endpoints_;
  uint64_t capacity_ = 0, height_ = 0, size_ = 0, bytes_ = 0;
  std::string device_, sponsor_, target_kind_, target_, log_id_, root_, hash_, metadata_;
  unsigned tier_ = 2;
  bool update_ = false;
  std::string receipts_file_, submit_file_, query_arg_, file_, header_, relayer_;
};

}  // namespace

std::unique_ptr<LedgerCli> add_ledger_commands(CLI::App& app, KeyCommandContext& ctx,
                                               util::Status* result) {
  return std::make_unique<Impl>(app, ctx, result);
}

}  // namespace imet::wallet
