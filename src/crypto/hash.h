// BLAKE2b hashing (RFC 7693) via libsodium: one-shot BLAKE2b-256 (the IMET hash everywhere unless a
// standard protocol fixes another) and BLAKE2b-512 (used by Noise), plus incremental hashers.
// Thread-safety: the free functions are pure. A Blake2b256/Blake2b512 object is not safe for
// concurrent use; distinct objects are independent.
// Invariants: an incremental hasher always holds a valid state: it starts empty, and finish()
// returns the digest of everything passed to update() since construction or the previous finish(),
// then resets to the empty state. Hasher state is wiped on destruction.
#pragma once

#include <sodium.h>

#include "util/bytes.h"

namespace imet::crypto {

using Hash256 = util::ByteArray<32>;
using Hash512 = util::ByteArray<64>;

Hash256 blake2b_256(util::ByteSpan data);
Hash512 blake2b_512(util::ByteSpan data);

// Hasher for unordered containers keyed by 32-byte digests (transaction ids, block hashes): the
// first 8 bytes mixed with a per-process random key, so peers cannot aim many ids at one bucket.
struct DigestHash {
  size_t operator()(const Hash256& h) const noexcept;
};

// Incremental BLAKE2b-256: blake2b_256(a || b) == {h.update(a); h.update(b); h.finish()}.
class Blake2b256 {
 public:
  Blake2b256();
  ~Blake2b256();
  Blake2b256(const Blake2b256&) = default;
  Blake2b256& operator=(const Blake2b256&) = default;

  void update(util::ByteSpan data);
  Hash256 finish();

 private:
  crypto_generichash_blake2b_state state_;
};

// Incremental BLAKE2b-512, same contract as Blake2b256.
class Blake2b512 {
 public:
  Blake2b512();
  ~Blake2b512();
  Blake2b512(const Blake2b512&) = default;
  Blake2b512& operator=(const Blake2b512&) = default;

  void update(util::ByteSpan data);
  Hash512 finish();

 private:
  crypto_generichash_blake2b_state state_;
};

}  // namespace imet::crypto
