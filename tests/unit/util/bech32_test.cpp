#include "util/bech32.h"

#include <cctype>

#include <gtest/gtest.h>

namespace imet::util {
namespace {

constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

// BIP-350 valid bech32m test vectors (checksum only; data are 5-bit groups, so we check decode
// through our 8-bit API only on those whose data length converts cleanly).
TEST(Bech32m, Bip350ValidChecksums) {
  // "a1lqfn3a" is the empty-data vector for hrp "a".
  auto r = bech32m_decode("a1lqfn3a");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->hrp, "a");
  EXPECT_TRUE(r->data.empty());
  EXPECT_TRUE(bech32m_decode("A1LQFN3A").ok());  // all upper case is allowed
}

TEST(Bech32m, Bip350InvalidVectors) {
  EXPECT_FALSE(bech32m_decode("qyrz8wqd2c9m").ok());   // no separator
  EXPECT_FALSE(bech32m_decode("1qyrz8wqd2c9m").ok());  // empty hrp
  EXPECT_FALSE(bech32m_decode("au1s5cgom").ok());      // invalid character 'o'
  EXPECT_FALSE(bech32m_decode("M1VUXWEZ").ok());       // checksum computed with upper-case hrp
  EXPECT_FALSE(bech32m_decode("16plkw9").ok());        // empty hrp
  EXPECT_FALSE(bech32m_decode("1p2gdwpf").ok());       // empty hrp
  // bech32 (BIP-173) string: valid bech32, but must be rejected as bech32m.
  EXPECT_FALSE(bech32m_decode("a12uel5l").ok());
}

TEST(Bech32m, RoundTripAllLengths) {
  for (size_t n = 0; n <= 40; ++n) {
    Bytes data(n);
    for (size_t i = 0; i < n; ++i)
      data[i] = static_cast<uint8_t>(i * 37 + n);
    auto enc = bech32m_encode("imet", data);
    ASSERT_TRUE(enc.ok()) << n;
    auto dec = bech32m_decode(*enc);
    ASSERT_TRUE(dec.ok()) << *enc;
    EXPECT_EQ(dec->hrp, "imet");
    EXPECT_EQ(dec->data, data);
  }
  EXPECT_FALSE(bech32m_encode("imet", Bytes(60)).ok());  // over 90 characters
  EXPECT_FALSE(bech32m_encode("IMET", Bytes(20)).ok());
}

// Every single-character substitution anywhere in an address is rejected.
TEST(Bech32m, RejectsEverySingleCharacterTypo) {
  Bytes data(20);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<uint8_t>(0xa5 ^ (i * 11));
  std::string good = bech32m_encode("imet", data).value();
  size_t tried = 0;
  for (size_t pos = 0; pos < good.size(); ++pos) {
    std::string alphabet = pos < 4 ? "abcdefghijklmnopqrstuvwxyz0123456789" : kCharset;
    if (pos == 4) alphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";  // replacing the separator
    for (char c : alphabet) {
      if (c == good[pos]) continue;
      std::string typo = good;
      typo[pos] = c;
      auto r = bech32m_decode(typo);
      // A typo may still decode if it moves the separator to produce another valid string with a
      // different prefix; require that it never yields the original (hrp, data) or an "imet" one.
      if (r.ok()) {
        EXPECT_NE(r->hrp, "imet") << typo;
      }
      ++tried;
    }
  }
  EXPECT_GT(tried, 1000u);
}

TEST(Bech32m, RejectsMixedCaseAndPadding) {
  std::string good = bech32m_encode("imet", Bytes(20, 7)).value();
  std::string mixed = good;
  mixed[6] = static_cast<char>(std::toupper(mixed[6]));
  if (mixed != good) {
    auto r = bech32m_decode(mixed);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), "mixes upper and lower case");
  }
  EXPECT_EQ(bech32m_decode(good.substr(0, good.size() - 1)).status().message(),
            "checksum mismatch (mistyped or damaged)");
}

}  // namespace
}  // namespace imet::util
