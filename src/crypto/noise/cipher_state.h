// Noise CipherState (Noise Protocol Framework rev. 34, section 5.1) for the ChaChaPoly cipher:
// ChaCha20-Poly1305 (IETF) with a 32-byte key k and a 64-bit counter n, nonce = 4 zero bytes ||
// n as 64-bit little-endian. Used both inside the handshake and, after Split(), for transport.
// Thread-safety: not safe for concurrent use; distinct objects are independent.
// Invariants: n increases by exactly one per successful encryption/decryption under a key and never
// reaches 2^64-1 (reserved for rekey): once it would, encryption and decryption fail. A failed
// decryption leaves n unchanged. Without a key, encrypt/decrypt pass data through unchanged (as the
// spec requires during the first handshake messages). The key is wiped on destruction.
// Every ciphertext handled is at most kMaxMessageBytes (the Noise message limit).
#pragma once

#include <cstddef>
#include <cstdint>

#include "util/bytes.h"
#include "util/result.h"

namespace imet::crypto::noise {

using CipherKey = util::ByteArray<32>;

inline constexpr size_t kMaxMessageBytes = 65535;  // Noise's limit on any message
inline constexpr size_t kTagBytes = 16;
inline constexpr size_t kKeyBytes = 32;
inline constexpr uint64_t kMaxNonce = UINT64_MAX;  // reserved; never used for a message

class CipherState {
 public:
  CipherState() = default;
  explicit CipherState(const CipherKey& key) { initialize_key(key); }
  CipherState(const CipherState&) = default;
  CipherState& operator=(const CipherState&) = default;
  CipherState(CipherState&&) = default;
  CipherState& operator=(CipherState&&) = default;
  ~CipherState();

  // InitializeKey(k): sets the key and resets n to 0.
  void initialize_key(const CipherKey& key);
  bool has_key() const { return has_key_; }
  // SetNonce(n), e.g. for out-of-order transports with explicit nonces.
  void set_nonce(uint64_t nonce) { nonce_ = nonce; }
  uint64_t nonce() const { return nonce_; }

  // EncryptWithAd. Errors: plaintext too large for a Noise message (kInvalidArgument), nonce
  // exhausted (kFailedPrecondition).
  util::Result<util::Bytes> encrypt_with_ad(util::ByteSpan ad, util::ByteSpan plaintext);
  // DecryptWithAd. Errors (kInvalidArgument): over-long or truncated ciphertext, authentication
  // failure; nonce exhausted (kFailedPrecondition).
  util::Result<util::Bytes> decrypt_with_ad(util::ByteSpan ad, util::ByteSpan ciphertext);
  // Rekey(): k = first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes); n is unchanged.
  util::Status rekey();

 private:
  CipherKey key_{};
  bool has_key_ = false;
  uint64_t nonce_ = 0;
};

}  // namespace imet::crypto::noise
