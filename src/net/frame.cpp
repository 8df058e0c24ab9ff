// Frame encoding and the streaming decoder (frame.h).
#include "net/frame.h"

#include <algorithm>
#include <string>

namespace imet::net {

std::array<uint8_t, kFrameHeaderBytes> encode_frame_header(uint8_t type, uint8_t flags,
                                                           size_t payload_size) {
  const auto n = static_cast<uint32_t>(payload_size);
  return {static_cast<uint8_t>(n >> 24),
          static_cast<uint8_t>(n >> 16),
          static_cast<uint8_t>(n >> 8),
          static_cast<uint8_t>(n),
          type,
          flags};
}

util::Bytes encode_frame(uint8_t type, uint8_t flags, util::ByteSpan payload) {
  util::Bytes out(kFrameHeaderBytes + payload.size());
  const auto header = encode_frame_header(type, flags, payload.size());
  std::copy(header.begin(), header.end(), out.begin());
  std::copy(payload.begin(), payload.end(), out.begin() + kFrameHeaderBytes);
  return out;
}

util::Status FrameDecoder::fail(FrameError kind, util::Status status) {
  error_ = kind;
  status_ = std::move(status);
  return status_;
}

util::Status FrameDecoder::feed(util::ByteSpan data, std::vector<Frame>& out) {
  if (!status_.ok()) return status_;
  size_t pos = 0;
  while (pos < data.size()) {
    if (!in_payload_) {
      const size_t take = std::min(kFrameHeaderBytes - header_len_, data.size() - pos);
      std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(pos), take,
                  header_.begin() + static_cast<std::ptrdiff_t>(header_len_));
      header_len_ += take;
      pos += take;
      if (header_len_ < kFrameHeaderBytes) break;
      const size_t size = (size_t{header_[0]} << 24) | (size_t{header_[1]} << 16) |
                          (size_t{header_[2]} << 8) | size_t{header_[3]};
      const uint8_t type = header_[4];
      const uint8_t flags = header_[5];
      if (size > max_payload_) {
        return fail(
            FrameError::kOversize,
            util::invalid_argument("frame of type " + std::to_string(type) + " declares a " +
                                   std::to_string(size) + "-byte payload, above the " +
                                   std::to_string(max_payload_) + "-byte limit"));
      }
      if ((flags & ~kKnownFlags) != 0) {
        return fail(FrameError::kMalformed,
                    util::invalid_argument("frame of type " + std::to_string(type) +
                                           " has unknown flag bits set (flags byte " +
                                           std::to_string(flags) + ")"));
      }
      header_len_ = 0;
      current_ = Frame{type, flags, {}};
      payload_size_ = size;
      in_payload_ = true;
    }
    // Grow the payload only by what has arrived: a peer announcing a large frame and sending
    // nothing more costs us nothing.
    const size_t have = current_.payload.size();
    const size_t take = std::min(payload_size_ - have, data.size() - pos);
    current_.payload.resize(have + take);
    std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(pos), take,
                current_.payload.begin() + static_cast<std::ptrdiff_t>(have));
    pos += take;
    if (current_.payload.size() == payload_size_) {
      out.push_back(std::move(current_));
      current_ = Frame{};
      in_payload_ = false;
    }
  }
  return util::Status::ok_status();
}

}  // namespace imet::net
