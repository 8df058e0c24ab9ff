// Clock: the only way code reads time, so tests and the simulator can control it.
// SystemClock reads the real clocks; ManualClock returns what the test sets.
// Thread-safety: SystemClock is stateless; ManualClock is safe for concurrent use (atomics).
// Invariants: now_steady_ns() never decreases (ManualClock::advance rejects negative steps).
#pragma once

#include <atomic>
#include <cstdint>

namespace imet::util {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time: milliseconds since the Unix epoch (may jump).
  virtual int64_t now_unix_ms() const = 0;
  // Monotonic time in nanoseconds from an arbitrary origin; for timeouts and durations.
  virtual int64_t now_steady_ns() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now_unix_ms() const override;
  int64_t now_steady_ns() const override;
  // A process-wide instance.
  static const SystemClock& instance();
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t unix_ms = 0, int64_t steady_ns = 0)
      : unix_ms_(unix_ms), steady_ns_(steady_ns) {}
  int64_t now_unix_ms() const override { return unix_ms_.load(); }
  int64_t now_steady_ns() const override { return steady_ns_.load(); }
  // Moves both clocks forward by `ms` milliseconds; returns false (and does nothing) if ms < 0.
  bool advance_ms(int64_t ms);
  // Sets the wall clock only (wall clocks may jump backwards; steady clocks may not).
  void set_unix_ms(int64_t ms) { unix_ms_.store(ms); }

 private:
  std::atomic<int64_t> unix_ms_;
  std::atomic<int64_t> steady_ns_;
};

}  // namespace imet::util
