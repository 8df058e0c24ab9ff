#include "crypto/address.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/hash.h"
#include "util/bech32.h"

namespace imet::crypto {
namespace {

constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

TEST(Address, DerivedFromHashOfPublicKey) {
  const auto key = SigningKey::generate();
  const Hash256 h = blake2b_256(key.public_key());
  const AddressBytes a = address_bytes_of(key.public_key());
  EXPECT_TRUE(std::equal(a.begin(), a.end(), h.begin()));
  const std::string text = address_of(key.public_key());
  EXPECT_EQ(text.rfind("imet1", 0), 0u) << text;
  EXPECT_EQ(text, encode_address(a));
  // Independent decoding through util's bech32m.
  auto decoded = util::bech32m_decode(text);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->hrp, "imet");
  EXPECT_EQ(decoded->data, util::Bytes(a.begin(), a.end()));
}

// The per-thread memo answers exactly as the hash does, also for keys sharing a table slot (the
// first byte) that evict each other, and for a key differing from a remembered one in its last
// byte only.
TEST(Address, RememberedAnswersEqualTheHash) {
  const PublicKey base = SigningKey::generate().public_key();
  std::vector<PublicKey> keys;
  for (uint8_t i = 0; i < 4; ++i) {
    PublicKey k = base;
    k[31] = static_cast<uint8_t>(k[31] ^ i);
    keys.push_back(k);
  }
  for (int round = 0; round < 3; ++round) {
    for (const PublicKey& k : keys) {
      const Hash256 h = blake2b_256(k);
      const AddressBytes a = address_bytes_of(k);
      EXPECT_TRUE(std::equal(a.begin(), a.end(), h.begin()));
      EXPECT_EQ(address_bytes_of(k), a);  // answered from the table
    }
  }
}

TEST(Address, RoundTrip) {
  for (int i = 0; i < 50; ++i) {
    const AddressBytes a = address_bytes_of(SigningKey::generate().public_key());
    auto parsed = parse_address(encode_address(a));
    ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
    EXPECT_EQ(*parsed, a);
  }
  // Upper case is the same address (bech32 allows all-caps, e.g. for QR codes).
  const AddressBytes a = address_bytes_of(SigningKey::generate().public_key());
  std::string upper = encode_address(a);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  auto parsed = parse_address(upper);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(*parsed, a);
}

TEST(Address, EverySingleCharacterTypoIsRejected) {
  const std::string text = address_of(SigningKey::generate().public_key());
  for (size_t i = 5; i < text.size(); ++i) {  // every data/checksum position after "imet1"
    for (const char* c = kCharset; *c != '\0'; ++c) {
      if (*c == text[i]) continue;
      std::string typo = text;
      typo[i] = *c;
      auto r = parse_address(typo);
      ASSERT_FALSE(r.ok()) << typo;
      EXPECT_EQ(r.status().code(), util::StatusCode::kInvalidArgument);
      EXPECT_EQ(r.status().message().rfind("address '" + typo + "' is not valid: ", 0), 0u)
          << r.status().message();
    }
  }
}

TEST(Address, RejectsWrongPrefix) {
  const AddressBytes a{};
  auto other = util::bech32m_encode("btc", a);
  ASSERT_TRUE(other.ok());
  auto r = parse_address(*other);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "address has prefix 'btc', expected 'imet'");
}

TEST(Address, RejectsWrongLength) {
  for (size_t n : {size_t{0}, size_t{19}, size_t{21}, size_t{32}}) {
    auto text = util::bech32m_encode("imet", util::Bytes(n, 0x42));
    ASSERT_TRUE(text.ok());
    auto r = parse_address(*text);
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.status().message(),
              "address '" + *text + "' holds " + std::to_string(n) + " bytes, expected 20");
  }
}

TEST(Address, RejectsGarbageWithReadableMessage) {
  auto r = parse_address("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("address '' is not valid: ", 0), 0u);
  r = parse_address("imet1qqqqq");
  EXPECT_FALSE(r.ok());
  // Control characters and over-long input are shown truncated and sanitised.
  r = parse_address(std::string(500, 'q') + "\n");
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.status().message().size(), 200u);
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
  // A bech32 (BIP-173, not bech32m) string with the right prefix and length is rejected.
  r = parse_address("imet1qqqsyqcyq5rqwzqfpg9scrgwpugpzysngu5y2a");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("checksum"), std::string::npos) << r.status().message();
}

// Known answer computed with an independent bech32m implementation (BIP-350 reference code).
TEST(Address, KnownEncoding) {
  AddressBytes a{};
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(encode_address(a), "imet1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnaqyg0l");
  auto parsed = parse_address("imet1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnaqyg0l");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, a);
}

}  // namespace
}  // namespace imet::crypto
