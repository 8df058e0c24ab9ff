// Rng: the simulation's only source of randomness, a SplitMix64 generator seeded with the run's
// seed. Its own arithmetic (no std:: distributions, whose output is implementation-defined), so a
// seed names the same run on every platform and standard library.
// Thread-safety: not thread-safe (one per simulation). Invariants: the sequence is a pure function
// of the seed and the calls made.
#pragma once

#include <cstdint>

namespace imet::sim {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) (n > 0); the modulo bias is below 2^-40 for the small n used here.
  uint64_t below(uint64_t n) { return next() % n; }
  // Uniform in [lo, hi].
  uint64_t range(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }
  // True with probability per_mille / 1000.
  bool chance(uint32_t per_mille) { return below(1000) < per_mille; }

 private:
  uint64_t state_;
};

}  // namespace imet::sim
