// Sealing a secret (a wallet or node key) under a passphrase for storage at rest: Argon2id
// (libsodium crypto_pwhash, ALG_ARGON2ID13) stretches the passphrase and a random 16-byte salt into
// a 32-byte key, and XChaCha20-Poly1305 encrypts the secret under a random 24-byte nonce.
// The AEAD's associated data binds a format tag, the KDF parameters, the salt and the caller's aad,
// so changing any header field of a stored SealedSecret makes opening fail.
// Thread-safety: pure functions (seal draws randomness from the system CSPRNG); each call allocates
// memlimit_bytes of memory for Argon2id.
// Invariants: open_with_passphrase(seal_with_passphrase(s, p, a, k), p, a) == s; KDF parameters
// outside [kMinKdf, kMaxKdf] are rejected before Argon2 runs, so a crafted key file cannot make us
// allocate or compute without bound. Derived keys are wiped after use.
#pragma once

#include <cstdint>
#include <string_view>

#include "crypto/aead.h"
#include "util/bytes.h"
#include "util/result.h"

namespace imet::crypto {

struct KdfParams {
  uint64_t opslimit;        // Argon2id passes over memory
  uint64_t memlimit_bytes;  // Argon2id memory size

  bool operator==(const KdfParams&) const = default;
};

// Interactive-to-moderate strength: 3 passes over 64 MiB.
inline constexpr KdfParams kDefaultKdf{3, 64ull << 20};
// The accepted range of parameters (inclusive), applied on both seal and open.
inline constexpr KdfParams kMinKdf{1, 8ull << 10};
inline constexpr KdfParams kMaxKdf{10, 1ull << 30};

struct SealedSecret {
  KdfParams kdf;
  util::ByteArray<16> salt;
  XNonce nonce;
  util::Bytes ciphertext;  // encrypted secret || 16-byte tag

  bool operator==(const SealedSecret&) const = default;
};

// kInvalidArgument if `kdf` is out of range; kUnavailable if Argon2id cannot get its memory.
util::Result<SealedSecret> seal_with_passphrase(util::ByteSpan secret, std::string_view passphrase,
                                                util::ByteSpan aad, KdfParams kdf = kDefaultKdf);

// kInvalidArgument for out-of-range KDF parameters or a ciphertext shorter than a tag (checked
// before any key derivation); kPermissionDenied "wrong passphrase, or the key file was modified"
// if authentication fails; kUnavailable if Argon2id cannot get its memory.
util::Result<util::Bytes> open_with_passphrase(const SealedSecret& sealed,
                                               std::string_view passphrase, util::ByteSpan aad);

}  // namespace imet::crypto
