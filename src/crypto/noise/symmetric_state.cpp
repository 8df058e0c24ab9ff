#include "crypto/noise/symmetric_state.h"

#include <algorithm>

#include <sodium.h>

namespace imet::crypto::noise {

namespace {

void wipe(Hash512& h) {
  sodium_memzero(h.data(), h.size());
}

// InitializeKey(first 32 bytes of `h`), without leaving a copy of the key behind.
void initialize_truncated(CipherState& cipher, const Hash512& h) {
  CipherKey k{};
  std::copy_n(h.begin(), k.size(), k.begin());
  cipher.initialize_key(k);
  sodium_memzero(k.data(), k.size());
}

}  // namespace

Hash512 hmac_blake2b(util::ByteSpan key, util::ByteSpan data) {
  std::array<uint8_t, kBlockLen> block{};
  if (key.size() > kBlockLen) {
    const Hash512 hashed = blake2b_512(key);
    std::copy(hashed.begin(), hashed.end(), block.begin());
  } else {
    std::copy(key.begin(), key.end(), block.begin());
  }
  std::array<uint8_t, kBlockLen> pad{};
  for (size_t i = 0; i < kBlockLen; ++i)
    pad[i] = static_cast<uint8_t>(block[i] ^ 0x36);
  Blake2b512 inner;
  inner.update(pad);
  inner.update(data);
  Hash512 inner_hash = inner.finish();
  for (size_t i = 0; i < kBlockLen; ++i)
    pad[i] = static_cast<uint8_t>(block[i] ^ 0x5c);
  Blake2b512 outer;
  outer.update(pad);
  outer.update(inner_hash);
  const Hash512 out = outer.finish();
  sodium_memzero(block.data(), block.size());
  sodium_memzero(pad.data(), pad.size());
  wipe(inner_hash);
  return out;
}

std::array<Hash512, 3> hkdf(util::ByteSpan chaining_key, util::ByteSpan input_key_material,
                            size_t num_outputs) {
  std::array<Hash512, 3> out{};
  Hash512 temp_key = hmac_blake2b(chaining_key, input_key_material);
  const uint8_t one = 0x01;
  out[0] = hmac_blake2b(temp_key, {&one, 1});
  util::ByteArray<kHashLen + 1> buf{};
  std::copy(out[0].begin(), out[0].end(), buf.begin());
  buf[kHashLen] = 0x02;
  out[1] = hmac_blake2b(temp_key, buf);
  if (num_outputs >= 3) {
    std::copy(out[1].begin(), out[1].end(), buf.begin());
    buf[kHashLen] = 0x03;
    out[2] = hmac_blake2b(temp_key, buf);
  }
  sodium_memzero(buf.data(), buf.size());
  wipe(temp_key);
  return out;
}

SymmetricState::SymmetricState(std::string_view protocol_name) {
  if (protocol_name.size() <= kHashLen) {
    std::copy(protocol_name.begin(), protocol_name.end(), h_.begin());
  } else {
    h_ = blake2b_512(util::as_bytes(protocol_name));
  }
  ck_ = h_;
}

SymmetricState::~SymmetricState() {
  wipe(ck_);
}

void SymmetricState::mix_key(util::ByteSpan input_key_material) {
  auto out = hkdf(ck_, input_key_material, 2);
  ck_ = out[0];
  initialize_truncated(cipher_, out[1]);
  for (auto& h : out)
    wipe(h);
}

void SymmetricState::mix_hash(util::ByteSpan data) {
  Blake2b512 hasher;
  hasher.update(h_);
  hasher.update(data);
  h_ = hasher.finish();
}

void SymmetricState::mix_key_and_hash(util::ByteSpan input_key_material) {
  auto out = hkdf(ck_, input_key_material, 3);
  ck_ = out[0];
  mix_hash(out[1]);
  initialize_truncated(cipher_, out[2]);
  for (auto& h : out)
    wipe(h);
}

util::Result<util::Bytes> SymmetricState::encrypt_and_hash(util::ByteSpan plaintext) {
  IMET_ASSIGN_OR_RETURN(util::Bytes ciphertext, cipher_.encrypt_with_ad(h_, plaintext));
  mix_hash(ciphertext);
  return ciphertext;
}

util::Result<util::Bytes> SymmetricState::decrypt_and_hash(util::ByteSpan ciphertext) {
  IMET_ASSIGN_OR_RETURN(util::Bytes plaintext, cipher_.decrypt_with_ad(h_, ciphertext));
  mix_hash(ciphertext);
  return plaintext;
}

std::pair<CipherState, CipherState> SymmetricState::split() const {
  auto out = hkdf(ck_, {}, 2);
  std::pair<CipherState, CipherState> ciphers;
  initialize_truncated(ciphers.first, out[0]);
  initialize_truncated(ciphers.second, out[1]);
  for (auto& h : out)
    wipe(h);
  return ciphers;
}

}  // namespace imet::crypto::noise
