// Store-independent helpers of store/kv_store.h: WriteBatch bookkeeping, starts_with,
// prefix_upper_bound.
#include "store/kv_store.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace imet::store {
namespace {

using namespace std::string_view_literals;
using util::as_bytes;

std::optional<std::string> upper(std::string_view prefix) {
  auto bound = prefix_upper_bound(as_bytes(prefix));
  if (!bound) return std::nullopt;
  return util::to_string(*bound);
}

TEST(WriteBatch, KeepsOpsInOrderWithCopiesOfTheirBytes) {
  WriteBatch batch;
  EXPECT_TRUE(batch.empty());
  std::string key = "key";
  std::string value = "value";
  batch.put(as_bytes(key), as_bytes(value));
  key = "KEY";  // the batch holds its own copy
  batch.del(as_bytes(key));
  batch.put(as_bytes(""), as_bytes(""));
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_FALSE(batch.empty());
  EXPECT_EQ(batch.payload_bytes(), 3u + 5u + 3u);

  const auto& ops = batch.ops();
  EXPECT_EQ(ops[0].type, WriteBatch::OpType::kPut);
  EXPECT_EQ(util::to_string(ops[0].key), "key");
  EXPECT_EQ(util::to_string(ops[0].value), "value");
  EXPECT_EQ(ops[1].type, WriteBatch::OpType::kDelete);
  EXPECT_EQ(util::to_string(ops[1].key), "KEY");
  EXPECT_TRUE(ops[1].value.empty());
  EXPECT_EQ(ops[2].type, WriteBatch::OpType::kPut);
  EXPECT_TRUE(ops[2].key.empty());

  batch.clear();
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(batch.payload_bytes(), 0u);
}

TEST(KvHelpers, StartsWith) {
  EXPECT_TRUE(starts_with(as_bytes("abc"), as_bytes("")));
  EXPECT_TRUE(starts_with(as_bytes(""), as_bytes("")));
  EXPECT_TRUE(starts_with(as_bytes("abc"), as_bytes("ab")));
  EXPECT_TRUE(starts_with(as_bytes("abc"), as_bytes("abc")));
  EXPECT_FALSE(starts_with(as_bytes("ab"), as_bytes("abc")));
  EXPECT_FALSE(starts_with(as_bytes("abc"), as_bytes("b")));
  EXPECT_TRUE(starts_with(as_bytes("\xff\x00"sv), as_bytes("\xff"sv)));
  EXPECT_FALSE(starts_with(as_bytes("\xfe\xff"sv), as_bytes("\xff"sv)));
}

TEST(KvHelpers, PrefixUpperBound) {
  EXPECT_EQ(upper("abc"), "abd");
  EXPECT_EQ(upper("a\x00"sv), "a\x01");
  EXPECT_EQ(upper("a\xff"sv), "b");
  EXPECT_EQ(upper("a\xff\xff"sv), "b");
  EXPECT_EQ(upper("\x7f"sv), "\x80");
  EXPECT_EQ(upper("\xfe"sv), "\xff");
  EXPECT_EQ(upper("\xff"sv), std::nullopt);
  EXPECT_EQ(upper("\xff\xff"sv), std::nullopt);
  EXPECT_EQ(upper(""), std::nullopt);
}

}  // namespace
}  // namespace imet::store
