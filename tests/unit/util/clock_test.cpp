#include "util/clock.h"

#include <gtest/gtest.h>

namespace imet::util {
namespace {

TEST(Clock, SystemClockIsPlausibleAndMonotonic) {
  const Clock& c = SystemClock::instance();
  EXPECT_GT(c.now_unix_ms(), 1'700'000'000'000);  // after Nov 2023
  int64_t a = c.now_steady_ns();
  int64_t b = c.now_steady_ns();
  EXPECT_LE(a, b);
}

TEST(Clock, ManualClockMovesOnlyWhenTold) {
  ManualClock c(1000, 5);
  EXPECT_EQ(c.now_unix_ms(), 1000);
  EXPECT_EQ(c.now_steady_ns(), 5);
  EXPECT_TRUE(c.advance_ms(250));
  EXPECT_EQ(c.now_unix_ms(), 1250);
  EXPECT_EQ(c.now_steady_ns(), 5 + 250'000'000);
  EXPECT_FALSE(c.advance_ms(-1));
  EXPECT_EQ(c.now_unix_ms(), 1250);
  c.set_unix_ms(10);  // wall clock may jump back; steady clock unaffected
  EXPECT_EQ(c.now_unix_ms(), 10);
  EXPECT_EQ(c.now_steady_ns(), 5 + 250'000'000);
}

}  // namespace
}  // namespace imet::util
