#include "crypto/hash.h"

#include <cstring>

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

size_t DigestHash::operator()(const Hash256& h) const noexcept {
  static const uint64_t key = [] {
    uint64_t k = 0;
    random_bytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&k), sizeof k));
    return k | 1;
  }();
  uint64_t v = 0;
  std::memcpy(&v, h.data(), sizeof v);
  v ^= key;
  v *= 0x9E3779B97F4A7C15ULL;  // one multiply-xorshift round spreads the key into every bit
  return static_cast<size_t>(v ^ (v >> 32));
}

}  // namespace imet::crypto
