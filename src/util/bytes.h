// Byte containers and hex encoding used across all layers.
// Thread-safety: free functions are pure; types are plain values.
// Invariants: hex output is lowercase; hex input must have even length and only [0-9a-fA-F].
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace imet::util {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;
template <size_t N>
using ByteArray = std::array<uint8_t, N>;

std::string to_hex(ByteSpan data);
Result<Bytes> from_hex(std::string_view hex);
// Parses exactly N bytes of hex; any other length is an error naming the expected length.
template <size_t N>
Result<ByteArray<N>> from_hex_fixed(std::string_view hex) {
  auto r = from_hex(hex);
  if (!r.ok()) return r.status();
  if (r->size() != N) {
    return invalid_argument("expected " + std::to_string(N) + " bytes (" + std::to_string(2 * N) +
                            " hex digits), got " + std::to_string(r->size()) + " bytes");
  }
  ByteArray<N> out{};
  for (size_t i = 0; i < N; ++i)
    out[i] = (*r)[i];
  return out;
}

inline ByteSpan as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline Bytes to_bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}
inline std::string to_string(ByteSpan b) {
  return std::string(b.begin(), b.end());
}

// Appends `src` to `dst`.
inline void append(Bytes& dst, ByteSpan src) {
  dst.insert(dst.end(), src.begin(), src.end());
}

// Constant-time equality for secrets (length is not secret).
bool equal_ct(ByteSpan a, ByteSpan b);

}  // namespace imet::util
