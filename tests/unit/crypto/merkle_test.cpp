#include "crypto/merkle.h"

#include <vector>

#include <gtest/gtest.h>

namespace imet::crypto {
namespace {

// Hand-built hashes, independent of merkle.cpp: H(prefix || parts...).
Hash256 h(uint8_t prefix, std::initializer_list<util::ByteSpan> parts) {
  util::Bytes buf{prefix};
  for (auto p : parts)
    util::append(buf, p);
  return blake2b_256(buf);
}
Hash256 leaf(uint8_t i) {
  const uint8_t data[1] = {i};
  return h(0x00, {data});
}
Hash256 node(const Hash256& l, const Hash256& r) {
  return h(0x01, {l, r});
}

std::vector<Hash256> leaves(size_t n) {
  std::vector<Hash256> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back(leaf(static_cast<uint8_t>(i)));
  return out;
}

TEST(Merkle, LeafAndNodeHashesAreDomainSeparated) {
  const uint8_t d[1] = {0};
  EXPECT_EQ(merkle_leaf_hash(d), h(0x00, {d}));
  EXPECT_NE(merkle_leaf_hash(d), blake2b_256(d));
  const Hash256 a = leaf(1), b = leaf(2);
  EXPECT_EQ(merkle_node_hash(a, b), h(0x01, {a, b}));
  // An inner node's bytes presented as leaf data do not hash to the node.
  util::Bytes concat(a.begin(), a.end());
  util::append(concat, b);
  EXPECT_NE(merkle_leaf_hash(concat), merkle_node_hash(a, b));
}

TEST(Merkle, RootsByHandForOneToFive) {
  const Hash256 l0 = leaf(0), l1 = leaf(1), l2 = leaf(2), l3 = leaf(3), l4 = leaf(4);
  EXPECT_EQ(merkle_root(leaves(0)), blake2b_256({}));
  EXPECT_EQ(merkle_root(leaves(1)), l0);
  EXPECT_EQ(merkle_root(leaves(2)), node(l0, l1));
  EXPECT_EQ(merkle_root(leaves(3)), node(node(l0, l1), l2));
  EXPECT_EQ(merkle_root(leaves(4)), node(node(l0, l1), node(l2, l3)));
  EXPECT_EQ(merkle_root(leaves(5)), node(node(node(l0, l1), node(l2, l3)), l4));
}

// Roots computed with an independent Python implementation (hashlib.blake2b, RFC 6962 MTH) over
// leaves "\x00", "\x01", ...
TEST(Merkle, KnownAnswerRoots) {
  const char* expected[] = {
      "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8",
      "9ee6dfb61a2fb903df487c401663825643bb825d41695e63df8af6162ab145a6",
      "47f61e4f4620e9946a8831b8c717a76f36982b82d88e005bc4635a1b21c73eff",
      "8926efdc0a3a501b9a98e046861bf1303acf7bd2191f0a5fd21c003c9557c1b9",
      "4c2bb58c2e2afa14f7058e9fe94fba620f8e485288350e7bcc42337a8c18cf90",
      "d189ac817a2f095408bea113eb0c5b6ba55cbafea7cd71378de9152f3b5d3246",
      "448c06dca2a2d208ed826bdf60c40294d82ff768e302c5550964e6cf95105358",
      "9a32133fb577b45268f6dcb813645347b5955c4b19e56b7474197a31e75a6a5f",
  };
  for (size_t n = 0; n < std::size(expected); ++n) {
    EXPECT_EQ(util::to_hex(merkle_root(leaves(n))), expected[n]) << n << " leaves";
  }
}

TEST(Merkle, NoDuplicateLastLeafMutation) {
  // Bitcoin's tree would give [a, b, c] and [a, b, c, c] the same root (CVE-2012-2459).
  auto three = leaves(3);
  auto four = three;
  four.push_back(three[2]);
  EXPECT_NE(merkle_root(three), merkle_root(four));
  auto five = leaves(5);
  auto six = five;
  six.push_back(five[4]);
  EXPECT_NE(merkle_root(five), merkle_root(six));
}

TEST(Merkle, ProofShapeByHand) {
  const Hash256 l0 = leaf(0), l1 = leaf(1), l2 = leaf(2), l3 = leaf(3), l4 = leaf(4);
  auto p = merkle_prove(leaves(5), 2);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->index, 2u);
  EXPECT_EQ(p->leaf_count, 5u);
  EXPECT_EQ(p->path, (std::vector<Hash256>{l3, node(l0, l1), l4}));
  p = merkle_prove(leaves(5), 4);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->path, (std::vector<Hash256>{node(node(l0, l1), node(l2, l3))}));
  p = merkle_prove(leaves(1), 0);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->path.empty());
  EXPECT_TRUE(merkle_verify(l0, l0, *p));
}

TEST(Merkle, ProveRejectsOutOfRangeIndex) {
  auto r = merkle_prove(leaves(0), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), util::StatusCode::kInvalidArgument);
  r = merkle_prove(leaves(3), 3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "merkle proof: leaf index 3 is out of range for a tree of 3 leaves");
}

