#include "crypto/x25519.h"

#include <sodium.h>

#include "crypto/sodium.h"

namespace imet::crypto {

X25519KeyPair X25519KeyPair::generate() {
  util::ByteArray<32> priv{};
  random_bytes(priv);
  X25519KeyPair pair = from_private(priv);
  sodium_memzero(priv.data(), priv.size());
  return pair;
}

X25519KeyPair X25519KeyPair::from_private(const util::ByteArray<32>& private_key) {
  ensure_init();
  X25519KeyPair pair;
  pair.private_key = private_key;
  crypto_scalarmult_curve25519_base(pair.public_key.data(), private_key.data());
  return pair;
}

X25519KeyPair::~X25519KeyPair() {
  sodium_memzero(private_key.data(), private_key.size());
}

util::Result<util::ByteArray<32>> x25519(const util::ByteArray<32>& priv,
                                         const util::ByteArray<32>& pub) {
  ensure_init();
  util::ByteArray<32> shared{};
  if (crypto_scalarmult_curve25519(shared.data(), priv.data(), pub.data()) != 0) {
    return util::invalid_argument(
        "x25519: the peer's public key is a low-order point (shared secret would be all zeros)");
  }
  return shared;
}

}  // namespace imet::crypto
