// `imet tx transfer … --offline`: builds a transfer, signs it with a key from the key store, and
// writes {"id": "<hex>", "tx": "<hex of the canonical encoding>"}, the body POST /v1/txs takes
// (docs/api.md). Signing never needs a node (the offline-payment path of SPEC section 5).
// Thread-safety: call from the main thread (may prompt for a passphrase).
// Invariants: amounts are decimal IMET; the output file is never overwritten.
#pragma once

#include <ostream>
#include <string>

#include "wallet/key_commands.h"

namespace imet::wallet {

struct TransferOptions {
  std::string key_name;
  std::string to;           // imet1…
  std::string amount;       // decimal IMET, e.g. "12.5"
  std::string fee = "0.5";  // decimal IMET
  std::string memo;
  std::string chain_id;
  uint64_t nonce = 0;
  uint64_t expiry_height = 0;
  std::string out_file;  // empty: print
};

util::Status tx_transfer_offline(const KeyCommandContext& ctx, const TransferOptions& opts);

}  // namespace imet::wallet
