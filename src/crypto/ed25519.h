// Ed25519 signatures (RFC 8032) via libsodium: the identity keys of accounts, nodes and devices.
// Thread-safety: SigningKey is an immutable value after construction; const methods may be called
// concurrently. verify() is pure.
// Invariants: a SigningKey always holds a seed, the matching 64-byte libsodium secret key
// (seed || public key) and the matching public key; the seed and secret key are wiped with
// sodium_memzero when the object is destroyed. Moving wipes the source's seed and secret key: a
// moved-from SigningKey may only be destroyed or assigned to.
#pragma once

#include "util/bytes.h"

namespace imet::crypto {

using PublicKey = util::ByteArray<32>;
using Signature = util::ByteArray<64>;
using Seed = util::ByteArray<32>;

class SigningKey {
 public:
  // A fresh key from the system CSPRNG.
  static SigningKey generate();
  // The key determined by a 32-byte RFC 8032 private key (the "seed").
  static SigningKey from_seed(const Seed& seed);

  SigningKey(const SigningKey& other);
  SigningKey(SigningKey&& other) noexcept;
  SigningKey& operator=(const SigningKey& other);
  SigningKey& operator=(SigningKey&& other) noexcept;
  ~SigningKey();

  const PublicKey& public_key() const { return public_key_; }
  const Seed& seed() const { return seed_; }
  // Deterministic RFC 8032 signature over `msg`.
  Signature sign(util::ByteSpan msg) const;

 private:
  SigningKey() = default;
  void wipe();

  Seed seed_{};
  util::ByteArray<64> secret_key_{};  // libsodium layout: seed || public key
  PublicKey public_key_{};
};

// True iff `sig` is a valid signature of `msg` under `pk`. Rejects non-canonical signatures and
// small-order public keys (libsodium's strict checks), never throws.
bool verify(const PublicKey& pk, util::ByteSpan msg, const Signature& sig);

}  // namespace imet::crypto
