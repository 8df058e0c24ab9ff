// Noise SymmetricState (Noise Protocol Framework rev. 34, section 5.2) for hash BLAKE2b
// (HASHLEN 64, BLOCKLEN 128), together with the HMAC and HKDF it is built on. HMAC-BLAKE2b is
// RFC 2104 HMAC with a 128-byte block, built by hand: libsodium's keyed BLAKE2b is a different
// function and would not interoperate.
// Thread-safety: hmac_blake2b/hkdf are pure; a SymmetricState is not safe for concurrent use.
// Invariants: handshake_hash() is the running hash h of everything mixed so far; the chaining key
// and cipher key are wiped on destruction.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <utility>

#include "crypto/hash.h"
#include "crypto/noise/cipher_state.h"
#include "util/bytes.h"
#include "util/result.h"

namespace imet::crypto::noise {

inline constexpr size_t kHashLen = 64;
inline constexpr size_t kBlockLen = 128;

// HMAC-BLAKE2b-512 (RFC 2104 with B = 128, L = 64). Keys longer than 128 bytes are hashed first.
Hash512 hmac_blake2b(util::ByteSpan key, util::ByteSpan data);

// Noise's HKDF(chaining_key, input_key_material, num_outputs) with num_outputs in {2, 3}; for 2,
// the third output is all zeros.
std::array<Hash512, 3> hkdf(util::ByteSpan chaining_key, util::ByteSpan input_key_material,
                            size_t num_outputs);

class SymmetricState {
 public:
  // InitializeSymmetric(protocol_name).
  explicit SymmetricState(std::string_view protocol_name);
  SymmetricState(const SymmetricState&) = default;
  SymmetricState& operator=(const SymmetricState&) = default;
  SymmetricState(SymmetricState&&) = default;
  SymmetricState& operator=(SymmetricState&&) = default;
  ~SymmetricState();

  void mix_key(util::ByteSpan input_key_material);
  void mix_hash(util::ByteSpan data);
  void mix_key_and_hash(util::ByteSpan input_key_material);
  util::Result<util::Bytes> encrypt_and_hash(util::ByteSpan plaintext);
  util::Result<util::Bytes> decrypt_and_hash(util::ByteSpan ciphertext);
  // Split(): the initiator-to-responder and responder-to-initiator CipherStates.
  std::pair<CipherState, CipherState> split() const;

  bool has_key() const { return cipher_.has_key(); }
  const Hash512& handshake_hash() const { return h_; }

 private:
  CipherState cipher_;
  Hash512 ck_{};
  Hash512 h_{};
};

}  // namespace imet::crypto::noise
