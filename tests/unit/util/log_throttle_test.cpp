// LogThrottle: one line per interval, the held-back occurrences counted into the next one.
#include "util/log_throttle.h"

#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace imet::util {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(LogThrottle, FirstPassesThenOnePerIntervalWithTheHeldBackCount) {
  LogThrottle t(seconds(60));
  const auto t0 = LogThrottle::Clock::time_point{} + seconds(1000);
  EXPECT_EQ(t.admit(t0), std::optional<uint64_t>(0));
  EXPECT_EQ(t.admit(t0 + milliseconds(1)), std::nullopt);
  EXPECT_EQ(t.admit(t0 + seconds(30)), std::nullopt);
  EXPECT_EQ(t.admit(t0 + milliseconds(59'999)), std::nullopt);
  EXPECT_EQ(t.admit(t0 + seconds(60)), std::optional<uint64_t>(3));
  // The interval runs from the last line let through, and the count starts again.
  EXPECT_EQ(t.admit(t0 + seconds(61)), std::nullopt);
  EXPECT_EQ(t.admit(t0 + seconds(200)), std::optional<uint64_t>(1));
  EXPECT_EQ(t.admit(t0 + seconds(400)), std::optional<uint64_t>(0));
}

TEST(LogThrottle, CountsEveryOccurrenceOnceAcrossThreads) {
  LogThrottle t(seconds(3600));
  ASSERT_EQ(t.admit(), std::optional<uint64_t>(0));
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&t] {
      for (int j = 0; j < 1000; ++j)
        EXPECT_EQ(t.admit(), std::nullopt);
    });
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(t.admit(LogThrottle::Clock::now() + seconds(3601)), std::optional<uint64_t>(4000));
}

}  // namespace
}  // namespace imet::util
