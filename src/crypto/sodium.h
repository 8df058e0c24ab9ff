// libsodium initialisation and the process's source of cryptographic randomness.
// Thread-safety: ensure_init() may be called from any number of threads concurrently; the first
// call runs sodium_init() exactly once and the others wait for it. random_bytes() is safe to call
// from any thread (libsodium's randombytes uses the kernel CSPRNG).
// Invariants: after ensure_init() returns, libsodium is initialised. If libsodium cannot be
// initialised at all (no usable entropy source), the process aborts: no crypto can run safely.
#pragma once

#include <cstdint>
#include <span>

namespace imet::crypto {

// Initialises libsodium once per process. Every function of this layer calls it, so callers need
// not; calling it early at start-up only moves the (small) cost.
void ensure_init();

// Fills `out` with cryptographically secure random bytes.
void random_bytes(std::span<uint8_t> out);

}  // namespace imet::crypto
