// Frame encoder/decoder: layout from the spec in frame.h, streaming over arbitrary splits, caps and
// malformed headers rejected with specific errors.
#include "net/frame.h"

#include <random>

#include <gtest/gtest.h>

namespace imet::net {
namespace {

TEST(Frame, LayoutIsLengthBigEndianTypeFlagsPayload) {
  const util::Bytes payload = {0xAA, 0xBB, 0xCC};
  const util::Bytes f = encode_frame(0x21, kFlagGossip, payload);
  const util::Bytes expected = {0x00, 0x00, 0x00, 0x03, 0x21, 0x01, 0xAA, 0xBB, 0xCC};
  EXPECT_EQ(f, expected);
  const auto h = encode_frame_header(7, 0, 0x01020304);
  EXPECT_EQ(h[0], 0x01);
  EXPECT_EQ(h[3], 0x04);
}

TEST(Frame, DecodesFramesSplitAtEveryPossibleBoundary) {
  util::Bytes stream;
  std::vector<Frame> want;
  for (int i = 0; i < 5; ++i) {
    Frame f{static_cast<uint8_t>(16 + i), static_cast<uint8_t>(i % 2), util::Bytes(i * 7, 'x')};
    const util::Bytes e = encode_frame(f.type, f.flags, f.payload);
    stream.resize(stream.size() + e.size());
    std::copy(e.begin(), e.end(), stream.end() - static_cast<std::ptrdiff_t>(e.size()));
    want.push_back(f);
  }
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    FrameDecoder d(1000);
    std::vector<Frame> got;
    ASSERT_TRUE(d.feed(util::ByteSpan(stream).first(cut), got).ok());
    ASSERT_TRUE(d.feed(util::ByteSpan(stream).subspan(cut), got).ok());
    EXPECT_EQ(got, want) << "cut at " << cut;
    EXPECT_TRUE(d.at_boundary());
  }
}

TEST(Frame, ByteAtATime) {
  std::mt19937 rng(7);
  util::Bytes payload(70000);
  for (auto& b : payload)
    b = static_cast<uint8_t>(rng());
  const util::Bytes e = encode_frame(99, 0, payload);
  FrameDecoder d(payload.size());
  std::vector<Frame> got;
  for (uint8_t b : e) {
    const uint8_t one[1] = {b};
    ASSERT_TRUE(d.feed(one, got).ok());
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, payload);
  EXPECT_EQ(got[0].type, 99);
}

TEST(Frame, EmptyPayloadIsAFrame) {
  FrameDecoder d(10);
  std::vector<Frame> got;
  ASSERT_TRUE(d.feed(encode_frame(3, 0, {}), got).ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].payload.empty());
}

TEST(Frame, OversizeRejectedFromTheHeaderAlone) {
  FrameDecoder d(1024);
  std::vector<Frame> got;
  const auto h = encode_frame_header(20, 0, 1025);
  util::Status s = d.feed(h, got);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(d.error(), FrameError::kOversize);
  EXPECT_NE(s.message().find("1025-byte payload, above the 1024-byte limit"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("type 20"), std::string::npos);
  // Poisoned: later input fails the same way.
  EXPECT_FALSE(d.feed(encode_frame(20, 0, {}), got).ok());
  EXPECT_TRUE(got.empty());
}

TEST(Frame, ExactlyAtTheCapIsAccepted) {
  FrameDecoder d(1024);
  std::vector<Frame> got;
  ASSERT_TRUE(d.feed(encode_frame(20, 0, util::Bytes(1024, 1)), got).ok());
  EXPECT_EQ(got.size(), 1u);
}

TEST(Frame, UnknownFlagsRejected) {
  FrameDecoder d(1024);
  std::vector<Frame> got;
  util::Status s = d.feed(encode_frame(20, 0x80, {}), got);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(d.error(), FrameError::kMalformed);
  EXPECT_NE(s.message().find("unknown flag bits"), std::string::npos) << s.message();
}

TEST(Frame, FramesBeforeAnErrorAreKept) {
  util::Bytes stream = encode_frame(17, 0, util::Bytes{1, 2});
  const auto bad = encode_frame_header(17, 0x02, 0);
  stream.resize(stream.size() + bad.size());
  std::copy(bad.begin(), bad.end(), stream.end() - 6);
  FrameDecoder d(100);
  std::vector<Frame> got;
  EXPECT_FALSE(d.feed(stream, got).ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, 17);
}

TEST(Frame, AnnouncedLargePayloadAllocatesOnlyWhatArrives) {
  FrameDecoder d(size_t{16} << 20);
  std::vector<Frame> got;
  const auto h = encode_frame_header(20, 0, size_t{16} << 20);
  ASSERT_TRUE(d.feed(h, got).ok());
  ASSERT_TRUE(d.feed(util::Bytes(10, 0), got).ok());
  EXPECT_TRUE(got.empty());
  EXPECT_FALSE(d.at_boundary());
}

}  // namespace
}  // namespace imet::net
