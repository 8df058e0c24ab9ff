#include "codec/utf8.h"

#include <cstdint>
#include <cstring>

namespace imet::codec {

std::optional<Utf8Error> find_utf8_error(util::ByteSpan s) {
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Fast path: skip 8 ASCII bytes at a time.
    if (n - i >= 8) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, sizeof(word));
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const uint8_t lead = s[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    uint32_t min_cp;
    if (lead < 0xC0) return Utf8Error{i, "unexpected continuation byte"};
    if (lead < 0xE0) {
      len = 2;
      cp = lead & 0x1Fu;
      min_cp = 0x80;
    } else if (lead < 0xF0) {
      len = 3;
      cp = lead & 0x0Fu;
      min_cp = 0x800;
    } else if (lead < 0xF8) {
      len = 4;
      cp = lead & 0x07u;
      min_cp = 0x10000;
    } else {
      return Utf8Error{i, "invalid lead byte"};
    }
    for (size_t k = 1; k < len; ++k) {
      if (i + k >= n) return Utf8Error{i, "truncated multi-byte sequence"};
      const uint8_t c = s[i + k];
      if ((c & 0xC0) != 0x80) return Utf8Error{i + k, "missing continuation byte"};
      cp = (cp << 6) | (c & 0x3Fu);
    }
    if (cp < min_cp) return Utf8Error{i, "overlong encoding"};
    if (cp >= 0xD800 && cp <= 0xDFFF) return Utf8Error{i, "surrogate code point"};
    if (cp > 0x10FFFF) return Utf8Error{i, "code point above U+10FFFF"};
    i += len;
  }
  return std::nullopt;
}

}  // namespace imet::codec
