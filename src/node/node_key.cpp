#include "node/node_key.h"

#include "util/fs.h"
#include "wallet/key_file.h"
#include "wallet/passphrase.h"

namespace imet::node {

namespace {

util::Result<std::string> node_passphrase(const NodeConfig& config) {
  wallet::PassphraseOptions opts{config.node_key_passphrase_file, /*allow_env=*/true};
  auto pass = wallet::get_passphrase(opts, "Node key passphrase: ", /*confirm=*/false);
  if (!pass.ok()) {
    return util::invalid_argument(
        "the node key needs a passphrase (" + pass.status().message() +
        "); give one with --passphrase-file FILE, node_key.passphrase_file in the config, or "
        "IMET_PASSPHRASE, or set node_key.unencrypted = true for a test network");
  }
  return pass;
}

}  // namespace

util::Result<NodeKeyResult> load_or_create_node_key(const std::string& path,
                                                    const NodeConfig& config) {
  auto text = util::read_file(path, 1 << 20);
  if (text.ok()) {
    auto kf = wallet::parse_key_file(*text);
    if (!kf.ok()) return kf.status().with_context("node key '" + path + "' is damaged");
    std::string pass;
    if (kf->encrypted()) {
      IMET_ASSIGN_OR_RETURN(pass, node_passphrase(config));
    }
    auto key = wallet::open_key(*kf, pass);
    if (!key.ok()) return key.status().with_context("cannot open node key '" + path + "'");
    return NodeKeyResult{std::move(key).value(), false};
  }
  if (text.status().code() != util::StatusCode::kNotFound) return text.status();

  crypto::SigningKey key = crypto::SigningKey::generate();
  wallet::KeyFile kf;
  if (config.unencrypted_node_key) {
    kf = wallet::plain_key(key);
  } else {
    IMET_ASSIGN_OR_RETURN(std::string pass, node_passphrase(config));
    IMET_ASSIGN_OR_RETURN(kf, wallet::seal_key(key, pass));
  }
  IMET_TRY(util::write_file_new(path, wallet::serialize_key_file(kf), 0600));
  return NodeKeyResult{std::move(key), true};
}

}  // namespace imet::node
