// The `imet keys …` commands: new, list, show, export, import over a KeyStore. Each writes its
// human (or --json) output to `out` and returns a Status whose message is shown to the user.
// Thread-safety: not thread-safe (may prompt on the terminal). Invariants: no command overwrites
// an existing key file; secrets are printed only by `export --unsafe-raw`.
#pragma once

#include <ostream>
#include <string>

#include "wallet/passphrase.h"

namespace imet::wallet {

struct KeyCommandContext {
  std::string key_dir;
  PassphraseOptions passphrase;
  bool json = false;
  std::ostream* out = nullptr;
};

util::Status keys_new(const KeyCommandContext& ctx, const std::string& name, bool unencrypted);
util::Status keys_list(const KeyCommandContext& ctx);
util::Status keys_show(const KeyCommandContext& ctx, const std::string& name);
// Writes the key file (still encrypted) to `out_file` (or the output stream when empty); with
// `unsafe_raw`, decrypts and writes the 32-byte Ed25519 seed as hex instead.
util::Status keys_export(const KeyCommandContext& ctx, const std::string& name,
                         const std::string& out_file, bool unsafe_raw);
// Imports a key file exported by `keys export` (checking its passphrase opens it), or with `raw`
// a file holding a 64-hex-digit seed, which is then encrypted under a new passphrase.
util::Status keys_import(const KeyCommandContext& ctx, const std::string& name,
                         const std::string& in_file, bool raw, bool unencrypted);

// `imet address check ADDR`: validates an address (prefix, checksum, length) and prints its bytes.
util::Status address_check(const KeyCommandContext& ctx, const std::string& address);

}  // namespace imet::wallet
