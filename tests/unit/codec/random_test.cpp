// Randomized properties, from fixed seeds so failures replay:
//  - random valid Samples round-trip, and encoded_size/validate agree with encode;
//  - canonicality: mutate valid encodings (bit flips, byte changes, insertions, deletions,
//    truncations, splices); every mutant the decoder accepts re-encodes to exactly the same bytes.
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "codec/serialize.h"
#include "sample_types.h"
#include "test_util.h"

namespace imet::codec::testing {
namespace {

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}

  uint64_t u64() { return rng_(); }
  size_t below(size_t n) { return static_cast<size_t>(rng_() % n); }
  bool coin() { return (rng_() & 1) != 0; }

  // Integers biased towards boundaries.
  uint64_t interesting() {
    static constexpr uint64_t kEdges[] = {
        0,     1,     127,      128,           255,        256,        16383, 16384,
        65535, 65536, 1u << 31, 0xffffffffULL, 1ULL << 32, 1ULL << 63, ~0ULL};
    switch (below(3)) {
      case 0:
        return kEdges[below(std::size(kEdges))];
      case 1:
        return u64() >> below(64);
      default:
        return u64();
    }
  }

  util::Bytes bytes(size_t max_len) {
    util::Bytes b(below(max_len + 1));
    for (auto& x : b)
      x = static_cast<uint8_t>(u64());
    return b;
  }

  // Valid UTF-8 of at most max_len bytes, mixing 1- to 4-byte characters.
  std::string text(size_t max_len) {
    static const char* const kPieces[] = {"a",
                                          "Z",
                                          " ",
                                          "\x00",
                                          "\xc3\xa9",
                                          "\xdf\xbf",
                                          "\xe2\x82\xac",
                                          "\xef\xbf\xbf",
                                          "\xed\x9f\xbf",
                                          "\xf0\x9f\x98\x80",
                                          "\xf4\x8f\xbf\xbf"};
    std::string s;
    const size_t target = below(max_len + 1);
    while (true) {
      const char* piece = kPieces[below(std::size(kPieces))];
      const std::string p = *piece == '\0' ? std::string(1, '\0') : std::string(piece);
      if (s.size() + p.size() > target) break;
      s += p;
    }
    return s;
  }

  Leaf leaf() {
    return Leaf{static_cast<uint32_t>(interesting()), text(kMaxLabel),
                static_cast<Color>(below(3))};
  }

  Node node(int depth) {
    Node n{static_cast<uint8_t>(u64()), {}};
    if (depth < 4) {
      const size_t k = below(kMaxChildren + 1);
      for (size_t i = 0; i < k; ++i)
        n.children.push_back(node(depth + 1));
    }
    return n;
  }

  Sample sample() {
    static constexpr Kind kKinds[] = {Kind::kOne, Kind::kSeven, Kind::kBig};
    Sample s;
    s.version = static_cast<uint8_t>(interesting());
    s.flags = static_cast<uint16_t>(interesting());
    s.height = static_cast<uint32_t>(interesting());
    s.amount = interesting();
    s.delta = static_cast<int64_t>(interesting());
    s.counter = interesting();
    for (auto& x : s.tag)
      x = static_cast<uint8_t>(u64());
    s.memo = bytes(kMaxMemo);
    s.name = text(kMaxName);
    s.active = !s.name.empty() && coin();
    s.kind = kKinds[below(3)];
    if (coin()) s.expiry = interesting();
    if (coin()) s.parent = leaf();
    for (size_t i = below(kMaxLeaves + 1); i > 0; --i)
      s.leaves.push_back(leaf());
    for (size_t i = below(kMaxBlobs + 1); i > 0; --i)
      s.blobs.push_back(bytes(kMaxBlob));
    std::set<uint64_t> ids;
    for (size_t i = below(kMaxIds + 1); i > 0; --i)
      ids.insert(interesting());
    s.ids.assign(ids.begin(), ids.end());
    for (size_t i = below(kMaxKeys + 1); i > 0; --i) {
      s.keys.insert({static_cast<uint8_t>(u64()), static_cast<uint8_t>(u64())});
    }
    if (coin()) s.tree = node(0);
    return s;
  }

  // One random edit of b.
  void mutate(util::Bytes& b) {
    const size_t op = below(8);
    if (b.empty()) return b.push_back(static_cast<uint8_t>(u64()));
    const size_t i = below(b.size());
    switch (op) {
      case 0:
        b[i] ^= static_cast<uint8_t>(1u << below(8));
        break;
      case 1:
        b[i] = static_cast<uint8_t>(u64());
        break;
      case 2:
        b[i] = static_cast<uint8_t>(b[i] + (coin() ? 1 : -1));
        break;
      case 3:
        b.insert(b.begin() + static_cast<ptrdiff_t>(i), static_cast<uint8_t>(u64()));
        break;
      case 4:
        b.erase(b.begin() + static_cast<ptrdiff_t>(i));
        break;
      case 5:
        b.resize(i);
        break;
      case 6: {  // duplicate a short run in place
        const size_t n = std::min<size_t>(below(8) + 1, b.size() - i);
        util::Bytes run(b.begin() + static_cast<ptrdiff_t>(i),
                        b.begin() + static_cast<ptrdiff_t>(i + n));
        b.insert(b.begin() + static_cast<ptrdiff_t>(i), run.begin(), run.end());
        break;
      }
      default:
        b[i] = static_cast<uint8_t>(kMagic[below(std::size(kMagic))]);
        break;
    }
  }

 private:
  static constexpr uint8_t kMagic[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xc0, 0xed, 0xf4, 0xff};
  std::mt19937_64 rng_;
};

TEST(Random, ValidSamplesRoundTrip) {
  Gen gen(0x1e7c0dec);
  for (int i = 0; i < 3000; ++i) {
    const Sample s = gen.sample();
    ASSERT_TRUE(validate(s).ok()) << validate(s).message();
    const util::Bytes b = encode(s);
    EXPECT_EQ(encoded_size(s), b.size());
    auto back = decode<Sample>(b);
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    ASSERT_TRUE(*back == s) << "iteration " << i;
    ASSERT_EQ(encode(*back), b);
  }
}

TEST(Random, EveryAcceptedMutantIsCanonical) {
  Gen gen(0xca70ca1);
  int accepted = 0;
  int mutants = 0;
  for (int seed = 0; seed < 300; ++seed) {
    const util::Bytes original = encode(gen.sample());
    for (int m = 0; m < 200; ++m) {
      util::Bytes b = original;
      const size_t edits = gen.below(3) + 1;
      for (size_t e = 0; e < edits; ++e)
        gen.mutate(b);
      ++mutants;
      auto r = decode<Sample>(b);
      if (!r.ok()) {
        ASSERT_EQ(r.status().code(), util::StatusCode::kInvalidArgument);
        ASSERT_EQ(r.status().message().rfind("invalid encoding", 0), 0u) << r.status().message();
        continue;
      }
      ++accepted;
      ASSERT_EQ(util::to_hex(encode(*r)), util::to_hex(b)) << "non-canonical input accepted";
      ASSERT_TRUE(validate(*r).ok()) << validate(*r).message();
      ASSERT_EQ(encoded_size(*r), b.size());
    }
  }
  // Changes to fixed-width fields keep the input valid, so many mutants must be accepted; if none
  // were, this test would be checking nothing.
  EXPECT_GT(accepted, mutants / 20) << accepted << " of " << mutants;
  EXPECT_LT(accepted, mutants) << "every mutant accepted: the decoder checks nothing";
}

}  // namespace
}  // namespace imet::codec::testing
