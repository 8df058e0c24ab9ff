#include "crypto/aead.h"

#include <string>

#include <sodium.h>

#include "crypto/sodium.h"

namespace imet::crypto {

util::Bytes xchacha_seal(const AeadKey& key, const XNonce& nonce, util::ByteSpan plaintext,
                         util::ByteSpan aad) {
  ensure_init();
  util::Bytes out(plaintext.size() + kAeadTagBytes);
  unsigned long long out_len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &out_len, plaintext.data(),
                                             plaintext.size(), aad.data(), aad.size(), nullptr,
                                             nonce.data(), key.data());
  out.resize(static_cast<size_t>(out_len));
  return out;
}

util::Result<util::Bytes> xchacha_open(const AeadKey& key, const XNonce& nonce,
                                       util::ByteSpan ciphertext, util::ByteSpan aad) {
  ensure_init();
  if (ciphertext.size() < kAeadTagBytes) {
    return util::invalid_argument("ciphertext of " + std::to_string(ciphertext.size()) +
                                  " bytes is shorter than the 16-byte authentication tag");
  }
  util::Bytes out(ciphertext.size() - kAeadTagBytes);
  unsigned long long out_len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &out_len, nullptr, ciphertext.data(),
                                                 ciphertext.size(), aad.data(), aad.size(),
                                                 nonce.data(), key.data()) != 0) {
    return util::corruption(
        "decryption failed: the ciphertext or its associated data was "
        "modified, or the key or nonce is wrong");
  }
  out.resize(static_cast<size_t>(out_len));
  return out;
}

}  // namespace imet::crypto
