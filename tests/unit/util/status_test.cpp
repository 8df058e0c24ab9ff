#include <gtest/gtest.h>

#include "util/result.h"

namespace imet::util {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return invalid_argument("must be positive");
  return v;
}

Result<int> doubled(int v) {
  IMET_ASSIGN_OR_RETURN(int x, parse_positive(v));
  return 2 * x;
}

Status check_both(int a, int b) {
  IMET_TRY(parse_positive(a).status());
  IMET_TRY(parse_positive(b).status());
  return {};
}

TEST(Status, OkAndError) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.to_string(), "OK");
  Status err = not_found("no such key");
  EXPECT_FALSE(err.ok());
  EXPECT_EQ(err.code(), StatusCode::kNotFound);
  EXPECT_EQ(err.to_string(), "NotFound: no such key");
  EXPECT_EQ(err.with_context("reading x").message(), "reading x: no such key");
}

TEST(Result, ValueAndErrorPropagation) {
  EXPECT_EQ(doubled(4).value(), 8);
  auto r = doubled(-1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "must be positive");
  EXPECT_TRUE(check_both(1, 2).ok());
  EXPECT_FALSE(check_both(1, 0).ok());
}

TEST(Result, OkStatusBecomesInternalError) {
  Result<int> r{Status()};
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace imet::util
