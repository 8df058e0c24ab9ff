// XChaCha20-Poly1305 (IETF construction, 24-byte nonce) authenticated encryption via libsodium.
// The 192-bit nonce is large enough to be chosen at random for every message.
// Thread-safety: pure functions.
// Invariants: ciphertext = encrypted plaintext || 16-byte Poly1305 tag, so
// |ciphertext| = |plaintext| + kAeadTagBytes; xchacha_open() returns the plaintext only if the tag
// authenticates both the ciphertext and `aad` under the key and nonce.
#pragma once

#include <cstddef>

#include "util/bytes.h"
#include "util/result.h"

namespace imet::crypto {

using AeadKey = util::ByteArray<32>;
using XNonce = util::ByteArray<24>;
inline constexpr size_t kAeadTagBytes = 16;

util::Bytes xchacha_seal(const AeadKey& key, const XNonce& nonce, util::ByteSpan plaintext,
                         util::ByteSpan aad);
// kInvalidArgument if the ciphertext is shorter than a tag; kCorruption if authentication fails.
util::Result<util::Bytes> xchacha_open(const AeadKey& key, const XNonce& nonce,
                                       util::ByteSpan ciphertext, util::ByteSpan aad);

}  // namespace imet::crypto
