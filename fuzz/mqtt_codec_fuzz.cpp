// libFuzzer target for the MQTT packet codec (src/mqtt/codec). The input is treated as one frame
// and decoded as MQTT 3.1.1 and as MQTT 5.0. Properties checked on every input, each a bug if
// broken (abort):
//   - a rejection carries a reason code >= 0x80 and a message;
//   - decoding as a client's or a server's packet accepts a subset of what kAny accepts, with the
//     same result;
//   - an accepted frame is exactly one complete packet for probe_frame;
//   - an accepted packet encodes (encoded_size bytes), the encoding decodes to an equal packet, and
//     encoding that again gives the same bytes (the encoder's output is a fixed point);
//   - the zero-copy decode (SharedBytes frame) gives an equal packet;
//   - for PUBLISH, the fan-out header + payload equals the full encoding.
// The sanitizers catch memory errors and undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "mqtt/codec/decoder.h"
#include "mqtt/codec/encoder.h"
#include "mqtt/codec/framing.h"

namespace {

using namespace imet::mqtt;  // NOLINT(google-build-using-namespace)

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "mqtt_codec_fuzz: %s\n", what);
  std::abort();
}

DecodeOptions options(Version v, Sender s) {
  DecodeOptions o;
  o.version = v;
  o.sender = s;
  return o;
}

void check(imet::util::ByteSpan input, Version v) {
  auto decoded = decode_packet(input, options(v, Sender::kAny));
  for (const Sender s : {Sender::kClient, Sender::kServer}) {
    auto restricted = decode_packet(input, options(v, s));
    if (restricted.ok() && (!decoded.ok() || !(*restricted == *decoded))) {
      die("a sender-restricted decode accepted what kAny did not");
    }
  }
  if (!decoded.ok()) {
    if (static_cast<uint8_t>(decoded.reason()) < 0x80) die("rejection with a success code");
    if (decoded.message().empty()) die("rejection without a message");
    return;
  }
  const FrameProbe frame = probe_frame(input);
  if (frame.status != FrameStatus::kComplete || frame.packet_size != input.size()) {
    die("accepted frame is not exactly one packet for probe_frame");
  }
  const Packet& packet = *decoded;
  auto bytes = encode_to_bytes(packet, v);
  if (!bytes.ok()) {
    std::fprintf(stderr, "%s\n", bytes.status().to_string().c_str());
    die("decoded packet does not encode");
  }
  auto size = encoded_size(packet, v);
  if (!size.ok() || *size != bytes->size()) die("encoded_size differs from the encoding");
  if (bytes->size() > input.size()) die("canonical encoding is longer than the input");
  auto again = decode_packet(*bytes, options(v, Sender::kAny));
  if (!again.ok()) {
    std::fprintf(stderr, "%s\n", again.message().c_str());
    die("encoding of a decoded packet does not decode");
  }
  if (!(*again == packet)) die("decode(encode(p)) != p");
  auto bytes2 = encode_to_bytes(*again, v);
  if (!bytes2.ok() || *bytes2 != *bytes) die("encode(decode(encode(p))) != encode(p)");

  const SharedBytes shared = SharedBytes::copy_of(input);
  auto zero_copy = decode_packet(shared, options(v, Sender::kAny));
  if (!zero_copy.ok() || !(*zero_copy == packet)) die("zero-copy decode differs");

  if (const auto* publish = std::get_if<Publish>(&packet)) {
    imet::util::Bytes split;
    if (!encode_publish_header(publish_header_of(*publish), publish->payload.size(), v, split)
             .ok()) {
      die("publish header does not encode");
    }
    imet::util::append(split, publish->payload.span());
    if (split != *bytes) die("fan-out header + payload differs from the full encoding");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const imet::util::ByteSpan input(data, size);
  (void)probe_frame(input, size / 2);
  check(input, Version::kV311);
  check(input, Version::kV5);
  return 0;
}
