// `imet tx …`: builds a transaction of any kind, signs it with a key from the key store and either
// writes it to a file (--offline, or --out: {"id", "kind", "tx": "<hex>"}, the body POST /v1/txs
// takes) or submits it to a node. Online, the chain id, the sender's next nonce, the minimum fee
// and the expiry height (head + 1,000) come from the node unless given; offline, --chain-id,
// --nonce and --expiry-height are required (the offline-payment path of SPEC section 5).
// `imet tx submit FILE` sends a signed file later. Wallet-internal header (uses ledger types).
// Thread-safety: call from the main thread (may prompt for a passphrase).
// Invariants: amounts are decimal IMET; an output file is never overwritten; nothing is sent
// when a local check fails.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "ledger/transaction.h"
#include "wallet/key_commands.h"
#include "wallet/node_client.h"

namespace imet::wallet {

struct TxOptions {
  std::string from;  // key name (or key file path) of the sender
  std::string fee;   // decimal IMET; empty: the kind's minimum
  std::optional<uint64_t> nonce;
  std::optional<uint64_t> expiry_height;
  std::string chain_id;
  bool offline = false;
  std::string out_file;  // write here instead of submitting (implied by --offline)
  std::string node_url;  // empty: $IMET_NODE or http://127.0.0.1:8645
  bool wait = false;     // after submitting, wait until final or rejected
};

// Builds the body; gets the sender's key and the chain id (some bodies carry signatures that
// name them).
using BodyBuilder = std::function<util::Result<ledger::TxBody>(const crypto::SigningKey& sender,
                                                               const std::string& chain_id)>;

util::Status run_tx(const KeyCommandContext& ctx, const TxOptions& opts, const BodyBuilder& body);
// POSTs a file written by run_tx (--offline) to the node.
util::Status tx_submit(const KeyCommandContext& ctx, const std::string& file,
                       const std::string& node_url, bool wait);

// Key helpers shared by the commands: `spec` is a key name in the key store, or a path to a key
// file (for example a node's node_key.json).
util::Result<crypto::SigningKey> load_signing_key(const KeyCommandContext& ctx,
                                                  const std::string& spec);
// As above, or a 64-hex-digit public key; never needs the passphrase.
util::Result<crypto::PublicKey> load_public_key(const KeyCommandContext& ctx,
                                                const std::string& spec);
// An imet1… address, or the address of a key (name or key file).
util::Result<crypto::AddressBytes> resolve_address(const KeyCommandContext& ctx,
                                                   const std::string& spec);

// Polls GET /v1/txs/{id} until final or rejected (timeout_s); returns the final JSON text.
util::Result<std::string> wait_for_tx(const NodeClient& node, const std::string& id,
                                      int timeout_s = 60);

}  // namespace imet::wallet
