#include "mqtt/codec/wire.h"

namespace imet::mqtt {

namespace {

constexpr uint64_t kHighBits = 0x8080808080808080ULL;
constexpr uint64_t kLowBits = 0x0101010101010101ULL;

// Validates UTF-8 from p to end. Returns kNul only if reject_nul.
Utf8Error check_utf8(const uint8_t* p, const uint8_t* end, bool reject_nul) {
  while (p < end) {
    // ASCII fast path, 8 bytes at a time.
    while (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if (w & kHighBits) break;
      if (reject_nul && ((w - kLowBits) & ~w & kHighBits)) return Utf8Error::kNul;
      p += 8;
    }
    if (p >= end) break;
    const uint8_t b = *p;
    if (b < 0x80) {
      if (b == 0 && reject_nul) return Utf8Error::kNul;
      ++p;
      continue;
    }
    const auto avail = end - p;
    if (b < 0xC2) return Utf8Error::kIllFormed;  // stray continuation or overlong 2-byte lead
    if (b < 0xE0) {
      if (avail < 2 || (p[1] & 0xC0) != 0x80) return Utf8Error::kIllFormed;
      p += 2;
    } else if (b < 0xF0) {
      if (avail < 3) return Utf8Error::kIllFormed;
      const uint8_t lo = b == 0xE0 ? 0xA0 : 0x80;  // E0: no overlongs
      const uint8_t hi = b == 0xED ? 0x9F : 0xBF;  // ED: no surrogates
      if (p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80) return Utf8Error::kIllFormed;
      p += 3;
    } else if (b < 0xF5) {
      if (avail < 4) return Utf8Error::kIllFormed;
      const uint8_t lo = b == 0xF0 ? 0x90 : 0x80;  // F0: no overlongs
      const uint8_t hi = b == 0xF4 ? 0x8F : 0xBF;  // F4: nothing above U+10FFFF
      if (p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) {
        return Utf8Error::kIllFormed;
      }
      p += 4;
    } else {
      return Utf8Error::kIllFormed;
    }
  }
  return Utf8Error::kNone;
}

}  // namespace

bool has_wildcard(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const uint8_t* end = p + s.size();
  for (; end - p >= 8; p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    const uint64_t plus = w ^ (kLowBits * '+');
    const uint64_t hash = w ^ (kLowBits * '#');
    // A zero byte in `plus` or `hash` marks a wildcard (exact: no false positives).
    if ((((plus - kLowBits) & ~plus) | ((hash - kLowBits) & ~hash)) & kHighBits) return true;
  }
  for (; p < end; ++p) {
    if (*p == '+' || *p == '#') return true;
  }
  return false;
}

Utf8Error check_mqtt_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  return check_utf8(p, p + text.size(), /*reject_nul=*/true);
}

bool is_well_formed_utf8(util::ByteSpan data) {
  return check_utf8(data.data(), data.data() + data.size(), /*reject_nul=*/false) ==
         Utf8Error::kNone;
}

namespace wire {

bool Reader::u32(uint32_t& v, std::string_view what) {
  if (remaining() < 4) return truncated(what);
  v = (static_cast<uint32_t>(p_[0]) << 24) | (static_cast<uint32_t>(p_[1]) << 16) |
      (static_cast<uint32_t>(p_[2]) << 8) | p_[3];
  p_ += 4;
  return true;
}

bool Reader::vbi(uint32_t& v, std::string_view what) {
  const VbiParse parsed = parse_vbi(util::ByteSpan(p_, remaining()));
  if (parsed.status == VbiStatus::kIncomplete) return truncated(what);
  if (parsed.status == VbiStatus::kTooLong) {
    return fail(ReasonCode::kMalformedPacket,
                std::string(what) + ": variable byte integer longer than 4 bytes");
  }
  v = parsed.value;
  p_ += parsed.size;
  return true;
}

bool Reader::string_view(std::string_view& v, std::string_view what) {
  util::ByteSpan raw;
  if (!binary(raw, what)) return false;
  const std::string_view text(reinterpret_cast<const char*>(raw.data()), raw.size());
  switch (check_mqtt_utf8(text)) {
    case Utf8Error::kNone:
      v = text;
      return true;
    case Utf8Error::kIllFormed:
      return fail(ReasonCode::kMalformedPacket, std::string(what) + " is not valid UTF-8");
    case Utf8Error::kNul:
      return fail(ReasonCode::kMalformedPacket,
                  std::string(what) + " contains the null character U+0000");
  }
  return false;
}

bool Reader::enter(size_t n, const uint8_t*& saved, std::string_view what) {
  if (remaining() < n) return truncated(what);
  saved = end_;
  end_ = p_ + n;
  in_block_ = true;
  return true;
}

bool Reader::fail(ReasonCode reason, std::string_view detail) {
  if (!failed_) {
    failed_ = true;
    error_.reason = reason;
    error_.message.reserve(packet_type_name(packet_).size() + 2 + detail.size());
    error_.message.append(packet_type_name(packet_)).append(": ").append(detail);
  }
  return false;
}

bool Reader::truncated(std::string_view what) {
  std::string detail(what);
  detail +=
      in_block_ ? " runs past the end of the property block" : " runs past the end of the packet";
  return fail(ReasonCode::kMalformedPacket, detail);
}

}  // namespace wire
}  // namespace imet::mqtt
