#include "wallet/key_file.h"

#include <nlohmann/json.hpp>

#include "crypto/address.h"
#include "util/bytes.h"

namespace imet::wallet {

namespace {

constexpr int kFormatVersion = 1;
constexpr std::string_view kEncryption = "argon2id-xchacha20poly1305";

util::Bytes associated_data(const crypto::PublicKey& pk) {
  constexpr std::string_view kPrefix = "imet-key-file-v1/ed25519/";
  util::Bytes aad(kPrefix.size() + pk.size());
  std::copy(kPrefix.begin(), kPrefix.end(), aad.begin());
  std::copy(pk.begin(), pk.end(), aad.begin() + static_cast<std::ptrdiff_t>(kPrefix.size()));
  return aad;
}

using nlohmann::json;

util::Result<std::string> get_string(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end()) return util::corruption(std::string("missing field '") + field + "'");
  if (!it->is_string())
    return util::corruption(std::string("field '") + field + "' is not a string");
  return it->get<std::string>();
}

util::Result<uint64_t> get_uint(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end()) return util::corruption(std::string("missing field '") + field + "'");
  if (!it->is_number_unsigned()) {
    return util::corruption(std::string("field '") + field + "' is not an unsigned integer");
  }
  return it->get<uint64_t>();
}

template <size_t N>
util::Result<util::ByteArray<N>> get_hex(const json& j, const char* field) {
  IMET_ASSIGN_OR_RETURN(std::string s, get_string(j, field));
  auto r = util::from_hex_fixed<N>(s);
  if (!r.ok())
    return util::corruption(std::string("field '") + field + "': " + r.status().message());
  return r;
}

}  // namespace

util::Result<KeyFile> seal_key(const crypto::SigningKey& key, std::string_view passphrase,
                               crypto::KdfParams kdf) {
  KeyFile f;
  f.public_key = key.public_key();
  f.address = crypto::address_of(f.public_key);
  IMET_ASSIGN_OR_RETURN(f.sealed, crypto::seal_with_passphrase(key.seed(), passphrase,
                                                               associated_data(f.public_key), kdf));
  return f;
}

KeyFile plain_key(const crypto::SigningKey& key) {
  KeyFile f;
  f.public_key = key.public_key();
  f.address = crypto::address_of(f.public_key);
  f.plain_seed = key.seed();
  return f;
}

util::Result<crypto::SigningKey> open_key(const KeyFile& file, std::string_view passphrase) {
  crypto::Seed seed{};
  if (file.sealed) {
    IMET_ASSIGN_OR_RETURN(
        util::Bytes plain,
        crypto::open_with_passphrase(*file.sealed, passphrase, associated_data(file.public_key)));
    if (plain.size() != seed.size()) {
      return util::corruption("decrypted key has " + std::to_string(plain.size()) +
                              " bytes, expected 32");
    }
    std::copy(plain.begin(), plain.end(), seed.begin());
  } else if (file.plain_seed) {
    seed = *file.plain_seed;
  } else {
    return util::corruption("key file holds no key");
  }
  crypto::SigningKey key = crypto::SigningKey::from_seed(seed);
  if (key.public_key() != file.public_key) {
    return util::corruption("the key does not match the file's public key");
  }
  return key;
}

std::string serialize_key_file(const KeyFile& f) {
  json j;
  j["imet_key_file"] = kFormatVersion;
  j["type"] = "ed25519";
  j["address"] = f.address;
  j["public_key"] = util::to_hex(f.public_key);
  if (f.sealed) {
    j["encryption"] = kEncryption;
    j["kdf"] = {{"opslimit", f.sealed->kdf.opslimit},
                {"memlimit_bytes", f.sealed->kdf.memlimit_bytes},
                {"salt", util::to_hex(f.sealed->salt)}};
    j["nonce"] = util::to_hex(f.sealed->nonce);
    j["ciphertext"] = util::to_hex(f.sealed->ciphertext);
  } else if (f.plain_seed) {
    j["encryption"] = "none";
    j["seed"] = util::to_hex(*f.plain_seed);
  }
  return j.dump(2) + "\n";
}

util::Result<KeyFile> parse_key_file(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return util::corruption("not valid JSON (truncated or damaged?)");
  if (!j.is_object()) return util::corruption("not a JSON object");
  IMET_ASSIGN_OR_RETURN(uint64_t version, get_uint(j, "imet_key_file"));
  if (version != kFormatVersion) {
    return util::corruption("unsupported key file version " + std::to_string(version));
  }
  IMET_ASSIGN_OR_RETURN(std::string type, get_string(j, "type"));
  if (type != "ed25519") return util::corruption("unsupported key type '" + type + "'");
  KeyFile f;
  IMET_ASSIGN_OR_RETURN(f.public_key, get_hex<32>(j, "public_key"));
  IMET_ASSIGN_OR_RETURN(f.address, get_string(j, "address"));
  if (f.address != crypto::address_of(f.public_key)) {
    return util::corruption("field 'address' does not match field 'public_key'");
  }
  IMET_ASSIGN_OR_RETURN(std::string enc, get_string(j, "encryption"));
  if (enc == "none") {
    IMET_ASSIGN_OR_RETURN(f.plain_seed, get_hex<32>(j, "seed"));
    return f;
  }
  if (enc != kEncryption) return util::corruption("unsupported encryption '" + enc + "'");
  auto kdf_it = j.find("kdf");
  if (kdf_it == j.end() || !kdf_it->is_object()) {
    return util::corruption("missing or malformed field 'kdf'");
  }
  crypto::SealedSecret s;
  IMET_ASSIGN_OR_RETURN(s.kdf.opslimit, get_uint(*kdf_it, "opslimit"));
  IMET_ASSIGN_OR_RETURN(s.kdf.memlimit_bytes, get_uint(*kdf_it, "memlimit_bytes"));
  IMET_ASSIGN_OR_RETURN(s.salt, get_hex<16>(*kdf_it, "salt"));
  IMET_ASSIGN_OR_RETURN(s.nonce, get_hex<24>(j, "nonce"));
  IMET_ASSIGN_OR_RETURN(std::string ct_hex, get_string(j, "ciphertext"));
  auto ct = util::from_hex(ct_hex);
  if (!ct.ok()) return util::corruption("field 'ciphertext': " + ct.status().message());
  s.ciphertext = std::move(ct).value();
  f.sealed = std::move(s);
  return f;
}

}  // namespace imet::wallet
