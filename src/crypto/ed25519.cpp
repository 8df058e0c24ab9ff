#include "crypto/ed25519.h"

#include <sodium.h>

#include "crypto/sodium.h"

namespace imet::crypto {

SigningKey SigningKey::generate() {
  Seed seed{};
  random_bytes(seed);
  SigningKey key = from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

SigningKey SigningKey::from_seed(const Seed& seed) {
  ensure_init();
  SigningKey key;
  key.seed_ = seed;
  crypto_sign_ed25519_seed_keypair(key.public_key_.data(), key.secret_key_.data(), seed.data());
  return key;
}

SigningKey::SigningKey(const SigningKey& other) = default;

SigningKey::SigningKey(SigningKey&& other) noexcept
    : seed_(other.seed_), secret_key_(other.secret_key_), public_key_(other.public_key_) {
  other.wipe();
}

SigningKey& SigningKey::operator=(const SigningKey& other) {
  if (this != &other) {
    seed_ = other.seed_;
    secret_key_ = other.secret_key_;
    public_key_ = other.public_key_;
  }
  return *this;
}

SigningKey& SigningKey::operator=(SigningKey&& other) noexcept {
  if (this != &other) {
    seed_ = other.seed_;
    secret_key_ = other.secret_key_;
    public_key_ = other.public_key_;
    other.wipe();
  }
  return *this;
}

SigningKey::~SigningKey() {
  wipe();
}

void SigningKey::wipe() {
  sodium_memzero(seed_.data(), seed_.size());
  sodium_memzero(secret_key_.data(), secret_key_.size());
}

Signature SigningKey::sign(util::ByteSpan msg) const {
  Signature sig{};
  crypto_sign_ed25519_detached(sig.data(), nullptr, msg.data(), msg.size(), secret_key_.data());
  return sig;
}

bool verify(const PublicKey& pk, util::ByteSpan msg, const Signature& sig) {
  ensure_init();
  return crypto_sign_ed25519_verify_detached(sig.data(), msg.data(), msg.size(), pk.data()) == 0;
}

}  // namespace imet::crypto
