// State proofs: canonical encoding, and verify() rejecting every single-bit change of the proof
// bytes, the root, the claimed value and the key (where the changed statement is false), plus
// malformed proofs.
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codec/serialize.h"
#include "ledger/smt/hash.h"
#include "ledger/smt/memory_node_store.h"
#include "ledger/smt/proof.h"
#include "ledger/smt/tree.h"
#include "smt_test_support.h"

namespace imet::ledger::smt {
namespace {

using testing::key_pool;
using testing::random_hash;

template <size_t N>
std::array<uint8_t, N> flip(std::array<uint8_t, N> a, size_t bit) {
  a[bit / 8] = static_cast<uint8_t>(a[bit / 8] ^ (0x80 >> (bit % 8)));
  return a;
}

class SmtProof : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937_64 rng(42);
    pool_ = key_pool(rng, 400);
    std::vector<Update> ins;
    for (size_t i = 0; i < pool_.size(); i += 2)
      ins.push_back({pool_[i], random_hash(rng)});
    // Two keys that differ only in their last bit: a 256-sibling path.
    deep_ = random_hash(rng);
    Key twin = deep_;
    twin[31] = static_cast<uint8_t>(twin[31] ^ 1);
    ins.push_back({deep_, random_hash(rng)});
    ins.push_back({twin, random_hash(rng)});
    sort_updates_last_wins(ins);
    auto r = SparseMerkleTree(store_).apply(std::nullopt, 1, ins);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(store_.write(r->batch).ok());
    root_ = r->root_hash;
  }

  ProofResult prove(const Key& k) {
    auto p = SparseMerkleTree(store_).prove(1, k);
    EXPECT_TRUE(p.ok()) << p.status().to_string();
    return p.ok() ? *p : ProofResult{};
  }

  // Finds keys of each kind: present, absent with an empty slot, absent with another leaf there.
  std::vector<Key> sample_keys() {
    std::vector<Key> out{deep_};
    bool empty_slot = false, other_leaf = false;
    int present = 0;
    for (const Key& k : pool_) {
      const ProofResult p = prove(k);
      if (p.value_hash && present < 3) {
        out.push_back(k);
        ++present;
      } else if (!p.value_hash && p.proof.leaf && !other_leaf) {
        out.push_back(k);
        other_leaf = true;
      } else if (!p.value_hash && !p.proof.leaf && !empty_slot) {
        out.push_back(k);
        empty_slot = true;
      }
    }
    EXPECT_TRUE(empty_slot && other_leaf && present == 3);
    return out;
  }

  MemoryNodeStore store_;
  std::vector<Key> pool_;
  Key deep_{};
  Hash256 root_{};
};

TEST_F(SmtProof, EncodingIsCanonicalAndLaidOutAsDocumented) {
  for (const Key& k : sample_keys()) {
    const ProofResult p = prove(k);
    const util::Bytes b = codec::encode(p.proof);
    // varint count, 32 bytes per sibling, optional tag, 64 bytes of leaf.
    const size_t n = p.proof.siblings.size();
    EXPECT_EQ(b.size(), (n < 128 ? 1u : 2u) + 32 * n + 1 + (p.proof.leaf ? 64u : 0u));
    auto back = codec::decode<Proof>(b);
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(*back, p.proof);
    EXPECT_EQ(codec::encode(*back), b);
  }
  EXPECT_EQ(prove(deep_).proof.siblings.size(), 256u);
}

TEST_F(SmtProof, EverySingleBitChangeOfTheProofBytesIsRejected) {
  for (const Key& k : sample_keys()) {
    const ProofResult p = prove(k);
    ASSERT_TRUE(verify(root_, k, p.value_hash, p.proof).ok());
    const util::Bytes b = codec::encode(p.proof);
    const size_t count_bytes = p.proof.siblings.size() < 128 ? 1 : 2;
    for (size_t bit = 0; bit < 8 * b.size(); ++bit) {
      // The 256-sibling proof of deep_ repeats the empty hash 255 times: flip every bit of the
      // count, the first two and last two siblings and the leaf, and a sample of the rest.
      const size_t byte = bit / 8;
      const size_t sibling = byte >= count_bytes ? (byte - count_bytes) / 32 : 0;
      if (p.proof.siblings.size() == 256 && sibling >= 2 && sibling < 254 && sibling % 16 != 0) {
        continue;
      }
      util::Bytes m = b;
      m[bit / 8] = static_cast<uint8_t>(m[bit / 8] ^ (0x80 >> (bit % 8)));
      auto decoded = codec::decode<Proof>(m);
      if (!decoded.ok()) continue;
      EXPECT_FALSE(verify(root_, k, p.value_hash, *decoded).ok())
          << "bit " << bit << " of the proof of " << util::to_hex(k);
    }
  }
}

