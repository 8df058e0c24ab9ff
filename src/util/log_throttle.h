// LogThrottle: lets a repeated log line through at most once per interval and counts the
// occurrences held back, so a condition that can repeat many times a second (accept() out of file
// descriptors, a backlogged message log) is logged once per interval with how often it happened,
// instead of flooding the log.
// Thread-safety: thread-safe (one mutex; a leaf lock: nothing else is locked while it is held).
// Invariants: every occurrence is either let through or counted exactly once in the `suppressed`
// of the next occurrence let through; the first occurrence is always let through.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace imet::util {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogThrottle(Clock::duration interval) : interval_(interval) {}

  // Records one occurrence at `now`. Returns nullopt when it is to be held back, else the number
  // of occurrences held back since the previous one let through (log it with the line).
  std::optional<uint64_t> admit(Clock::time_point now = Clock::now()) {
    std::lock_guard lock(mu_);
    if (any_ && now - last_ < interval_) {
      ++suppressed_;
      return std::nullopt;
    }
    any_ = true;
    last_ = now;
    const uint64_t held = suppressed_;
    suppressed_ = 0;
    return held;
  }

 private:
  const Clock::duration interval_;
  std::mutex mu_;
  bool any_ = false;
  Clock::time_point last_{};
  uint64_t suppressed_ = 0;
};

}  // namespace imet::util
