// Many BLAKE2b-256 hashes at once: the messages are hashed several at a time, one message per
// 64-bit SIMD lane (8 lanes with AVX-512, 4 with AVX2 or the portable vector build, picked once at
// run time). Each digest is exactly crypto_generichash_blake2b's (unkeyed, 32-byte output); this is
// only a faster way to compute many of them, e.g. the Merkle leaf and node hashes of the message
// log (crypto/merkle.h), where one hash at a time through libsodium costs about as much again in
// call overhead and leaves the vector units mostly idle. Thread-safety: pure functions (the
// implementation is chosen once, thread-safely). Invariants: blake2b_256_many(inputs, out)[i] ==
// blake2b_256(prefix_i || data_i) for every i, whatever the lengths (lanes of different lengths are
// hashed together; a lane that is done keeps its state while the others go on).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "crypto/hash.h"
#include "util/bytes.h"

namespace imet::crypto {

// The most messages hashed together (AVX-512: 8; otherwise 4).
inline constexpr size_t kBlake2bMaxLanes = 8;

// One message: an optional single prefix byte (a Merkle domain separator) followed by `data`.
struct Blake2bInput {
  util::ByteSpan data;
  uint8_t prefix = 0;
  bool has_prefix = false;
};

// out[i] = BLAKE2b-256(prefix_i || data_i); out.size() must equal inputs.size().
void blake2b_256_many(std::span<const Blake2bInput> inputs, std::span<Hash256> out);

// Which implementation runs on this machine: "avx512", "avx2" or "generic" (benchmarks, logs).
const char* blake2b_many_impl();
// As blake2b_256_many with a named implementation (tests and benchmarks); false if this CPU
// cannot run it or the name is unknown.
bool blake2b_256_many_with(std::string_view impl, std::span<const Blake2bInput> inputs,
                           std::span<Hash256> out);

}  // namespace imet::crypto
