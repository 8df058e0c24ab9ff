// X25519 Diffie-Hellman (RFC 7748) via libsodium: the key agreement used by Noise.
// Thread-safety: X25519KeyPair is a plain value; x25519() is pure.
// Invariants: for a pair made by generate() or from_private(), public_key is the X25519 base-point
// multiple of private_key. The private key is wiped with sodium_memzero when the pair is destroyed.
// x25519() never returns the all-zero shared secret: a low-order peer public key is an error.
#pragma once

#include "util/bytes.h"
#include "util/result.h"

namespace imet::crypto {

struct X25519KeyPair {
  util::ByteArray<32> private_key{};
  util::ByteArray<32> public_key{};

  // A fresh key pair from the system CSPRNG.
  static X25519KeyPair generate();
  // The pair for a given 32-byte private key (clamped by X25519 itself, as RFC 7748 specifies).
  static X25519KeyPair from_private(const util::ByteArray<32>& private_key);

  ~X25519KeyPair();
};

// The X25519 shared secret of our `priv` and the peer's `pub`. Fails (kInvalidArgument) when the
// result is all zeros, i.e. `pub` is a low-order point that would make the secret predictable.
util::Result<util::ByteArray<32>> x25519(const util::ByteArray<32>& priv,
                                         const util::ByteArray<32>& pub);

}  // namespace imet::crypto
