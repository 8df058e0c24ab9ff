// Unsigned LEB128 varints: the length and count prefix of the canonical codec (codec/serialize.h).
// A value is written 7 bits at a time, least significant group first; the high bit of each byte
// says "another byte follows". Only the shortest encoding of a value is valid, so each value has
// exactly one encoding.
// Thread-safety: pure functions.
// Invariants: append_varint(v) writes varint_size(v) <= kMaxVarintSize bytes, the last of which is
// non-zero unless v == 0; parse_varint accepts exactly the byte strings append_varint produces
// (as a prefix of its input) and reports every other prefix as one of the VarintError reasons.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "util/bytes.h"

namespace imet::codec {

// A uint64_t needs at most ceil(64 / 7) = 10 groups of 7 bits.
inline constexpr size_t kMaxVarintSize = 10;

// Number of bytes append_varint(v) writes: 1 for v < 2^7, 2 for v < 2^14, ..., 10 for v >= 2^63.
constexpr size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Appends the minimal LEB128 encoding of v to out.
void append_varint(util::Bytes& out, uint64_t v);

enum class VarintError : uint8_t {
  kNone = 0,
  kTruncated,   // the input ends while the continuation bit says more bytes follow
  kNonMinimal,  // a final 0x00 group after other groups (e.g. 0x80 0x00 for 0)
  kTooLong,     // the 10th byte still has its continuation bit set
  kOverflow,    // the 10th byte carries bits above bit 63
};

// What went wrong, for error messages ("non-minimal varint encoding", ...).
std::string_view varint_error_text(VarintError error);

struct VarintParse {
  uint64_t value = 0;  // valid only when error == kNone
  size_t size = 0;     // bytes consumed; valid only when error == kNone
  VarintError error = VarintError::kNone;
};

// Parses one varint from the start of `in`; bytes after it are not looked at.
inline VarintParse parse_varint(util::ByteSpan in) {
  VarintParse r;
  uint64_t value = 0;
  const size_t avail = in.size() < kMaxVarintSize ? in.size() : kMaxVarintSize;
  for (size_t i = 0; i < avail; ++i) {
    const uint8_t b = in[i];
    if (i == kMaxVarintSize - 1) {
      // Bits 63.. live in the 10th byte: only its lowest bit may be set, and no continuation.
      if (b & 0x80) {
        r.error = VarintError::kTooLong;
        return r;
      }
      if (b > 0x01) {
        r.error = VarintError::kOverflow;
        return r;
      }
    }
    value |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      if (b == 0 && i > 0) {
        r.error = VarintError::kNonMinimal;
        return r;
      }
      r.value = value;
      r.size = i + 1;
      return r;
    }
  }
  r.error = VarintError::kTruncated;
  return r;
}

}  // namespace imet::codec
