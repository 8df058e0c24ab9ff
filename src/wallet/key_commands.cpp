#include "wallet/key_commands.h"

#include <nlohmann/json.hpp>

#include "crypto/address.h"
#include "util/bytes.h"
#include "util/fs.h"
#include "wallet/keystore.h"

namespace imet::wallet {

namespace {

void print_entry(const KeyCommandContext& ctx, const std::string& name, const KeyFile& kf) {
  if (ctx.json) {
    nlohmann::json j = {{"name", name},
                        {"address", kf.address},
                        {"public_key", util::to_hex(kf.public_key)},
                        {"encrypted", kf.encrypted()}};
    *ctx.out << j.dump() << "\n";
  } else {
    *ctx.out << "name:       " << name << "\n"
             << "address:    " << kf.address << "\n"
             << "public key: " << util::to_hex(kf.public_key) << "\n"
             << "encrypted:  " << (kf.encrypted() ? "yes" : "NO (dev key)") << "\n";
  }
}

util::Status store_new_key(const KeyCommandContext& ctx, KeyStore& store, const std::string& name,
                           const crypto::SigningKey& key, bool unencrypted) {
  KeyFile kf;
  if (unencrypted) {
    kf = plain_key(key);
  } else {
    IMET_ASSIGN_OR_RETURN(std::string pass,
                          get_passphrase(ctx.passphrase, "New passphrase for key '" + name + "': ",
                                         /*confirm=*/true));
    IMET_ASSIGN_OR_RETURN(kf, seal_key(key, pass));
  }
  IMET_TRY(store.add(name, kf));
  print_entry(ctx, name, kf);
  return {};
}

}  // namespace

util::Status keys_new(const KeyCommandContext& ctx, const std::string& name, bool unencrypted) {
  IMET_TRY(KeyStore::validate_name(name));
  IMET_ASSIGN_OR_RETURN(KeyStore store, KeyStore::open(ctx.key_dir, /*create=*/true));
  if (auto existing = store.read(name); existing.ok()) {
    return util::already_exists("a key named '" + name + "' already exists in '" + store.dir() +
                                "'; choose another name");
  }
  return store_new_key(ctx, store, name, crypto::SigningKey::generate(), unencrypted);
}

util::Status keys_list(const KeyCommandContext& ctx) {
  auto store = KeyStore::open(ctx.key_dir, /*create=*/false);
  std::vector<KeyEntry> entries;
  if (store.ok()) {
    IMET_ASSIGN_OR_RETURN(entries, store->list());
  } else if (store.status().code() != util::StatusCode::kNotFound) {
    return store.status();
  }
  if (ctx.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& e : entries) {
      arr.push_back({{"name", e.name}, {"address", e.address}, {"encrypted", e.encrypted}});
    }
    *ctx.out << arr.dump() << "\n";
    return {};
  }
  if (entries.empty()) {
    *ctx.out << "no keys in '" << ctx.key_dir << "' (create one with: imet keys new NAME)\n";
  }
  for (const auto& e : entries) {
    *ctx.out << e.name << "\t" << e.address << (e.encrypted ? "" : "\t(unencrypted)") << "\n";
  }
  return {};
}

util::Status keys_show(const KeyCommandContext& ctx, const std::string& name) {
  IMET_ASSIGN_OR_RETURN(KeyStore store, KeyStore::open(ctx.key_dir, /*create=*/false));
  IMET_ASSIGN_OR_RETURN(KeyFile kf, store.read(name));
  print_entry(ctx, name, kf);
  return {};
}

util::Status keys_export(const KeyCommandContext& ctx, const std::string& name,
                         const std::string& out_file, bool unsafe_raw) {
  IMET_ASSIGN_OR_RETURN(KeyStore store, KeyStore::open(ctx.key_dir, /*create=*/false));
  IMET_ASSIGN_OR_RETURN(KeyFile kf, store.read(name));
  std::string text;
  if (unsafe_raw) {
    std::string pass;
    if (kf.encrypted()) {
      IMET_ASSIGN_OR_RETURN(
          pass, get_passphrase(ctx.passphrase, "Passphrase for key '" + name + "': ", false));
    }
    IMET_ASSIGN_OR_RETURN(crypto::SigningKey key, open_key(kf, pass));
    text = util::to_hex(key.seed()) + "\n";
  } else {
    text = serialize_key_file(kf);
  }
  if (out_file.empty()) {
    *ctx.out << text;
    return {};
  }
  return util::write_file_new(out_file, text, 0600);
}

util::Status keys_import(const KeyCommandContext& ctx, const std::string& name,
                         const std::string& in_file, bool raw, bool unencrypted) {
  IMET_TRY(KeyStore::validate_name(name));
  IMET_ASSIGN_OR_RETURN(std::string text, util::read_file(in_file, 1 << 20));
  IMET_ASSIGN_OR_RETURN(KeyStore store, KeyStore::open(ctx.key_dir, /*create=*/true));
  if (raw) {
    std::string hex = text.substr(0, text.find_first_of("\r\n"));
    auto seed = util::from_hex_fixed<32>(hex);
    if (!seed.ok()) {
      return util::invalid_argument("'" + in_file +
                                    "' does not hold a raw key: " + seed.status().message());
    }
    return store_new_key(ctx, store, name, crypto::SigningKey::from_seed(*seed), unencrypted);
  }
  auto kf = parse_key_file(text);
  if (!kf.ok()) {
    return kf.status().with_context("'" + in_file +
                                    "' is not a valid IMET key file (use --raw "
                                    "for a hex seed)");
  }
  std::string pass;
  if (kf->encrypted()) {
    IMET_ASSIGN_OR_RETURN(
        pass, get_passphrase(ctx.passphrase, "Passphrase of the imported key: ", false));
  }
  IMET_TRY(open_key(*kf, pass).status());  // refuse a file that cannot be opened
  IMET_TRY(store.add(name, *kf));
  print_entry(ctx, name, *kf);
  return {};
}

util::Status address_check(const KeyCommandContext& ctx, const std::string& address) {
  IMET_ASSIGN_OR_RETURN(crypto::AddressBytes bytes, crypto::parse_address(address));
  if (ctx.json) {
    *ctx.out << nlohmann::json{{"address", address}, {"valid", true}, {"hex", util::to_hex(bytes)}}
                    .dump()
             << "\n";
  } else {
    *ctx.out << "valid IMET address (account id " << util::to_hex(bytes) << ")\n";
  }
  return {};
}

}  // namespace imet::wallet
