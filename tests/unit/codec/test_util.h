// Helpers shared by the codec unit tests: hex literals (spaces allowed, to show field
// boundaries) and small single-field structs.
// Thread-safety: test-only value types. Invariants: none.
#pragma once

#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "codec/serialize.h"
#include "util/bytes.h"

namespace imet::codec::testing {

inline util::Bytes hex(std::string_view h) {
  std::string digits;
  for (char c : h) {
    if (c != ' ') digits += c;
  }
  auto r = util::from_hex(digits);
  EXPECT_TRUE(r.ok()) << h;
  return r.ok() ? *r : util::Bytes{};
}

// One field named "v" of a type with a default encoding (integers, bool, byte arrays, enums).
template <typename T>
struct Box {
  T v{};
  template <typename S>
  void serde(S& s) {
    if constexpr (std::same_as<T, uint8_t>) {
      s.u8(v, "v");
    } else if constexpr (std::same_as<T, uint16_t>) {
      s.u16(v, "v");
    } else if constexpr (std::same_as<T, uint32_t>) {
      s.u32(v, "v");
    } else if constexpr (std::same_as<T, uint64_t>) {
      s.u64(v, "v");
    } else if constexpr (std::same_as<T, int64_t>) {
      s.i64(v, "v");
    } else if constexpr (std::same_as<T, bool>) {
      s.boolean(v, "v");
    } else if constexpr (CodecEnum<T>) {
      s.enumeration(v, "v");
    } else {
      s.fixed(v, "v");
    }
  }
  friend bool operator==(const Box&, const Box&) = default;
};

// One varint field named "v".
struct VarintBox {
  uint64_t v = 0;
  template <typename S>
  void serde(S& s) {
    s.varint(v, "v");
  }
  friend bool operator==(const VarintBox&, const VarintBox&) = default;
};

// Decodes `bytes` and expects the given error message.
template <typename T>
void expect_decode_error(const util::Bytes& bytes, std::string_view message,
                         const Limits& limits = {}) {
  auto r = decode<T>(bytes, limits);
  ASSERT_FALSE(r.ok()) << "accepted " << util::to_hex(bytes);
  EXPECT_EQ(r.status().code(), util::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), message);
}

}  // namespace imet::codec::testing
