// TokenBucket: a rate limit of `rate` units per second with bursts of up to `burst` units; the
// per-peer message and byte limits of the host. Time is an input (milliseconds, monotonic).
// Thread-safety: not safe for concurrent use (one per peer, used on the host strand).
// Invariants: 0 <= tokens <= burst; take() succeeds iff enough tokens are present and then removes
// exactly that many; time going backwards adds no tokens.
#pragma once

#include <algorithm>
#include <cstdint>

namespace imet::net {

class TokenBucket {
 public:
  TokenBucket(double rate_per_second, double burst, int64_t now_ms)
      : rate_(rate_per_second), burst_(burst), tokens_(burst), last_ms_(now_ms) {}

  bool take(double n, int64_t now_ms) {
    refill(now_ms);
    if (n > tokens_) return false;
    tokens_ -= n;
    return true;
  }
  double tokens(int64_t now_ms) {
    refill(now_ms);
    return tokens_;
  }

 private:
  void refill(int64_t now_ms) {
    if (now_ms <= last_ms_) return;
    tokens_ = std::min(burst_, tokens_ + rate_ * static_cast<double>(now_ms - last_ms_) / 1000.0);
    last_ms_ = now_ms;
  }

  double rate_;
  double burst_;
  double tokens_;
  int64_t last_ms_;
};

}  // namespace imet::net
