// raise_fd_limit against the real process limit: a lowered soft limit is raised to the hard one
// (and restored afterwards), and the connection capacity leaves the reserve.
#include "node/fd_limit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace imet::node {
namespace {

TEST(FdLimit, RaisesALoweredSoftLimitToTheHardLimit) {
  rlimit original{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original), 0);
  if (original.rlim_max != RLIM_INFINITY && original.rlim_max <= 256) {
    GTEST_SKIP() << "hard limit " << original.rlim_max << " leaves nothing to raise";
  }
  rlimit lowered = original;
  lowered.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  auto r = raise_fd_limit();
  rlimit now{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &now), 0);
  ::setrlimit(RLIMIT_NOFILE, &original);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->soft_before, 256u);
  EXPECT_EQ(r->soft, static_cast<uint64_t>(now.rlim_cur));
  EXPECT_GT(now.rlim_cur, 256u);
  if (original.rlim_max != RLIM_INFINITY) {
    EXPECT_EQ(now.rlim_cur, original.rlim_max);
    EXPECT_EQ(r->hard, static_cast<uint64_t>(original.rlim_max));
  }
}

TEST(FdLimit, ConnectionCapacityKeepsTheReserve) {
  EXPECT_EQ(mqtt_connection_capacity(20'000), 20'000 - kFdReserve);
  EXPECT_EQ(mqtt_connection_capacity(kFdReserve), 0u);
  EXPECT_EQ(mqtt_connection_capacity(100), 0u);
}

}  // namespace
}  // namespace imet::node
