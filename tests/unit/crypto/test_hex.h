// Test helpers: hex literals for known-answer tests. A malformed literal is a bug in the test and
// fails the current test (it never silently becomes empty input).
#pragma once

#include <string_view>

#include <gtest/gtest.h>

#include "util/bytes.h"

namespace imet::crypto::testing {

inline util::Bytes hex(std::string_view text) {
  auto r = util::from_hex(text);
  EXPECT_TRUE(r.ok()) << "bad hex literal in test: " << r.status().to_string();
  return r.ok() ? *r : util::Bytes{};
}

template <size_t N>
util::ByteArray<N> hex_array(std::string_view text) {
  auto r = util::from_hex_fixed<N>(text);
  EXPECT_TRUE(r.ok()) << "bad hex literal in test: " << r.status().to_string();
  return r.ok() ? *r : util::ByteArray<N>{};
}

}  // namespace imet::crypto::testing
