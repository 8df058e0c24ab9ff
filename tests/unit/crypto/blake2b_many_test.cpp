// blake2b_256_many against libsodium's crypto_generichash_blake2b (an independent implementation)
// over lengths around the 128-byte block boundaries, with and without a prefix byte, lanes of
// different lengths hashed together and counts that do not fill the last group of lanes; and the
// published BLAKE2b-256 digest of the empty string.
#include "crypto/blake2b_many.h"

#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <sodium.h>

#include "crypto/merkle.h"
#include "test_hex.h"

namespace imet::crypto {
namespace {

Hash256 reference(uint8_t prefix, bool has_prefix, const util::Bytes& data) {
  const size_t skip = has_prefix ? 1 : 0;
  util::Bytes all(skip + data.size());
  if (has_prefix) all[0] = prefix;
  if (!data.empty()) std::memcpy(all.data() + skip, data.data(), data.size());
  Hash256 out{};
  crypto_generichash_blake2b(out.data(), out.size(), all.data(), all.size(), nullptr, 0);
  return out;
}

TEST(Blake2bMany, EmptyStringDigestIsThePublishedOne) {
  const std::vector<Blake2bInput> in(1);
  std::vector<Hash256> out(1);
  blake2b_256_many(in, out);
  EXPECT_EQ(util::to_hex(out[0]),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

TEST(Blake2bMany, MatchesLibsodiumForMixedLengthsAndPrefixes) {
  std::mt19937_64 rng(42);
  const std::vector<size_t> lengths = {0,   1,   2,   63,  64,  65,  126, 127, 128, 129,  130,
                                       134, 200, 254, 255, 256, 257, 383, 384, 385, 1000, 4096};
  std::vector<util::Bytes> datas;
  std::vector<Blake2bInput> in;
  std::vector<Hash256> want;
  // Every length with and without a prefix, in an order that mixes lengths within each group of
  // lanes, then a count that leaves the last group partly empty.
  for (int round = 0; round < 3; ++round) {
    for (size_t len : lengths) {
      util::Bytes d(len);
      for (auto& b : d)
        b = static_cast<uint8_t>(rng());
      datas.push_back(std::move(d));
    }
  }
  datas.emplace_back(17, 0xAB);
  for (size_t i = 0; i < datas.size(); ++i) {
    Blake2bInput x;
    x.data = datas[i];
    x.has_prefix = i % 3 != 0;
    x.prefix = static_cast<uint8_t>(i % 2);
    in.push_back(x);
    want.push_back(reference(x.prefix, x.has_prefix, datas[i]));
  }
  ASSERT_NE(in.size() % 4, 0u);
  ASSERT_NE(in.size() % kBlake2bMaxLanes, 0u);
  std::vector<Hash256> got(in.size());
  blake2b_256_many(in, got);
  for (size_t i = 0; i < in.size(); ++i)
    EXPECT_EQ(got[i], want[i]) << "input " << i << " length " << datas[i].size();
  // Every implementation this CPU can run (the portable one always).
  for (const char* name : {"avx512", "avx2", "generic"}) {
    std::vector<Hash256> other(in.size());
    if (!blake2b_256_many_with(name, in, other)) continue;
    for (size_t i = 0; i < in.size(); ++i)
      EXPECT_EQ(other[i], want[i]) << name << " input " << i;
  }
  std::vector<Hash256> unused(in.size());
  EXPECT_FALSE(blake2b_256_many_with("sse9", in, unused));
  // Fewer inputs than lanes, and none.
  for (size_t n = 0; n <= kBlake2bMaxLanes + 1; ++n) {
    std::vector<Hash256> part(n);
    blake2b_256_many(std::span(in).first(n), part);
    for (size_t i = 0; i < n; ++i)
      EXPECT_EQ(part[i], want[i]) << "n " << n << " input " << i;
  }
}

TEST(Blake2bMany, MerkleDomainPrefixesGiveTheMerkleHashes) {
  const util::Bytes body(134, 7);
  const Hash256 l = merkle_leaf_hash(body);
  const Hash256 r = merkle_leaf_hash(util::Bytes(3, 1));
  util::Bytes pair(64);
  std::memcpy(pair.data(), l.data(), 32);
  std::memcpy(pair.data() + 32, r.data(), 32);
  const std::vector<Blake2bInput> in = {{body, 0x00, true}, {pair, 0x01, true}};
  std::vector<Hash256> out(2);
  blake2b_256_many(in, out);
  EXPECT_EQ(out[0], l);
  EXPECT_EQ(out[1], merkle_node_hash(l, r));
  EXPECT_NE(std::string(blake2b_many_impl()), "");
}

}  // namespace
}  // namespace imet::crypto
