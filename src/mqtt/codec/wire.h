// MQTT data representations (MQTT 5.0 §1.5, 3.1.1 §1.5) and the bounded reader/writer every packet
// codec is built on: bytes, two- and four-byte big-endian integers, Variable Byte Integers (1..4
// bytes, 7 bits each, least significant group first), UTF-8 Encoded Strings (u16 length + text)
// and Binary Data (u16 length + bytes).
// Thread-safety: functions are pure; a Reader/Writer is used by one thread at a time.
// Invariants: a Reader never reads outside the span it was given and never allocates; each read
// either succeeds and advances, or fails, records the first error (reason + message) and leaves the
// Reader failed. A Writer writes exactly where it is told; the caller sizes the buffer first.
// UTF-8 rules (MQTT-1.5.4-1/-2): well-formed per RFC 3629 (no overlong forms, no surrogates
// U+D800..U+DFFF, nothing above U+10FFFF) and no U+0000. The other code points the spec says
// "SHOULD NOT" be sent (U+0001..U+001F, U+007F..U+009F, non-characters) are accepted, as the spec
// allows. Variable Byte Integers: more than 4 bytes is malformed; non-minimal encodings
// (0x80 0x00) are accepted as the 3.1.1 text does not forbid them (MQTT-1.5.5-1 in 5.0 binds the
// sender; this codec always writes the minimal form).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "mqtt/codec/decode_error.h"
#include "mqtt/codec/types.h"
#include "util/bytes.h"

namespace imet::mqtt {

enum class Utf8Error : uint8_t {
  kNone = 0,
  kIllFormed,  // not well-formed UTF-8 (incl. surrogates, overlong forms, > U+10FFFF)
  kNul,        // contains U+0000
};

// Checks the rules of an MQTT UTF-8 Encoded String (no U+0000).
Utf8Error check_mqtt_utf8(std::string_view text);
// Well-formed UTF-8, U+0000 allowed: payloads declared as UTF-8 (Payload Format Indicator 1).
bool is_well_formed_utf8(util::ByteSpan data);

// True if `s` contains a topic wildcard character ('+' or '#'); 8 bytes per step.
bool has_wildcard(std::string_view s);

// Bytes needed for v as a Variable Byte Integer (v <= kMaxVarByteInt).
constexpr size_t vbi_size(uint32_t v) {
  return v < 128u ? 1 : v < 16'384u ? 2 : v < 2'097'152u ? 3 : 4;
}

enum class VbiStatus : uint8_t {
  kOk = 0,
  kIncomplete,  // input ends while the continuation bit says more bytes follow
  kTooLong,     // the 4th byte has its continuation bit set: malformed
};

struct VbiParse {
  VbiStatus status = VbiStatus::kIncomplete;
  uint8_t size = 0;  // bytes consumed (kOk only)
  uint32_t value = 0;
};

// Parses a Variable Byte Integer from the start of `in`.
inline VbiParse parse_vbi(util::ByteSpan in) {
  VbiParse r;
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) {
    if (i >= in.size()) return r;
    const uint8_t b = in[i];
    value |= static_cast<uint32_t>(b & 0x7F) << (7 * i);
    if ((b & 0x80) == 0) {
      r.status = VbiStatus::kOk;
      r.size = static_cast<uint8_t>(i + 1);
      r.value = value;
      return r;
    }
  }
  r.status = VbiStatus::kTooLong;
  return r;
}

namespace wire {

// Bounded big-endian reader over one packet. `what` arguments name the field for error messages.
class Reader {
 public:
  Reader(util::ByteSpan in, PacketType packet)
      : p_(in.data()), end_(in.data() + in.size()), packet_(packet) {}

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool at_end() const { return p_ == end_; }
  const uint8_t* position() const { return p_; }
  PacketType packet() const { return packet_; }

