// UTF-8 validation for the codec's string fields (RFC 3629 / Unicode Table 3-7). A string is valid
// when it is a sequence of shortest-form encodings of Unicode scalar values: no stray continuation
// bytes, no truncated sequences, no overlong forms (C0 80, E0 80 80, ...), no UTF-16 surrogates
// (U+D800..U+DFFF) and nothing above U+10FFFF. NUL and noncharacters are valid scalar values.
// Normalization (NFC/NFD) is not checked: two normal forms are two different strings, each with one
// encoding.
// Thread-safety: pure functions. Invariants: find_utf8_error(s) is empty <=> is_valid_utf8(s).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "util/bytes.h"

namespace imet::codec {

struct Utf8Error {
  size_t index = 0;         // byte index in the string where the bad sequence starts
  std::string_view reason;  // e.g. "overlong encoding"; a string literal
};

// The first problem in `s`, or nullopt when `s` is valid UTF-8.
std::optional<Utf8Error> find_utf8_error(util::ByteSpan s);
inline bool is_valid_utf8(util::ByteSpan s) {
  return !find_utf8_error(s).has_value();
}

}  // namespace imet::codec
