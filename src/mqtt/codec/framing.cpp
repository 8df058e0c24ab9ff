#include "mqtt/codec/framing.h"

#include "mqtt/codec/wire.h"

namespace imet::mqtt {

FrameProbe probe_frame(util::ByteSpan received, size_t max_packet_size) {
  FrameProbe f;
  if (received.empty()) return f;
  if ((received[0] >> 4) == 0) {
    f.status = FrameStatus::kInvalid;
    f.reason = ReasonCode::kMalformedPacket;
    f.message = "packet type 0 is reserved";
    return f;
  }
  const VbiParse length = parse_vbi(received.subspan(1));
  if (length.status == VbiStatus::kIncomplete) return f;
  if (length.status == VbiStatus::kTooLong) {
    f.status = FrameStatus::kInvalid;
    f.reason = ReasonCode::kMalformedPacket;
    f.message = "remaining length is longer than 4 bytes";
    return f;
  }
  f.header_known = true;
  f.header.first_byte = received[0];
  f.header.header_size = static_cast<uint8_t>(1 + length.size);
  f.header.remaining_length = length.value;
  f.packet_size = f.header.packet_size();
  if (f.packet_size > max_packet_size) {
    f.status = FrameStatus::kInvalid;
    f.reason = ReasonCode::kPacketTooLarge;
    f.message = "packet is larger than the maximum packet size";
    return f;
  }
  f.status = received.size() >= f.packet_size ? FrameStatus::kComplete : FrameStatus::kNeedMore;
  return f;
}

}  // namespace imet::mqtt
