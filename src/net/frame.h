// Framing of application and net messages inside the decrypted Noise stream. A frame is
//   u32 big-endian payload length | u8 type | u8 flags | payload
// The concatenated plaintexts of a link's Noise transport messages form a byte stream of frames;
// a frame may span many Noise messages (a Noise message carries at most 65519 plaintext bytes,
// a block may be megabytes), and the sender starts each frame in a fresh Noise message.
// Flags: bit 0 (kFlagGossip) marks a message sent with Host::broadcast (the receiver runs it
// through its seen cache); the other bits must be zero.
// Thread-safety: encode_frame is pure; a FrameDecoder is not safe for concurrent use.
// Invariants: FrameDecoder never holds more than kFrameHeaderBytes + max_payload bytes of one frame
// and allocates payload memory only as bytes arrive; after an error it is poisoned (every later
// feed() fails with the same status). For any accepted frame f, encode_frame(f) reproduces the
// bytes it was decoded from.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace imet::net {

inline constexpr size_t kFrameHeaderBytes = 6;
inline constexpr uint8_t kFlagGossip = 0x01;
inline constexpr uint8_t kKnownFlags = kFlagGossip;
// The length field is 32 bits: no configuration may allow more than this.
inline constexpr size_t kMaxFramePayloadLimit = 0xFFFFFFFFu;

struct Frame {
  uint8_t type = 0;
  uint8_t flags = 0;
  util::Bytes payload;

  bool operator==(const Frame&) const = default;
};

// The header for a payload of `payload_size` bytes (precondition: <= kMaxFramePayloadLimit).
std::array<uint8_t, kFrameHeaderBytes> encode_frame_header(uint8_t type, uint8_t flags,
                                                           size_t payload_size);
// Header and payload in one buffer.
util::Bytes encode_frame(uint8_t type, uint8_t flags, util::ByteSpan payload);

// Why a frame was refused: oversize frames and malformed headers both end the link, but are
// logged and counted apart.
enum class FrameError { kNone, kOversize, kMalformed };

class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_payload) : max_payload_(max_payload) {}

  // Consumes all of `data`, appending every frame it completes to `out`. Errors
  // (kInvalidArgument): a payload length above the cap ("frame of type 20 declares a 17000000-byte
  // payload, above the 16777216-byte limit") or unknown flag bits. Frames completed before the
  // error stay in `out`.
  util::Status feed(util::ByteSpan data, std::vector<Frame>& out);

  FrameError error() const { return error_; }
  // True when no partial frame is buffered (the stream is at a frame boundary).
  bool at_boundary() const { return header_len_ == 0 && !in_payload_; }
  size_t max_payload() const { return max_payload_; }

 private:
  util::Status fail(FrameError kind, util::Status status);

  size_t max_payload_;
  std::array<uint8_t, kFrameHeaderBytes> header_{};
  size_t header_len_ = 0;
  bool in_payload_ = false;
  size_t payload_size_ = 0;
  Frame current_;
  FrameError error_ = FrameError::kNone;
  util::Status status_;
};

}  // namespace imet::net
