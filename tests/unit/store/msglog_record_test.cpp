// Message-log formats: the record body and frame (layout from record.h, assembled by hand here),
// strict decoding and its rejections, the segment header, the sealed-segment index, file names,
// and the incremental Merkle frontier against crypto::merkle_root.
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/merkle.h"
#include "store/msglog/record.h"
#include "store/msglog/segment_format.h"

namespace imet::store::msglog {
namespace {

using util::Bytes;
using util::StatusCode;

Record sample() {
  Record r;
  r.seq = 7;
  r.timestamp_ms = 1700000000123;
  r.tier = 2;
  r.qos = 1;
  r.retain = true;
  r.client_id = "dev-1";
  r.topic = "a/b";
  r.payload = {0xde, 0xad, 0x00, 0xff};
  r.properties = {0x26, 0x00};
  return r;
}

void le(Bytes& out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i)
    out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(MsglogRecord, BodyLayoutMatchesTheDocumentedFormat) {
  const Record r = sample();
  Bytes expected;
  le(expected, 7, 8);
  le(expected, 1700000000123, 8);
  expected.push_back(2);  // tier
  expected.push_back(1);  // qos
  expected.push_back(1);  // retain flag
  le(expected, 5, 2);
  le(expected, 3, 2);
  le(expected, 2, 4);
  le(expected, 4, 4);
  for (char c : std::string("dev-1"))
    expected.push_back(static_cast<uint8_t>(c));
  for (char c : std::string("a/b"))
    expected.push_back(static_cast<uint8_t>(c));
  expected.push_back(0x26);
  expected.push_back(0x00);
  for (uint8_t b : {0xde, 0xad, 0x00, 0xff})
    expected.push_back(b);
  EXPECT_EQ(encode_body(RecordView::of(r)), expected);
  EXPECT_EQ(body_size(RecordView::of(r)), expected.size());
}

TEST(MsglogRecord, FrameCarriesLengthAndLeafHashCheck) {
  const Record r = sample();
  const Bytes body = encode_body(RecordView::of(r));
  Bytes frame(frame_size(RecordView::of(r)));
  // The seq comes from the argument, not from r.seq.
  Record r2 = r;
  r2.seq = 999;
  const crypto::Hash256 leaf = encode_frame(RecordView::of(r2), 7, frame.data());
  EXPECT_EQ(leaf, crypto::merkle_leaf_hash(body));
  EXPECT_EQ(leaf, record_leaf_hash(r));
  const FrameHeader h = parse_frame_header(frame);
  EXPECT_EQ(h.body_len, body.size());
  // check = first four bytes of the leaf hash, little-endian.
  const uint32_t check = static_cast<uint32_t>(leaf[0]) | (static_cast<uint32_t>(leaf[1]) << 8) |
                         (static_cast<uint32_t>(leaf[2]) << 16) |
                         (static_cast<uint32_t>(leaf[3]) << 24);
  EXPECT_EQ(h.check, check);
  EXPECT_TRUE(std::equal(body.begin(), body.end(), frame.begin() + kFrameHeaderBytes));
}

TEST(MsglogRecord, DecodeRoundTrips) {
  Record r = sample();
  auto d = decode_body(encode_body(RecordView::of(r)));
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(*d, r);
  Record empty;
  empty.seq = 1;
  auto e = decode_body(encode_body(RecordView::of(empty)));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, empty);
}

TEST(MsglogRecord, ValidateRejectsEachField) {
  Record r = sample();
  r.tier = 0;
  EXPECT_TRUE(contains(validate(RecordView::of(r)).message(), "tier 0"));
  r.tier = 4;
  EXPECT_TRUE(contains(validate(RecordView::of(r)).message(), "tier 4"));
  r = sample();
  r.qos = 3;
  EXPECT_TRUE(contains(validate(RecordView::of(r)).message(), "qos 3"));
  r = sample();
  r.topic.assign(65536, 'x');
  EXPECT_TRUE(contains(validate(RecordView::of(r)).message(), "topic is 65536 bytes"));
  r = sample();
  r.client_id.assign(65536, 'x');
  EXPECT_TRUE(contains(validate(RecordView::of(r)).message(), "client_id"));
  r = sample();
  EXPECT_TRUE(validate(RecordView::of(r)).ok());
}

TEST(MsglogRecord, DecodeRejectsMalformedBodies) {
  const Bytes good = encode_body(RecordView::of(sample()));
  auto expect_bad = [](const Bytes& b, const std::string& what) {
    auto d = decode_body(b);
    ASSERT_FALSE(d.ok()) << what;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(contains(d.status().message(), what)) << d.status().message();
  };
  expect_bad(Bytes(good.begin(), good.begin() + 30), "shorter than its 31-byte fixed part");
  Bytes b = good;
  b[16] = 0;
  expect_bad(b, "tier 0");
  b = good;
  b[17] = 3;
  expect_bad(b, "qos 3");
  b = good;
  b[18] = 2;
  expect_bad(b, "unknown flag bits");
  b = good;
  b.push_back(0);
  expect_bad(b, "field lengths add up to");
  b = good;
  b.pop_back();
  expect_bad(b, "field lengths add up to");
  b = good;
  b[27] = 0xff;
  b[28] = 0xff;
  b[29] = 0xff;
  b[30] = 0xff;
  expect_bad(b, "exceeds");
}

TEST(MsglogFormat, SegmentHeaderRoundTripsAndRejectsDamage) {
  const auto h = encode_segment_header(42);
  auto first = decode_segment_header(h);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 42u);
  auto bad = h;
  bad[0] = 'X';
  EXPECT_TRUE(contains(decode_segment_header(bad).status().message(), "magic"));
  bad = h;
  bad[16] ^= 1;
  EXPECT_TRUE(contains(decode_segment_header(bad).status().message(), "checksum"));
  EXPECT_EQ(decode_segment_header(util::ByteSpan(h.data(), 10)).status().code(),
            StatusCode::kCorruption);
}

