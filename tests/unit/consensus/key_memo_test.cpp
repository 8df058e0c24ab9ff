// Unit tests for consensus::KeyMemo (the engine's voter-key memo): lookups after growth, keys
// that share long prefixes (a peer may choose them), clear().
#include "consensus/key_memo.h"

#include <string>

#include <gtest/gtest.h>

namespace imet::consensus {
namespace {

crypto::PublicKey key_with_tail(uint32_t i) {
  crypto::PublicKey k{};
  k.fill(0xAB);  // the same first 28 bytes for every key
  for (int b = 0; b < 4; ++b)
    k[28 + b] = static_cast<uint8_t>(i >> (8 * b));
  return k;
}

TEST(KeyMemo, FindsEveryInsertedKeyAcrossGrowthAndNoOther) {
  KeyMemo<std::string> memo;
  EXPECT_EQ(memo.find(key_with_tail(0)), nullptr);
  for (uint32_t i = 0; i < 5'000; ++i)
    EXPECT_EQ(memo.insert(key_with_tail(i), std::to_string(i)), std::to_string(i));
  EXPECT_EQ(memo.size(), 5'000u);
  for (uint32_t i = 0; i < 5'000; ++i) {
    const std::string* v = memo.find(key_with_tail(i));
    ASSERT_NE(v, nullptr) << i;
    EXPECT_EQ(*v, std::to_string(i));
  }
  EXPECT_EQ(memo.find(key_with_tail(5'000)), nullptr);
}

TEST(KeyMemo, ClearForgetsEverything) {
  KeyMemo<int> memo;
  memo.insert(key_with_tail(1), 1);
  memo.insert(key_with_tail(2), 2);
  memo.clear();
  EXPECT_EQ(memo.size(), 0u);
  EXPECT_EQ(memo.find(key_with_tail(1)), nullptr);
  EXPECT_EQ(memo.insert(key_with_tail(1), 7), 7);
  EXPECT_EQ(*memo.find(key_with_tail(1)), 7);
}

}  // namespace
}  // namespace imet::consensus
