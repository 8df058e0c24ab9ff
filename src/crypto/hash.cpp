#include "crypto/hash.h"

#include "crypto/sodium.h"

namespace imet::crypto {

namespace {

template <size_t N>
util::ByteArray<N> blake2b(util::ByteSpan data) {
  ensure_init();
  util::ByteArray<N> out{};
  crypto_generichash_blake2b(out.data(), out.size(), data.data(), data.size(), nullptr, 0);
  return out;
}

}  // namespace

Hash256 blake2b_256(util::ByteSpan data) {
  return blake2b<32>(data);
}
Hash512 blake2b_512(util::ByteSpan data) {
  return blake2b<64>(data);
}

Blake2b256::Blake2b256() {
  ensure_init();
  crypto_generichash_blake2b_init(&state_, nullptr, 0, 32);
}

Blake2b256::~Blake2b256() {
  sodium_memzero(&state_, sizeof(state_));
}

void Blake2b256::update(util::ByteSpan data) {
  crypto_generichash_blake2b_update(&state_, data.data(), data.size());
}

Hash256 Blake2b256::finish() {
  Hash256 out{};
  crypto_generichash_blake2b_final(&state_, out.data(), out.size());
  crypto_generichash_blake2b_init(&state_, nullptr, 0, 32);
  return out;
}

Blake2b512::Blake2b512() {
  ensure_init();
  crypto_generichash_blake2b_init(&state_, nullptr, 0, 64);
}

Blake2b512::~Blake2b512() {
  sodium_memzero(&state_, sizeof(state_));
}

void Blake2b512::update(util::ByteSpan data) {
  crypto_generichash_blake2b_update(&state_, data.data(), data.size());
}

Hash512 Blake2b512::finish() {
  Hash512 out{};
  crypto_generichash_blake2b_final(&state_, out.data(), out.size());
  crypto_generichash_blake2b_init(&state_, nullptr, 0, 64);
  return out;
}

}  // namespace imet::crypto
