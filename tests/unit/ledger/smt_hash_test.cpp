// State-tree hashing and key bits: the hash formulas (checked against BLAKE2b-256 of preimages
// built by hand), domain separation from the transaction Merkle tree, and the bit helpers.
#include <unordered_set>

#include <gtest/gtest.h>

#include "crypto/merkle.h"
#include "ledger/smt/hash.h"
#include "ledger/smt/types.h"
#include "util/bytes.h"

namespace imet::ledger::smt {
namespace {

Hash256 filled(uint8_t b) {
  Hash256 h;
  h.fill(b);
  return h;
}

TEST(SmtHash, LeafAndInternalHashesAreBlake2bOfTheirPreimages) {
  const Key k = filled(0x11);
  const ValueHash v = filled(0x22);
  util::Bytes leaf{0x02};
  util::append(leaf, k);
  util::append(leaf, v);
  EXPECT_EQ(leaf.size(), 65u);
  EXPECT_EQ(leaf_hash(k, v), crypto::blake2b_256(leaf));
  util::Bytes node{0x03};
  util::append(node, k);
  util::append(node, v);
  EXPECT_EQ(internal_hash(k, v), crypto::blake2b_256(node));
  EXPECT_EQ(kEmptyHash, Hash256{});
}

TEST(SmtHash, KnownAnswer) {
  // BLAKE2b-256(0x02 || 32 x 0x00 || 32 x 0x00), computed with Python's hashlib:
  //   hashlib.blake2b(b"\x02" + bytes(64), digest_size=32).hexdigest()
  EXPECT_EQ(util::to_hex(leaf_hash(Hash256{}, Hash256{})),
            "86017287852dbc59e36960e722a2a8844a3d88df3dedf2fed1b27e9e80093385");
  //   hashlib.blake2b(b"\x03" + bytes(64), digest_size=32).hexdigest()
  EXPECT_EQ(util::to_hex(internal_hash(kEmptyHash, kEmptyHash)),
            "eb2f866ca974f3b9db6a6d2561ff06ca98a5eaeb89b395ab1321afc73b2a5fbe");
}

TEST(SmtHash, DomainSeparatedFromTheTransactionMerkleTree) {
  const Key k = filled(0x01);
  const ValueHash v = filled(0x02);
  util::Bytes kv;
  util::append(kv, k);
  util::append(kv, v);
  // The same 64 bytes hashed as a transaction-tree leaf or inner node give different hashes.
  EXPECT_NE(leaf_hash(k, v), crypto::merkle_leaf_hash(kv));
  EXPECT_NE(internal_hash(k, v), crypto::merkle_node_hash(k, v));
  EXPECT_NE(leaf_hash(k, v), crypto::merkle_node_hash(k, v));
  EXPECT_NE(internal_hash(k, v), crypto::merkle_leaf_hash(kv));
  // And a leaf never hashes like an internal node over the same bytes.
  EXPECT_NE(leaf_hash(k, v), internal_hash(k, v));
  EXPECT_NE(kLeafDomain, kInternalDomain);
}

TEST(SmtHash, KeyAndValueHelpersAreBlake2b) {
  const util::Bytes typed = util::to_bytes("account/imet1xyz");
  EXPECT_EQ(key_of(typed), crypto::blake2b_256(typed));
  EXPECT_EQ(value_hash_of(typed), crypto::blake2b_256(typed));
}

TEST(SmtBits, BitOrderIsMostSignificantFirst) {
  Key k{};
  k[0] = 0x80;
  k[31] = 0x01;
  EXPECT_TRUE(bit_at(k, 0));
  EXPECT_FALSE(bit_at(k, 1));
  EXPECT_FALSE(bit_at(k, 254));
  EXPECT_TRUE(bit_at(k, 255));
  EXPECT_EQ(with_bit(Key{}, 0, true), (Key{0x80}));
  EXPECT_EQ(with_bit(k, 0, false)[0], 0);
  EXPECT_EQ(bits_to_string(k, 3), "100");
}

TEST(SmtBits, PrefixAndCommonPrefix) {
  Key k;
  k.fill(0xff);
  const Key p = prefix_of(k, 12);
  EXPECT_EQ(p[0], 0xff);
  EXPECT_EQ(p[1], 0xf0);
  for (size_t i = 2; i < 32; ++i)
    EXPECT_EQ(p[i], 0);
  EXPECT_EQ(prefix_of(k, 256), k);
  EXPECT_EQ(prefix_of(k, 0), Key{});
  EXPECT_EQ(common_prefix_length(k, k), 256u);
  EXPECT_EQ(common_prefix_length(k, p), 12u);
  Key last = k;
  last[31] = 0xfe;
  EXPECT_EQ(common_prefix_length(k, last), 255u);
  EXPECT_EQ(common_prefix_length(Key{}, with_bit(Key{}, 0, true)), 0u);
}

TEST(SmtNodeKey, ChildValidityOrderAndHash) {
  const NodeKey root = NodeKey::root(5);
  EXPECT_TRUE(root.valid());
  EXPECT_EQ(root.to_string(), "v5/root");
  const NodeKey c = root.child(6, true).child(6, false).child(7, true);
  EXPECT_EQ(c.depth, 3);
  EXPECT_EQ(c.version, 7u);
  EXPECT_EQ(c.to_string(), "v7/101");
  EXPECT_TRUE(c.valid());
  NodeKey bad = c;
  bad.path[0] = 0xff;  // bits beyond depth 3 set
  EXPECT_FALSE(bad.valid());
  NodeKey deep = c;
  deep.depth = 257;
  EXPECT_FALSE(deep.valid());
  // Ordered by version first.
  EXPECT_LT(root.child(4, true), NodeKey::root(5));
  EXPECT_LT(root, root.child(5, false));
  // The hash separates nearby keys.
  std::unordered_set<size_t> hashes;
  for (Version v = 0; v < 16; ++v) {
    hashes.insert(NodeKeyHash{}(NodeKey::root(v)));
    hashes.insert(NodeKeyHash{}(NodeKey::root(v).child(v, false)));
    hashes.insert(NodeKeyHash{}(NodeKey::root(v).child(v, true)));
  }
  EXPECT_EQ(hashes.size(), 48u);
}

}  // namespace
}  // namespace imet::ledger::smt
