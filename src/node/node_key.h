// The node's identity key (Ed25519), kept in <data_dir>/node_key.json in the wallet key-file
// format: created on first start, loaded afterwards. Encrypted with a passphrase unless the node
// runs a dev network or the operator opted out (node_key.unencrypted).
// Thread-safety: call once at start-up. Invariants: an existing key file is never replaced; a key
// that cannot be opened (wrong passphrase, damaged file) stops start-up with that reason.
#pragma once

#include <string>

#include "crypto/ed25519.h"
#include "node/config.h"

namespace imet::node {

struct NodeKeyResult {
  crypto::SigningKey key;
  bool created = false;
};

util::Result<NodeKeyResult> load_or_create_node_key(const std::string& path,
                                                    const NodeConfig& config);

}  // namespace imet::node
