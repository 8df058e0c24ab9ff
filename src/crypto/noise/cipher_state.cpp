#include "crypto/noise/cipher_state.h"

#include <string>

#include <sodium.h>

#include "crypto/sodium.h"

namespace imet::crypto::noise {

namespace {

using Nonce = util::ByteArray<crypto_aead_chacha20poly1305_IETF_NPUBBYTES>;

Nonce make_nonce(uint64_t n) {
  Nonce out{};  // 4 zero bytes, then n little-endian
  for (int i = 0; i < 8; ++i)
    out[4 + i] = static_cast<uint8_t>(n >> (8 * i));
  return out;
}

void encrypt_raw(const CipherKey& key, uint64_t n, util::ByteSpan ad, util::ByteSpan plaintext,
                 util::Bytes& out) {
  out.resize(plaintext.size() + kTagBytes);
  const Nonce nonce = make_nonce(n);
  unsigned long long out_len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &out_len, plaintext.data(),
                                            plaintext.size(), ad.data(), ad.size(), nullptr,
                                            nonce.data(), key.data());
  out.resize(static_cast<size_t>(out_len));
}

util::Status nonce_exhausted() {
  return util::failed_precondition(
      "Noise cipher nonce exhausted (2^64-1 messages); the session must be re-established");
}

}  // namespace

CipherState::~CipherState() {
  sodium_memzero(key_.data(), key_.size());
}

void CipherState::initialize_key(const CipherKey& key) {
  ensure_init();
  key_ = key;
  has_key_ = true;
  nonce_ = 0;
}

util::Result<util::Bytes> CipherState::encrypt_with_ad(util::ByteSpan ad,
                                                       util::ByteSpan plaintext) {
  const size_t overhead = has_key_ ? kTagBytes : 0;
  if (plaintext.size() > kMaxMessageBytes - overhead) {
    return util::invalid_argument("plaintext of " + std::to_string(plaintext.size()) +
                                  " bytes exceeds the Noise message limit (" +
                                  std::to_string(kMaxMessageBytes - overhead) + " bytes)");
  }
  if (!has_key_) return util::Bytes(plaintext.begin(), plaintext.end());
  if (nonce_ == kMaxNonce) return nonce_exhausted();
  util::Bytes out;
  encrypt_raw(key_, nonce_, ad, plaintext, out);
  ++nonce_;
  return out;
}

util::Result<util::Bytes> CipherState::decrypt_with_ad(util::ByteSpan ad,
                                                       util::ByteSpan ciphertext) {
  if (ciphertext.size() > kMaxMessageBytes) {
    return util::invalid_argument("ciphertext of " + std::to_string(ciphertext.size()) +
                                  " bytes exceeds the Noise message limit (65535 bytes)");
  }
  if (!has_key_) return util::Bytes(ciphertext.begin(), ciphertext.end());
  if (ciphertext.size() < kTagBytes) {
    return util::invalid_argument("ciphertext of " + std::to_string(ciphertext.size()) +
                                  " bytes is truncated: shorter than the 16-byte tag");
  }
  if (nonce_ == kMaxNonce) return nonce_exhausted();
  util::Bytes out(ciphertext.size() - kTagBytes);
  const Nonce nonce = make_nonce(nonce_);
  unsigned long long out_len = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &out_len, nullptr, ciphertext.data(),
                                                ciphertext.size(), ad.data(), ad.size(),
                                                nonce.data(), key_.data()) != 0) {
    return util::invalid_argument(
        "Noise decryption failed: the message was modified, or the peers' keys, prologue or PSK "
        "differ");
  }
  out.resize(static_cast<size_t>(out_len));
  ++nonce_;
  return out;
}

util::Status CipherState::rekey() {
  if (!has_key_) return util::failed_precondition("cannot rekey a Noise cipher that has no key");
  const util::ByteArray<kKeyBytes> zeros{};
  util::Bytes out;
  encrypt_raw(key_, kMaxNonce, {}, zeros, out);
  for (size_t i = 0; i < kKeyBytes; ++i)
    key_[i] = out[i];
  sodium_memzero(out.data(), out.size());
  return {};
}

}  // namespace imet::crypto::noise
