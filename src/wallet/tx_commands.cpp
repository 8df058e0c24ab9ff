#include "wallet/tx_commands.h"

#include <nlohmann/json.hpp>

#include "ledger/transaction.h"
#include "util/fs.h"
#include "wallet/keystore.h"

namespace imet::wallet {

util::Status tx_transfer_offline(const KeyCommandContext& ctx, const TransferOptions& o) {
  if (o.chain_id.empty()) return util::invalid_argument("--chain-id is required");
  if (o.expiry_height == 0) return util::invalid_argument("--expiry-height is required");
  IMET_ASSIGN_OR_RETURN(crypto::AddressBytes to, crypto::parse_address(o.to));
  auto amount = ledger::parse_amount(o.amount);
  if (!amount.ok()) return amount.status().with_context("--amount");
  auto fee = ledger::parse_amount(o.fee);
  if (!fee.ok()) return fee.status().with_context("--fee");
  IMET_ASSIGN_OR_RETURN(KeyStore store, KeyStore::open(ctx.key_dir, /*create=*/false));
  IMET_ASSIGN_OR_RETURN(KeyFile kf, store.read(o.key_name));
  std::string pass;
  if (kf.encrypted()) {
    IMET_ASSIGN_OR_RETURN(
        pass, get_passphrase(ctx.passphrase, "Passphrase for key '" + o.key_name + "': ", false));
  }
  IMET_ASSIGN_OR_RETURN(crypto::SigningKey key, open_key(kf, pass));
  ledger::Transaction tx;
  tx.chain_id = o.chain_id;
  tx.nonce = o.nonce;
  tx.fee = *fee;
  tx.expiry_height = o.expiry_height;
  tx.body = ledger::Transfer{to, *amount, util::to_bytes(o.memo)};
  tx.sign(key);
  IMET_ASSIGN_OR_RETURN(util::Bytes encoded, codec::try_encode(tx));
  std::string text =
      nlohmann::json{{"id", util::to_hex(tx.id())}, {"tx", util::to_hex(encoded)}}.dump() + "\n";
  if (o.out_file.empty()) {
    *ctx.out << text;
    return {};
  }
  return util::write_file_new(o.out_file, text, 0600);
}

}  // namespace imet::wallet