TEST(MsglogFormat, FileNames) {
  EXPECT_EQ(segment_file_name(1), "seg-00000000000000000001.log");
  EXPECT_EQ(index_file_name(1), "seg-00000000000000000001.idx");
  EXPECT_EQ(parse_segment_file_name("seg-00000000000000000123.log"), 123u);
  EXPECT_EQ(parse_index_file_name("seg-18446744073709551615.idx"), UINT64_MAX);
  EXPECT_FALSE(parse_index_file_name("seg-18446744073709551616.idx"));
  EXPECT_FALSE(parse_segment_file_name("seg-0000000000000000012.log"));
  EXPECT_FALSE(parse_segment_file_name("seg-00000000000000000123.idx"));
  EXPECT_FALSE(parse_segment_file_name("seg-0000000000000000012x.log"));
  EXPECT_FALSE(parse_segment_file_name("LOCK"));
}

std::vector<crypto::Hash256> leaves(size_t n) {
  std::vector<crypto::Hash256> out;
  for (size_t i = 0; i < n; ++i) {
    const std::string s = "leaf " + std::to_string(i);
    out.push_back(crypto::merkle_leaf_hash(util::as_bytes(s)));
  }
  return out;
}

TEST(MsglogFormat, FrontierRootEqualsMerkleRootAtEveryCount) {
  const auto all = leaves(700);
  MerkleFrontier f;
  EXPECT_EQ(f.root(), crypto::merkle_root({}));
  size_t blocks = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    crypto::Hash256 block_root;
    const bool done = f.push(all[i], &block_root);
    const size_t n = i + 1;
    ASSERT_EQ(f.root(), crypto::merkle_root(std::span(all).first(n))) << n;
    if (n % kBlockLeaves == 0) {
      ASSERT_TRUE(done) << n;
      EXPECT_EQ(block_root,
                crypto::merkle_root(std::span(all).subspan(blocks * kBlockLeaves, kBlockLeaves)));
      ++blocks;
    } else {
      ASSERT_FALSE(done) << n;
      const size_t start = n - n % kBlockLeaves;
      ASSERT_EQ(f.partial_block_root(),
                crypto::merkle_root(std::span(all).subspan(start, n - start)));
    }
  }
}

