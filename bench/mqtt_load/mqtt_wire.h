// Minimal MQTT 3.1.1 wire helpers for the load generator (imet-mqtt-load): encode CONNECT,
// SUBSCRIBE, PUBLISH (from a precomputed template), PUBACK; split a byte stream into packets.
// Deliberately independent of src/mqtt (the broker's codec), so the generator checks the broker
// against a second implementation and never shares its bugs.
// Thread-safety: free functions and value types; PublishTemplate is immutable after construction.
// Invariants: every encoder writes a complete, well-formed packet; split_packet never reads past
// the given length; a bench payload is at least kPayloadHeader bytes: pub id (u32 LE), sequence
// number (u64 LE), send time in CLOCK_MONOTONIC nanoseconds (u64 LE), then padding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace imet::bench::mqtt_load {

inline constexpr size_t kPayloadHeader = 20;
inline constexpr uint32_t kMaxRemainingLength = 268'435'455;  // MQTT 3.1.1 section 2.2.3

enum PacketType : uint8_t {
  kConnect = 1,
  kConnack = 2,
  kPublish = 3,
  kPuback = 4,
  kSubscribe = 8,
  kSuback = 9,
  kPingresp = 13,
  kDisconnect = 14,
};

inline void put_u16be(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline uint16_t get_u16be(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline void put_u32le(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void put_u64le(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint32_t get_u32le(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}
inline uint64_t get_u64le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

// Writes the variable-length "remaining length" of a fixed header; returns the bytes written (1-4).
inline size_t put_remaining_length(uint8_t* out, uint32_t len) {
  size_t n = 0;
  do {
    uint8_t b = len % 128;
    len /= 128;
    if (len > 0) b |= 0x80;
    out[n++] = b;
  } while (len > 0);
  return n;
}

// Appends a CONNECT (protocol level 4, clean session, no will/user/password).
inline void append_connect(std::vector<uint8_t>& out, std::string_view client_id,
                           uint16_t keepalive_s) {
  const uint32_t body = 10 + 2 + static_cast<uint32_t>(client_id.size());
  uint8_t hdr[5] = {kConnect << 4};
  const size_t hn = 1 + put_remaining_length(hdr + 1, body);
  const size_t at = out.size();
  out.resize(at + hn + body);
  uint8_t* p = out.data() + at;
  std::memcpy(p, hdr, hn);
  p += hn;
  const uint8_t var[10] = {0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 0};
  std::memcpy(p, var, sizeof var);
  put_u16be(p + 8, keepalive_s);
  p += 10;
  put_u16be(p, static_cast<uint16_t>(client_id.size()));
  std::memcpy(p + 2, client_id.data(), client_id.size());
}

// Appends a SUBSCRIBE of one topic filter at the given QoS.
inline void append_subscribe(std::vector<uint8_t>& out, uint16_t packet_id, std::string_view filter,
                             uint8_t qos) {
  const uint32_t body = 2 + 2 + static_cast<uint32_t>(filter.size()) + 1;
  uint8_t hdr[5] = {(kSubscribe << 4) | 0x02};
  const size_t hn = 1 + put_remaining_length(hdr + 1, body);
  const size_t at = out.size();
  out.resize(at + hn + body);
  uint8_t* p = out.data() + at;
  std::memcpy(p, hdr, hn);
  p += hn;
  put_u16be(p, packet_id);
  put_u16be(p + 2, static_cast<uint16_t>(filter.size()));
  std::memcpy(p + 4, filter.data(), filter.size());
  p[4 + filter.size()] = qos;
}

// A PUBLISH to a fixed topic with a fixed payload size: the bytes are built once, and write() only
// patches the packet id, publisher id, sequence number and timestamp. No allocation per message.
class PublishTemplate {
 public:
  PublishTemplate(std::string_view topic, uint8_t qos, size_t payload_size) : qos_(qos) {
    const uint32_t body =
        static_cast<uint32_t>(2 + topic.size() + (qos > 0 ? 2 : 0) + payload_size);
    bytes_.resize(5 + body);
    bytes_[0] = static_cast<uint8_t>((kPublish << 4) | (qos << 1));
    const size_t hn = 1 + put_remaining_length(bytes_.data() + 1, body);
    bytes_.resize(hn + body);
    uint8_t* p = bytes_.data() + hn;
    put_u16be(p, static_cast<uint16_t>(topic.size()));
    std::memcpy(p + 2, topic.data(), topic.size());
    p += 2 + topic.size();
    id_offset_ = static_cast<size_t>(p - bytes_.data());
    if (qos > 0) p += 2;
    payload_offset_ = static_cast<size_t>(p - bytes_.data());
    std::memset(p, 'x', payload_size);
  }

  size_t size() const { return bytes_.size(); }

  // Writes one packet at dst (size() bytes available); returns size().
  size_t write(uint8_t* dst, uint16_t packet_id, uint32_t pub_id, uint64_t seq,
               uint64_t send_ns) const {
    std::memcpy(dst, bytes_.data(), bytes_.size());
    if (qos_ > 0) put_u16be(dst + id_offset_, packet_id);
    uint8_t* pl = dst + payload_offset_;
    put_u32le(pl, pub_id);
    put_u64le(pl + 4, seq);
    put_u64le(pl + 12, send_ns);
    return bytes_.size();
  }

 private:
  std::vector<uint8_t> bytes_;
  uint8_t qos_;
  size_t id_offset_ = 0;
  size_t payload_offset_ = 0;
};

// One packet found in a byte stream.
struct Packet {
  uint8_t first = 0;  // type << 4 | flags
  const uint8_t* body = nullptr;
  uint32_t body_len = 0;
  uint8_t type() const { return first >> 4; }
};

// Splits the first packet off [p, p+n): returns the packet's total length, 0 if more bytes are
// needed, or -1 if the remaining length is malformed (a fifth length byte).
inline long split_packet(const uint8_t* p, size_t n, Packet& out) {
  if (n < 2) return 0;
  uint32_t len = 0;
  uint32_t mult = 1;
  size_t i = 1;
  for (;; ++i) {
    if (i > 4) return -1;
    if (i >= n) return 0;
    len += (p[i] & 0x7F) * mult;
    if ((p[i] & 0x80) == 0) break;
    mult *= 128;
  }
  const size_t total = i + 1 + len;
  if (total > n) return 0;
  out.first = p[0];
  out.body = p + i + 1;
  out.body_len = len;
  return static_cast<long>(total);
}

// Bench payload fields found in a received PUBLISH body.
struct BenchPayload {
  uint8_t qos = 0;
  uint16_t packet_id = 0;
  bool bench = false;  // payload large enough to carry the bench header
  uint32_t pub_id = 0;
  uint64_t seq = 0;
  uint64_t send_ns = 0;
};

// Parses a PUBLISH body; returns false if it is malformed (lengths past the end, QoS 3).
inline bool parse_publish(const Packet& pk, BenchPayload& out) {
  out.qos = (pk.first >> 1) & 0x03;
  if (out.qos == 3 || pk.body_len < 2) return false;
  size_t at = 2 + get_u16be(pk.body);
  if (out.qos > 0) {
    if (at + 2 > pk.body_len) return false;
    out.packet_id = get_u16be(pk.body + at);
    at += 2;
  }
  if (at > pk.body_len) return false;
  const uint8_t* pl = pk.body + at;
  out.bench = pk.body_len - at >= kPayloadHeader;
  if (out.bench) {
    out.pub_id = get_u32le(pl);
    out.seq = get_u64le(pl + 4);
    out.send_ns = get_u64le(pl + 12);
  }
  return true;
}

}  // namespace imet::bench::mqtt_load
