// Framing of an MQTT byte stream: finds where the next packet ends from its fixed header (type
// byte + 1..4 byte remaining length), so a connection can tell whether a whole packet has arrived,
// how many bytes it still needs, or that the stream is broken, and can reject a too-large packet
// from its first 2..5 bytes, before buffering it.
// Typical read loop of a broker (decoder.h for decode_packet):
//   for (;;) {
//     FrameProbe f = probe_frame(buffered, max_packet_size);
//     if (f.status == FrameStatus::kNeedMore) break;       // read more (f.packet_size, when
//                                                          // header_known, says how much in all)
//     if (f.status == FrameStatus::kInvalid) { /* v5: DISCONNECT f.reason; close */ }
//     auto packet = decode_packet(buffered.first(f.packet_size), options);
//     buffered = buffered.subspan(f.packet_size);
//   }
// Thread-safety: pure functions.
// Invariants: probe_frame reads at most the first 5 bytes of its input; kComplete implies
// packet_size <= received.size() and packet_size <= max_packet_size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mqtt/codec/reason_code.h"
#include "mqtt/codec/types.h"
#include "util/bytes.h"

namespace imet::mqtt {

struct FixedHeader {
  uint8_t first_byte = 0;   // packet type (bits 7..4) and flags (bits 3..0)
  uint8_t header_size = 0;  // 2..5: type byte + remaining length bytes
  uint32_t remaining_length = 0;

  PacketType type() const { return static_cast<PacketType>(first_byte >> 4); }
  uint8_t flags() const { return first_byte & 0x0F; }
  size_t packet_size() const { return header_size + size_t{remaining_length}; }
};

enum class FrameStatus : uint8_t {
  kComplete,  // a whole packet of packet_size bytes starts the input
  kNeedMore,  // the input is a prefix of a packet (or empty)
  kInvalid,   // the stream cannot be framed: close the connection (see reason)
};

struct FrameProbe {
  FrameStatus status = FrameStatus::kNeedMore;
  bool header_known = false;  // header and packet_size are valid
  FixedHeader header;
  size_t packet_size = 0;  // total size of the packet, fixed header included
  // kInvalid only: kMalformedPacket (reserved type 0, remaining length over 4 bytes) or
  // kPacketTooLarge (packet_size > max_packet_size), and a static description.
  ReasonCode reason = ReasonCode::kSuccess;
  std::string_view message;
};

// Examines the start of `received`. max_packet_size counts the whole packet, fixed header
// included, as the 5.0 Maximum Packet Size does.
FrameProbe probe_frame(util::ByteSpan received, size_t max_packet_size = kMaxPacketSize);

}  // namespace imet::mqtt
