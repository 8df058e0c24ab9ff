#include "ledger/amount.h"

#include <gtest/gtest.h>

#include "ledger/params.h"

namespace imet::ledger {
namespace {

TEST(Amount, ParsesDecimalImet) {
  EXPECT_EQ(parse_amount("12.5").value(), 1'250'000'000u);
  EXPECT_EQ(parse_amount("0.00000001").value(), 1u);
  EXPECT_EQ(parse_amount("0").value(), 0u);
  EXPECT_EQ(parse_amount("100000000").value(), kTotalSupply);
  EXPECT_EQ(parse_amount("007.10").value(), 710'000'000u);
  EXPECT_EQ(parse_amount("184467440737.09551615").value(), UINT64_MAX);
}

TEST(Amount, RejectsBadText) {
  for (const char* bad : {"", "-1", "+1", "1e8", ".5", "5.", "1.000000001", "1,5", " 1", "1 ",
                          "0x10", "184467440737.09551616", "99999999999999999999"}) {
    auto r = parse_amount(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_NE(parse_amount("1.123456789").status().message().find("more than 8 decimal places"),
            std::string::npos);
}

TEST(Amount, FormatsCanonically) {
  EXPECT_EQ(format_amount(1'250'000'000), "12.5");
  EXPECT_EQ(format_amount(1), "0.00000001");
  EXPECT_EQ(format_amount(0), "0");
  EXPECT_EQ(format_amount(imet(200)), "200");
  for (Amount a : {Amount{0}, Amount{1}, Amount{99}, imet(3) + 7, kTotalSupply, UINT64_MAX}) {
    EXPECT_EQ(parse_amount(format_amount(a)).value(), a);
  }
}

TEST(Amount, CheckedArithmetic) {
  EXPECT_EQ(add(1, 2), 3u);
  EXPECT_FALSE(add(UINT64_MAX, 1));
  EXPECT_EQ(sub(5, 5), 0u);
  EXPECT_FALSE(sub(4, 5));
  EXPECT_EQ(mul_div(imet(5), 20, 100), imet(1));
  EXPECT_EQ(mul_div(UINT64_MAX, 3, 3), UINT64_MAX);  // no intermediate overflow
  EXPECT_FALSE(mul_div(UINT64_MAX, 2, 1));
  EXPECT_FALSE(mul_div(1, 1, 0));
}

TEST(ChainParams, RewardScheduleByYear) {
  ChainParams p;
  const uint64_t year = p.year_ms;
  EXPECT_EQ(p.year_ms, 333ull * 86'400'000);
  EXPECT_EQ(p.block_reward(0), imet(5));
  EXPECT_EQ(p.block_reward(year - 1), imet(5));
  EXPECT_EQ(p.block_reward(year), imet(4));
  EXPECT_EQ(p.block_reward(2 * year), imet(3));
  EXPECT_EQ(p.block_reward(3 * year), imet(2));
  EXPECT_EQ(p.block_reward(4 * year), imet(1));
  EXPECT_EQ(p.block_reward(40 * year), imet(1));
  EXPECT_EQ(p.fees.transfer, imet(1) / 2);
  EXPECT_EQ(p.fees.register_delegate, imet(200));
  EXPECT_TRUE(p.validate().ok());
  p.n_min = 200;
  EXPECT_FALSE(p.validate().ok());
}

}  // namespace
}  // namespace imet::ledger