// push_many gives the tree of merkle_root (the RFC 6962 definition, computed independently) and
// the roots of exactly the blocks completed, whatever the count it starts from and the batch
// sizes (1..600: one at a time below 4, batched SIMD node hashes above, across block boundaries).
TEST(MsglogFormat, FrontierPushManyEqualsMerkleRoot) {
  const auto all = leaves(1400);
  for (const size_t batch : {1u, 3u, 4u, 5u, 8u, 17u, 64u, 255u, 256u, 257u, 600u}) {
    for (const size_t start : {0u, 1u, 7u, 255u, 256u, 300u}) {
      MerkleFrontier f;
      std::vector<crypto::Hash256> blocks;
      f.push_many(std::span(all).first(start), &blocks);
      size_t n = start;
      while (n + batch <= all.size()) {
        f.push_many(std::span(all).subspan(n, batch), &blocks);
        n += batch;
        ASSERT_EQ(f.count(), n);
        ASSERT_EQ(f.root(), crypto::merkle_root(std::span(all).first(n)))
            << "batch " << batch << " start " << start << " n " << n;
        ASSERT_EQ(blocks.size(), n / kBlockLeaves);
        if (n % kBlockLeaves != 0) {
          const size_t first = n - n % kBlockLeaves;
          ASSERT_EQ(f.partial_block_root(),
                    crypto::merkle_root(std::span(all).subspan(first, n - first)));
        }
        if (batch < 64 && n > 600) break;  // enough for the small batches
      }
      for (size_t b = 0; b < blocks.size(); ++b) {
        EXPECT_EQ(blocks[b],
                  crypto::merkle_root(std::span(all).subspan(b * kBlockLeaves, kBlockLeaves)))
            << "batch " << batch << " block " << b;
      }
    }
  }
}

TEST(MsglogFormat, RootOverBlockRootsEqualsRootOverLeaves) {
  // The property prove() relies on: every aligned block is a subtree of the RFC 6962 tree.
  for (size_t n : {1u, 255u, 256u, 257u, 512u, 513u, 700u, 1024u, 1300u}) {
    const auto all = leaves(n);
    std::vector<crypto::Hash256> roots;
    for (size_t s = 0; s < n; s += kBlockLeaves) {
      roots.push_back(
          crypto::merkle_root(std::span(all).subspan(s, std::min<size_t>(kBlockLeaves, n - s))));
    }
    EXPECT_EQ(crypto::merkle_root(roots), crypto::merkle_root(all)) << n;
  }
}

SealedIndex sample_index(size_t count) {
  const auto all = leaves(count);
  SealedIndex idx;
  idx.first_seq = 100;
  idx.count = count;
  idx.first_timestamp_ms = 5;
  idx.last_timestamp_ms = 9;
  uint64_t off = kSegmentHeaderBytes;
  for (size_t s = 0; s < count; s += kBlockLeaves) {
    idx.blocks.push_back({off, crypto::merkle_root(std::span(all).subspan(
                                   s, std::min<size_t>(kBlockLeaves, count - s)))});
    off += 1000;
  }
  idx.bytes = off;
  idx.root = crypto::merkle_root(all);
  return idx;
}

TEST(MsglogFormat, IndexRoundTripsAndRejectsEveryByteFlip) {
  const SealedIndex idx = sample_index(300);
  const std::string enc = encode_index(idx);
  auto dec = decode_index(util::as_bytes(enc), "x.idx");
  ASSERT_TRUE(dec.ok()) << dec.status().to_string();
  EXPECT_EQ(*dec, idx);
  for (size_t i = 0; i < enc.size(); ++i) {
    std::string bad = enc;
    bad[i] = static_cast<char>(bad[i] ^ 0x40);
    auto d = decode_index(util::as_bytes(bad), "x.idx");
    ASSERT_FALSE(d.ok()) << "flip at " << i;
    EXPECT_EQ(d.status().code(), StatusCode::kCorruption);
    EXPECT_TRUE(contains(d.status().message(), "x.idx"));
  }
  EXPECT_FALSE(decode_index(util::as_bytes(enc.substr(0, enc.size() - 1)), "x.idx").ok());
}

TEST(MsglogFormat, IndexRejectsInconsistentContentEvenWithAValidChecksum) {
  SealedIndex idx = sample_index(300);
  idx.root[0] ^= 1;
  EXPECT_TRUE(contains(decode_index(util::as_bytes(encode_index(idx)), "i").status().message(),
                       "does not match the Merkle block roots"));
  idx = sample_index(300);
  idx.count = 600;
  EXPECT_TRUE(contains(decode_index(util::as_bytes(encode_index(idx)), "i").status().message(),
                       "Merkle blocks"));
  idx = sample_index(300);
  idx.blocks[1].offset = 10;
  EXPECT_TRUE(contains(decode_index(util::as_bytes(encode_index(idx)), "i").status().message(),
                       "impossible file offset"));
}

}  // namespace
}  // namespace imet::store::msglog