// Independent model of the RFC 6962 audit path's shape: for leaf `index` of a tree of `count`
// leaves, the side of each sibling from the leaf up (true = sibling on the left). Two (index,
// count) pairs with equal shapes accept exactly the same paths, so verification cannot tell them
// apart; every other pair must be rejected.
std::vector<bool> shape(uint64_t index, uint64_t count) {
  if (count <= 1) return {};
  uint64_t k = 1;
  while (k * 2 < count)
    k *= 2;
  std::vector<bool> out = index < k ? shape(index, k) : shape(index - k, count - k);
  out.push_back(index >= k);
  return out;
}

TEST(Merkle, EveryProofVerifiesAndEveryMutationFails) {
  for (size_t n = 1; n <= 33; ++n) {
    const auto ls = leaves(n);
    const Hash256 root = merkle_root(ls);
    for (size_t i = 0; i < n; ++i) {
      auto proof_or = merkle_prove(ls, i);
      ASSERT_TRUE(proof_or.ok());
      const MerkleProof proof = *proof_or;
      ASSERT_TRUE(merkle_verify(root, ls[i], proof)) << n << "/" << i;
      ASSERT_EQ(shape(i, n).size(), proof.path.size());

      // Wrong leaf, wrong root.
      if (n > 1) {
        EXPECT_FALSE(merkle_verify(root, ls[(i + 1) % n], proof));
      }
      Hash256 bad_leaf = ls[i];
      bad_leaf[0] ^= 1;
      EXPECT_FALSE(merkle_verify(root, bad_leaf, proof));
      Hash256 bad_root = root;
      bad_root[31] ^= 0x80;
      EXPECT_FALSE(merkle_verify(bad_root, ls[i], proof));

      // Every bit of every path element.
      for (size_t e = 0; e < proof.path.size(); ++e) {
        for (size_t bit = 0; bit < 256; ++bit) {
          MerkleProof m = proof;
          m.path[e][bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
          ASSERT_FALSE(merkle_verify(root, ls[i], m)) << n << "/" << i << " e" << e << " b" << bit;
        }
      }
      // Removing any element, adding one anywhere, swapping neighbours.
      for (size_t e = 0; e < proof.path.size(); ++e) {
        MerkleProof m = proof;
        m.path.erase(m.path.begin() + static_cast<std::ptrdiff_t>(e));
        EXPECT_FALSE(merkle_verify(root, ls[i], m)) << n << "/" << i << " drop " << e;
      }
      for (size_t e = 0; e <= proof.path.size(); ++e) {
        for (const Hash256& extra : {ls[0], root, Hash256{}}) {
          MerkleProof m = proof;
          m.path.insert(m.path.begin() + static_cast<std::ptrdiff_t>(e), extra);
          EXPECT_FALSE(merkle_verify(root, ls[i], m)) << n << "/" << i << " insert " << e;
        }
      }
      for (size_t e = 0; e + 1 < proof.path.size(); ++e) {
        if (proof.path[e] == proof.path[e + 1]) continue;
        MerkleProof m = proof;
        std::swap(m.path[e], m.path[e + 1]);
        EXPECT_FALSE(merkle_verify(root, ls[i], m)) << n << "/" << i << " swap " << e;
      }
      // Every other index in (and beyond) the tree.
      for (uint64_t j = 0; j < n + 3; ++j) {
        if (j == i) continue;
        MerkleProof m = proof;
        m.index = j;
        EXPECT_FALSE(merkle_verify(root, ls[i], m)) << n << "/" << i << " index " << j;
      }
      {
        MerkleProof m = proof;
        m.index = UINT64_MAX;
        EXPECT_FALSE(merkle_verify(root, ls[i], m));
      }
      // Every other leaf count: rejected unless it gives the identical path shape (see merkle.h).
      for (uint64_t c = 0; c <= 2 * n + 2; ++c) {
        if (c == n) continue;
        MerkleProof m = proof;
        m.leaf_count = c;
        const bool same_shape = i < c && shape(i, c) == shape(i, n);
        EXPECT_EQ(merkle_verify(root, ls[i], m), same_shape) << n << "/" << i << " count " << c;
      }
      {
        MerkleProof m = proof;
        m.leaf_count = UINT64_MAX;
        EXPECT_FALSE(merkle_verify(root, ls[i], m));
      }
    }
  }
}

TEST(Merkle, LeafCountIsNotBoundByTheRootAlone) {
  // Documented limitation shared with RFC 6962: index 0 has the same audit path in trees of 3 and
  // 4 leaves, so a proof against a 3-leaf root also verifies when it claims 4 leaves.
  const auto ls = leaves(3);
  auto proof = merkle_prove(ls, 0);
  ASSERT_TRUE(proof.ok());
  proof->leaf_count = 4;
  EXPECT_TRUE(merkle_verify(merkle_root(ls), ls[0], *proof));
  proof->leaf_count = 5;  // a different shape: rejected
  EXPECT_FALSE(merkle_verify(merkle_root(ls), ls[0], *proof));
}

}  // namespace
}  // namespace imet::crypto
