#include "crypto/hash.h"

#include <set>

#include <gtest/gtest.h>

#include "test_hex.h"

namespace imet::crypto {
namespace {

using testing::hex;

// RFC 7693 Appendix A: BLAKE2b-512("abc").
TEST(Blake2b, Rfc7693Abc512) {
  EXPECT_EQ(util::to_hex(blake2b_512(util::as_bytes("abc"))),
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
            "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
}

// Published BLAKE2b-256 digests (b2sum -l 256; Python hashlib.blake2b(digest_size=32)).
TEST(Blake2b, KnownAnswers256) {
  EXPECT_EQ(util::to_hex(blake2b_256(util::as_bytes("abc"))),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
  EXPECT_EQ(util::to_hex(blake2b_256({})),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

TEST(Blake2b, IncrementalMatchesOneShot) {
  util::Bytes data(1000);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<uint8_t>(i * 7 + 3);
  for (size_t split :
       {size_t{0}, size_t{1}, size_t{127}, size_t{128}, size_t{129}, size_t{999}, size_t{1000}}) {
    Blake2b256 h;
    h.update(util::ByteSpan(data).first(split));
    h.update(util::ByteSpan(data).subspan(split));
    EXPECT_EQ(h.finish(), blake2b_256(data)) << "split at " << split;

    Blake2b512 h512;
    h512.update(util::ByteSpan(data).first(split));
    h512.update(util::ByteSpan(data).subspan(split));
    EXPECT_EQ(h512.finish(), blake2b_512(data)) << "split at " << split;
  }
}

TEST(Blake2b, FinishResetsToEmpty) {
  Blake2b256 h;
  h.update(util::as_bytes("abc"));
  EXPECT_EQ(h.finish(), blake2b_256(util::as_bytes("abc")));
  EXPECT_EQ(h.finish(), blake2b_256({}));
  h.update(util::as_bytes("a"));
  Blake2b256 copy = h;  // copies carry the state
  copy.update(util::as_bytes("bc"));
  EXPECT_EQ(copy.finish(), blake2b_256(util::as_bytes("abc")));
  EXPECT_EQ(h.finish(), blake2b_256(util::as_bytes("a")));
}

TEST(DigestHash, EqualDigestsHashEquallyAndDistinctOnesSpreadOverBuckets) {
  DigestHash h;
  std::set<size_t> buckets;
  for (int i = 0; i < 1000; ++i) {
    Hash256 d = blake2b_256(util::as_bytes(std::to_string(i)));
    EXPECT_EQ(h(d), h(Hash256(d)));
    buckets.insert(h(d) % 64);
  }
  EXPECT_EQ(buckets.size(), 64u);  // 1,000 digests leave no bucket of 64 empty
  // Digests that differ only after their first 8 bytes share a hash: fine for digests, which is
  // all this hasher is for.
  Hash256 a{}, b{};
  b[31] = 1;
  EXPECT_EQ(h(a), h(b));
}

}  // namespace
}  // namespace imet::crypto
