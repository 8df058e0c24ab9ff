// libFuzzer target for the P2P frame decoder (net/frame.h) and the net messages carried in frames
// (net/wire.h). Never crashes, leaks or trips ASan/UBSan on any input, and checks properties:
//  - the decoder's output does not depend on how the stream is split (fed whole vs. in pieces);
//  - every accepted frame re-encodes (encode_frame) to exactly the bytes it came from;
//  - an accepted PING/PONG/ADDR payload re-encodes to the same bytes.
// Input: byte 0 picks the payload cap (byte * 97 + 1, so caps around real message sizes and
// oversize rejections are both reached), byte 1 seeds the split points, the rest is the stream.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "net/frame.h"
#include "net/wire.h"

using namespace imet;

namespace {

void check_net_message(const net::Frame& f) {
  switch (f.type) {
    case static_cast<uint8_t>(net::NetMessage::kPing):
    case static_cast<uint8_t>(net::NetMessage::kPong): {
      auto n = net::decode_ping(f.payload);
      if (n.ok() && net::encode_ping(*n) != f.payload) std::abort();
      break;
    }
    case static_cast<uint8_t>(net::NetMessage::kAddr): {
      auto a = net::decode_addr(f.payload);
      if (a.ok() && net::encode_addr(*a) != f.payload) std::abort();
      break;
    }
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t cap = size_t{data[0]} * 97 + 1;
  uint32_t split_seed = data[1];
  const util::ByteSpan stream(data + 2, size - 2);

  net::FrameDecoder whole(cap);
  std::vector<net::Frame> a;
  const util::Status sa = whole.feed(stream, a);

  net::FrameDecoder pieces(cap);
  std::vector<net::Frame> b;
  util::Status sb;
  size_t pos = 0;
  while (pos < stream.size() && sb.ok()) {
    split_seed = split_seed * 1103515245u + 12345u;
    const size_t n = std::min<size_t>(1 + (split_seed >> 16) % 300, stream.size() - pos);
    sb = pieces.feed(stream.subspan(pos, n), b);
    pos += n;
  }
  if (sa.ok() != sb.ok() || a != b) std::abort();
  if (!sa.ok() && sa.message() != sb.message()) std::abort();

  // Re-encoding the frames gives back the consumed prefix of the stream.
  size_t off = 0;
  for (const auto& f : a) {
    if (f.payload.size() > cap) std::abort();
    const util::Bytes e = net::encode_frame(f.type, f.flags, f.payload);
    if (off + e.size() > stream.size() || !std::equal(e.begin(), e.end(), stream.begin() + off)) {
      std::abort();
    }
    off += e.size();
    check_net_message(f);
  }
  return 0;
}
