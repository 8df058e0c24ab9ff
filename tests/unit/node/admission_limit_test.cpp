// AdmissionLimit (node/admission_limit.h): the moving average of the finalized rate in block
// time, the floor, the ceiling, the k-slot limit and the Retry-After estimate.
#include "node/admission_limit.h"

#include <gtest/gtest.h>

namespace imet::node {
namespace {

constexpr uint32_t kSlot = 500;

// Feeds `blocks` blocks of `txs` transactions, one per slot, after `t` (updated).
void feed(AdmissionLimit& a, uint64_t& t, size_t blocks, size_t txs, uint32_t every = kSlot) {
  for (size_t i = 0; i < blocks; ++i) {
    t += every;
    a.on_final_block(txs, t);
  }
}

TEST(AdmissionLimitTest, AFreshChainHasTheFloor) {
  AdmissionLimit a({.slots = 4, .floor = 2000}, kSlot, 50'000);
  EXPECT_EQ(a.rate_per_ms(), 0);
  EXPECT_EQ(a.limit(), 2000u);
  EXPECT_FALSE(a.refuses(1999));
  EXPECT_TRUE(a.refuses(2000));
  a.on_final_block(1000, 1000);  // the first block only sets the reference time
  EXPECT_EQ(a.rate_per_ms(), 0);
  EXPECT_EQ(a.limit(), 2000u);
}

TEST(AdmissionLimitTest, TheLimitIsKSlotsOfTheFinalizedRate) {
  AdmissionLimit a({.slots = 4, .floor = 100}, kSlot, 50'000);
  uint64_t t = 0;
  a.on_final_block(0, t);
  feed(a, t, 100, 1000);  // 1,000 per 500 ms slot, long enough to converge
  EXPECT_NEAR(a.rate_per_s(), 2000, 1);
  EXPECT_NEAR(static_cast<double>(a.limit()), 4000, 2);
  EXPECT_FALSE(a.refuses(3990));
  EXPECT_TRUE(a.refuses(4001));
}

TEST(AdmissionLimitTest, TheAverageFollowsChangesWithinAFewSlots) {
  AdmissionLimit a({.slots = 4, .floor = 100, .horizon_slots = 4}, kSlot, 50'000);
  uint64_t t = 0;
  a.on_final_block(0, t);
  feed(a, t, 100, 1000);
  // The chain slows to half: after one time constant (4 slots) about 63 % of the change.
  feed(a, t, 4, 500);
  EXPECT_NEAR(a.rate_per_ms(), 2.0 - 0.632 * 1.0, 0.01);
  feed(a, t, 40, 500);
  EXPECT_NEAR(a.rate_per_ms(), 1.0, 0.01);
  EXPECT_NEAR(static_cast<double>(a.limit()), 2000, 5);
}

TEST(AdmissionLimitTest, LateBlocksCountAsTheTimeTheyTook) {
  AdmissionLimit a({.slots = 4, .floor = 100}, kSlot, 50'000);
  uint64_t t = 0;
  a.on_final_block(0, t);
  // 1,000 transactions per block, but a block every 2 slots: 1 per ms, not 2.
  feed(a, t, 100, 1000, 2 * kSlot);
  EXPECT_NEAR(a.rate_per_ms(), 1.0, 0.01);
  // A block time that does not advance counts as one slot later, never as a division by zero.
  a.on_final_block(500, t);
  EXPECT_GT(a.rate_per_ms(), 0.99);
}

TEST(AdmissionLimitTest, AnIdleChainFallsBackToTheFloorAndNeverBelow) {
  AdmissionLimit a({.slots = 4, .floor = 2000}, kSlot, 50'000);
  uint64_t t = 0;
  a.on_final_block(0, t);
  feed(a, t, 50, 5000);
  EXPECT_GT(a.limit(), 19'000u);  // 4 slots of 5,000
  feed(a, t, 200, 0);             // empty blocks
  EXPECT_EQ(a.limit(), 2000u);
}

TEST(AdmissionLimitTest, TheCeilingCapsAndZeroSlotsTurnsTheLimitOff) {
  AdmissionLimit capped({.slots = 4, .floor = 100}, kSlot, 3000);
  uint64_t t = 0;
  capped.on_final_block(0, t);
  feed(capped, t, 100, 5000);
  EXPECT_EQ(capped.limit(), 3000u);
  AdmissionLimit off({.slots = 0, .floor = 100}, kSlot, 50'000);
  EXPECT_EQ(off.limit(), 50'000u);
  EXPECT_FALSE(off.refuses(49'999));
  // A floor above the ceiling yields the ceiling.
  AdmissionLimit small({.slots = 4, .floor = 10'000}, kSlot, 2000);
  EXPECT_EQ(small.limit(), 2000u);
}

TEST(AdmissionLimitTest, RetryAfterIsTheTimeToFinalizeTheExcessAtLeastOneSlot) {
  AdmissionLimit a({.slots = 4, .floor = 100}, kSlot, 50'000);
  EXPECT_EQ(a.retry_after_s(5000), 1u);  // no rate yet: one slot, rounded up to 1 s
  uint64_t t = 0;
  a.on_final_block(0, t);
  feed(a, t, 100, 1000);  // 2 per ms, limit about 4,000
  EXPECT_EQ(a.retry_after_s(a.limit()), 1u);
  EXPECT_EQ(a.retry_after_s(a.limit() + 5000), 3u);  // 5,001 / 2 per ms = 2.5 s
  EXPECT_EQ(a.retry_after_s(a.limit() + 10'000'000), 60u);
  AdmissionLimit slow({.slots = 4, .floor = 100}, 10'000, 50'000);  // 10 s slots
  EXPECT_EQ(slow.retry_after_s(200), 10u);
}

}  // namespace
}  // namespace imet::node