TEST_F(SmtProof, EverySingleBitChangeOfTheRootOrValueIsRejected) {
  for (const Key& k : sample_keys()) {
    const ProofResult p = prove(k);
    for (size_t bit = 0; bit < 256; ++bit) {
      EXPECT_FALSE(verify(flip(root_, bit), k, p.value_hash, p.proof).ok());
      if (p.value_hash) {
        EXPECT_FALSE(verify(root_, k, flip(*p.value_hash, bit), p.proof).ok());
      }
    }
    // Claiming the opposite (present <-> absent) fails too.
    if (p.value_hash) {
      EXPECT_FALSE(verify(root_, k, std::nullopt, p.proof).ok());
    } else {
      EXPECT_FALSE(verify(root_, k, Hash256{}, p.proof).ok());
      if (p.proof.leaf) {
        EXPECT_FALSE(verify(root_, k, p.proof.leaf->value_hash, p.proof).ok());
      }
    }
  }
}

TEST_F(SmtProof, ChangingTheKeyIsRejectedUnlessTheNewStatementIsTrue) {
  SparseMerkleTree tree(store_);
  for (const Key& k : sample_keys()) {
    const ProofResult p = prove(k);
    const size_t depth = p.proof.siblings.size();
    for (size_t bit = 0; bit < 256; ++bit) {
      const Key other = flip(k, bit);
      const bool ok = verify(root_, other, p.value_hash, p.proof).ok();
      if (p.value_hash || bit < depth) {
        // A membership proof is about its key only; an absence proof covers only its subtree.
        EXPECT_FALSE(ok) << "bit " << bit;
      } else {
        // Same subtree: the proof also shows `other` absent, unless `other` is the leaf there.
        const bool is_the_leaf = p.proof.leaf && p.proof.leaf->key == other;
        EXPECT_EQ(ok, !is_the_leaf) << "bit " << bit;
        auto truth = tree.get(1, other);
        ASSERT_TRUE(truth.ok());
        EXPECT_EQ(ok, !truth->has_value()) << "verify must agree with the tree";
      }
    }
  }
}

TEST_F(SmtProof, MalformedProofsAreRejectedWithAReason) {
  const Key k = pool_[0];
  const ProofResult p = prove(k);
  ASSERT_TRUE(p.value_hash.has_value());

  std::mt19937_64 rng(1);
  Proof longer = p.proof;
  longer.siblings.insert(longer.siblings.begin(), random_hash(rng));
  EXPECT_FALSE(verify(root_, k, p.value_hash, longer).ok());
  Proof shorter = p.proof;
  shorter.siblings.erase(shorter.siblings.begin());
  EXPECT_FALSE(verify(root_, k, p.value_hash, shorter).ok());
  Proof no_leaf = p.proof;
  no_leaf.leaf.reset();
  EXPECT_FALSE(verify(root_, k, std::nullopt, no_leaf).ok());

  Proof too_long;
  too_long.siblings.assign(257, Hash256{1});
  const util::Status s = verify(root_, k, std::nullopt, too_long);
  EXPECT_NE(s.message().find("257 siblings"), std::string::npos) << s.message();
  EXPECT_FALSE(codec::validate(too_long).ok());

  Proof empty_last = p.proof;
  empty_last.siblings.push_back(kEmptyHash);
  const util::Status e = verify(root_, k, p.value_hash, empty_last);
  EXPECT_NE(e.message().find("last sibling is empty"), std::string::npos) << e.message();

  Proof off_path = p.proof;
  off_path.leaf->key = flip(k, 0);
  const util::Status o = verify(root_, k, std::nullopt, off_path);
  EXPECT_NE(o.message().find("not on the path"), std::string::npos) << o.message();

  const util::Status wrong_root = verify(flip(root_, 3), k, p.value_hash, p.proof);
  EXPECT_NE(wrong_root.message().find("leads to root"), std::string::npos);
  const util::Status absent_claim = verify(root_, k, std::nullopt, p.proof);
  EXPECT_NE(absent_claim.message().find("claimed absent"), std::string::npos);

  auto r = root_from_proof(k, p.proof);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, root_);
}

TEST_F(SmtProof, SiblingCountIsCappedWhenDecoding) {
  // A count of 257 siblings is refused before anything is allocated.
  util::Bytes b{0x81, 0x02};  // varint 257
  b.resize(2 + 257 * 32 + 1, 0x01);
  b.back() = 0x00;
  auto r = codec::decode<Proof>(b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("siblings"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace imet::ledger::smt