  bool u8(uint8_t& v, std::string_view what) {
    if (remaining() < 1) return truncated(what);
    v = *p_++;
    return true;
  }
  bool u16(uint16_t& v, std::string_view what) {
    if (remaining() < 2) return truncated(what);
    v = static_cast<uint16_t>((p_[0] << 8) | p_[1]);
    p_ += 2;
    return true;
  }
  bool u32(uint32_t& v, std::string_view what);
  bool vbi(uint32_t& v, std::string_view what);
  // n raw bytes, as a view into the input.
  bool bytes(size_t n, util::ByteSpan& v, std::string_view what) {
    if (remaining() < n) return truncated(what);
    v = util::ByteSpan(p_, n);
    p_ += n;
    return true;
  }
  // Binary Data: u16 length + bytes, as a view into the input.
  bool binary(util::ByteSpan& v, std::string_view what) {
    uint16_t n = 0;
    return u16(n, what) && bytes(n, v, what);
  }
  // UTF-8 Encoded String, validated, as a view into the input.
  bool string_view(std::string_view& v, std::string_view what);
  bool string(std::string& v, std::string_view what) {
    std::string_view view;
    if (!string_view(view, what)) return false;
    // Built at its exact size: assign() into an empty string doubles the small-string capacity
    // (a 16-character client id, kept for the whole connection, would take 31 bytes).
    v = std::string(view);
    return true;
  }
  // Everything left (possibly empty).
  util::ByteSpan rest() {
    util::ByteSpan v(p_, remaining());
    p_ = end_;
    return v;
  }

  // Limits reading to the next n bytes (a property block); false (malformed) if fewer remain.
  // `saved` receives the outer end for leave().
  bool enter(size_t n, const uint8_t*& saved, std::string_view what);
  void leave(const uint8_t* saved) {
    end_ = saved;
    in_block_ = false;
  }

  // Records an error "<PACKET>: <detail>" (the first one wins) and returns false.
  bool fail(ReasonCode reason, std::string_view detail);
  bool failed() const { return failed_; }
  DecodeError take_error() { return std::move(error_); }

 private:
  bool truncated(std::string_view what);

  const uint8_t* p_;
  const uint8_t* end_;
  PacketType packet_;
  bool in_block_ = false;
  bool failed_ = false;
  DecodeError error_;
};

// Unchecked big-endian writer into a buffer the caller has sized exactly.
class Writer {
 public:
  explicit Writer(uint8_t* p) : p_(p) {}
  uint8_t* position() const { return p_; }

  void u8(uint8_t v) { *p_++ = v; }
  void u16(uint16_t v) {
    p_[0] = static_cast<uint8_t>(v >> 8);
    p_[1] = static_cast<uint8_t>(v);
    p_ += 2;
  }
  void u32(uint32_t v) {
    p_[0] = static_cast<uint8_t>(v >> 24);
    p_[1] = static_cast<uint8_t>(v >> 16);
    p_[2] = static_cast<uint8_t>(v >> 8);
    p_[3] = static_cast<uint8_t>(v);
    p_ += 4;
  }
  void vbi(uint32_t v) {
    do {
      uint8_t b = static_cast<uint8_t>(v & 0x7F);
      v >>= 7;
      if (v != 0) b |= 0x80;
      *p_++ = b;
    } while (v != 0);
  }
  void bytes(util::ByteSpan v) {
    if (!v.empty()) std::memcpy(p_, v.data(), v.size());
    p_ += v.size();
  }
  // Caller checked v.size() <= kMaxFieldLength.
  void binary(util::ByteSpan v) {
    u16(static_cast<uint16_t>(v.size()));
    bytes(v);
  }
  void string(std::string_view v) { binary(util::as_bytes(v)); }

 private:
  uint8_t* p_;
};

// Grows `out` by n bytes and returns a pointer to the first new byte.
inline uint8_t* extend(util::Bytes& out, size_t n) {
  const size_t old = out.size();
  out.resize(old + n);
  return out.data() + old;
}

}  // namespace wire
}  // namespace imet::mqtt
