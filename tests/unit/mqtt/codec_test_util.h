// Helpers shared by the MQTT codec tests: hex literals, hand-built frames, decode/encode
// shorthands and a rejection check (reason code + message fragment).
// Thread-safety: test-only free functions. Invariants: frame() writes the minimal remaining-length
// encoding, so expected bytes stay those of the specification.
#pragma once

#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "mqtt/codec/decoder.h"
#include "mqtt/codec/encoder.h"

namespace imet::mqtt::test_util {

inline util::Bytes hex(std::string_view text) {
  std::string clean;
  for (const char c : text) {
    if (c != ' ') clean += c;
  }
  auto r = util::from_hex(clean);
  EXPECT_TRUE(r.ok()) << text;
  return r.ok() ? *r : util::Bytes{};
}

inline util::Bytes frame(std::string_view first, std::string_view body) {
  util::Bytes out = hex(first);
  const util::Bytes b = hex(body);
  if (b.size() < 128) {
    out.push_back(static_cast<uint8_t>(b.size()));
  } else {
    out.push_back(static_cast<uint8_t>(0x80 | (b.size() & 0x7F)));
    out.push_back(static_cast<uint8_t>(b.size() >> 7));
  }
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

inline DecodeResult<Packet> decode(const util::Bytes& b, Version v, Sender s = Sender::kAny) {
  DecodeOptions o;
  o.version = v;
  o.sender = s;
  return decode_packet(b, o);
}

inline util::Bytes encode(const Packet& p, Version v) {
  auto r = encode_to_bytes(p, v);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : util::Bytes{};
}

inline void expect_rejected(const util::Bytes& bytes, Version v, ReasonCode reason,
                            std::string_view text, Sender s = Sender::kAny) {
  auto r = decode(bytes, v, s);
  ASSERT_FALSE(r.ok()) << util::to_hex(bytes);
  EXPECT_EQ(r.reason(), reason) << r.message();
  EXPECT_NE(r.message().find(text), std::string::npos) << r.message();
}

}  // namespace imet::mqtt::test_util
