// KeyFile: the on-disk format of one Ed25519 key (wallet keys and the node key), as JSON:
//   {"imet_key_file": 1, "type": "ed25519", "address": "imet1…", "public_key": "<hex>",
//    "encryption": "argon2id-xchacha20poly1305",
//    "kdf": {"opslimit": 3, "memlimit_bytes": 67108864, "salt": "<hex>"},
//    "nonce": "<hex>", "ciphertext": "<hex>"}
// or, for an explicitly unencrypted dev key, "encryption": "none" and "seed": "<hex>".
// The AEAD's associated data binds the format version, type and public key, so editing any of
// them makes decryption fail; after decryption the seed must re-derive the stored public key.
// Thread-safety: pure functions over values. Invariants: a parsed KeyFile has a public key whose
// address equals its "address" field; a key file is never written by this file's code (no I/O).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "crypto/ed25519.h"
#include "crypto/passphrase.h"
#include "util/result.h"

namespace imet::wallet {

struct KeyFile {
  crypto::PublicKey public_key{};
  std::string address;
  // Exactly one of these is set.
  std::optional<crypto::SealedSecret> sealed;  // encrypted with a passphrase
  std::optional<crypto::Seed> plain_seed;      // "encryption": "none"

  bool encrypted() const { return sealed.has_value(); }
};

// Builds a key file for `key`, encrypted under `passphrase` (Argon2id parameters `kdf`).
util::Result<KeyFile> seal_key(const crypto::SigningKey& key, std::string_view passphrase,
                               crypto::KdfParams kdf = crypto::kDefaultKdf);
// Builds an unencrypted key file (dev networks only).
KeyFile plain_key(const crypto::SigningKey& key);

// Decrypts (or for "none", reads) the key. Wrong passphrase → kPermissionDenied; a file whose
// seed does not match its public key → kCorruption.
util::Result<crypto::SigningKey> open_key(const KeyFile& file, std::string_view passphrase);

std::string serialize_key_file(const KeyFile& file);
// Parses JSON text; every malformed or missing field gives kCorruption naming the field.
util::Result<KeyFile> parse_key_file(std::string_view text);

}  // namespace imet::wallet
