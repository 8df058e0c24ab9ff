// State-tree nodes: canonical encoding (round trips, exact layout, and rejection of every
// non-canonical shape) and node hashes.
#include <string>

#include <gtest/gtest.h>

#include "codec/serialize.h"
#include "ledger/smt/node.h"
#include "util/bytes.h"

namespace imet::ledger::smt {
namespace {

Hash256 filled_hash(uint8_t b) {
  Hash256 h;
  h.fill(b);
  return h;
}

util::Bytes child_bytes(uint8_t kind, uint64_t version, uint8_t fill) {
  util::Bytes b{kind};
  for (int i = 0; i < 8; ++i)
    b.push_back(static_cast<uint8_t>(version >> (8 * i)));
  for (int i = 0; i < 32; ++i)
    b.push_back(fill);
  return b;
}

void expect_rejected(const util::Bytes& b, const std::string& why) {
  auto r = codec::decode<Node>(b);
  ASSERT_FALSE(r.ok()) << why;
  EXPECT_EQ(r.status().code(), util::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status().message();
}

TEST(SmtNode, NullEncodesAsOneZeroByte) {
  const Node n;
  EXPECT_TRUE(n.is_null());
  EXPECT_EQ(codec::encode(n), util::Bytes{0x00});
  EXPECT_EQ(n.hash(), kEmptyHash);
  auto back = codec::decode<Node>(util::Bytes{0x00});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, n);
}

TEST(SmtNode, LeafLayoutAndHash) {
  const Node n(LeafNode{filled_hash(0xaa), filled_hash(0xbb)});
  util::Bytes expected{0x02};
  util::append(expected, filled_hash(0xaa));
  util::append(expected, filled_hash(0xbb));
  EXPECT_EQ(codec::encode(n), expected);
  EXPECT_EQ(n.hash(), leaf_hash(filled_hash(0xaa), filled_hash(0xbb)));
  EXPECT_EQ(child_kind_of(n), ChildKind::kLeaf);
  auto back = codec::decode<Node>(expected);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, n);
}

TEST(SmtNode, InternalLayoutAndHash) {
  const Child left{ChildKind::kLeaf, 0x0102030405060708ULL, filled_hash(0x11)};
  const Child right{ChildKind::kInternal, 9, filled_hash(0x22)};
  const Node n(InternalNode{left, right});
  util::Bytes expected{0x01};
  util::append(expected, child_bytes(0x02, 0x0102030405060708ULL, 0x11));
  util::append(expected, child_bytes(0x01, 9, 0x22));
  EXPECT_EQ(codec::encode(n), expected);
  EXPECT_EQ(n.hash(), internal_hash(filled_hash(0x11), filled_hash(0x22)));
  auto back = codec::decode<Node>(expected);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, n);

  // One empty side next to an internal node is canonical; the empty child is one 0x00 byte.
  const Node one_sided(InternalNode{Child{}, right});
  util::Bytes one{0x01, 0x00};
  util::append(one, child_bytes(0x01, 9, 0x22));
  EXPECT_EQ(codec::encode(one_sided), one);
  EXPECT_EQ(one_sided.hash(), internal_hash(kEmptyHash, filled_hash(0x22)));
  EXPECT_TRUE(codec::decode<Node>(one).ok());
}

TEST(SmtNode, DecodeRejectsNonCanonicalShapes) {
  expect_rejected(util::Bytes{0x03}, "kind");
  expect_rejected(util::Bytes{0x01, 0x00, 0x00}, "an internal node needs two non-empty children");
  util::Bytes leaf_alone{0x01, 0x00};
  util::append(leaf_alone, child_bytes(0x02, 1, 0x33));
  expect_rejected(leaf_alone, "an internal node needs two non-empty children");
  util::Bytes leaf_alone_left{0x01};
  util::append(leaf_alone_left, child_bytes(0x02, 1, 0x33));
  leaf_alone_left.push_back(0x00);
  expect_rejected(leaf_alone_left, "an internal node needs two non-empty children");
  util::Bytes zero_hash{0x01};
  util::append(zero_hash, child_bytes(0x02, 1, 0x00));
  util::append(zero_hash, child_bytes(0x02, 1, 0x33));
  expect_rejected(zero_hash, "a non-empty child cannot have the empty hash");
  util::Bytes bad_child_kind{0x01};
  util::append(bad_child_kind, child_bytes(0x03, 1, 0x44));
  util::append(bad_child_kind, child_bytes(0x02, 1, 0x33));
  expect_rejected(bad_child_kind, "kind");
  util::Bytes trailing{0x00, 0x00};
  EXPECT_FALSE(codec::decode<Node>(trailing).ok());
  util::Bytes truncated{0x02, 0x01};
  EXPECT_FALSE(codec::decode<Node>(truncated).ok());
}

TEST(SmtNode, ValidateRejectsNonCanonicalObjects) {
  EXPECT_FALSE(codec::validate(Node(InternalNode{})).ok());
  EXPECT_FALSE(
      codec::validate(Node(InternalNode{Child{ChildKind::kLeaf, 1, filled_hash(1)}, Child{}}))
          .ok());
  Child sloppy_empty;
  sloppy_empty.version = 3;
  EXPECT_FALSE(codec::validate(
                   Node(InternalNode{sloppy_empty, Child{ChildKind::kInternal, 1, filled_hash(1)}}))
                   .ok());
  EXPECT_TRUE(
      codec::validate(Node(InternalNode{Child{}, Child{ChildKind::kInternal, 1, filled_hash(1)}}))
          .ok());
}

}  // namespace
}  // namespace imet::ledger::smt
