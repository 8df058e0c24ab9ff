#include "util/clock.h"

#include <chrono>

namespace imet::util {

int64_t SystemClock::now_unix_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t SystemClock::now_steady_ns() const {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
}

const SystemClock& SystemClock::instance() {
  static const SystemClock clock;
  return clock;
}

bool ManualClock::advance_ms(int64_t ms) {
  if (ms < 0) return false;
  unix_ms_.fetch_add(ms);
  steady_ns_.fetch_add(ms * 1'000'000);
  return true;
}

}  // namespace imet::util
