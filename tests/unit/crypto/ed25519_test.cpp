#include "crypto/ed25519.h"

#include <utility>

#include <gtest/gtest.h>

#include "test_hex.h"

namespace imet::crypto {
namespace {

using testing::hex;
using testing::hex_array;

// RFC 8032 section 7.1, TEST 1 (empty message).
TEST(Ed25519, Rfc8032Test1) {
  const auto key = SigningKey::from_seed(
      hex_array<32>("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  EXPECT_EQ(util::to_hex(key.public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const Signature sig = key.sign({});
  EXPECT_EQ(util::to_hex(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc6"
            "1e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(verify(key.public_key(), {}, sig));
}

// RFC 8032 section 7.1, TEST 2 (one-byte message 0x72).
TEST(Ed25519, Rfc8032Test2) {
  const auto key = SigningKey::from_seed(
      hex_array<32>("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"));
  EXPECT_EQ(util::to_hex(key.public_key()),
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
  const util::Bytes msg = hex("72");
  const Signature sig = key.sign(msg);
  EXPECT_EQ(util::to_hex(sig),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e45"
            "8f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
  EXPECT_TRUE(verify(key.public_key(), msg, sig));
}

TEST(Ed25519, RejectsModifiedMessageSignatureOrKey) {
  const auto key = SigningKey::generate();
  const util::Bytes msg = util::to_bytes("transfer 10 IMET");
  const Signature sig = key.sign(msg);
  ASSERT_TRUE(verify(key.public_key(), msg, sig));
  for (size_t i = 0; i < msg.size(); ++i) {
    util::Bytes m = msg;
    m[i] ^= 0x01;
    EXPECT_FALSE(verify(key.public_key(), m, sig)) << i;
  }
  for (size_t i = 0; i < sig.size(); ++i) {
    Signature s = sig;
    s[i] ^= 0x80;
    EXPECT_FALSE(verify(key.public_key(), msg, s)) << i;
  }
  EXPECT_FALSE(verify(SigningKey::generate().public_key(), msg, sig));
  EXPECT_FALSE(verify(PublicKey{}, msg, sig));  // small-order / invalid key: false, no crash
}

TEST(Ed25519, GeneratedKeysDifferAndRoundTripThroughSeed) {
  const auto a = SigningKey::generate();
  const auto b = SigningKey::generate();
  EXPECT_NE(a.seed(), b.seed());
  EXPECT_NE(a.public_key(), b.public_key());
  const auto a2 = SigningKey::from_seed(a.seed());
  EXPECT_EQ(a2.public_key(), a.public_key());
  EXPECT_EQ(a2.sign(util::as_bytes("x")), a.sign(util::as_bytes("x")));
}

TEST(Ed25519, CopyAndMove) {
  const auto original = SigningKey::generate();
  SigningKey copy = original;
  EXPECT_EQ(copy.seed(), original.seed());
  EXPECT_EQ(copy.sign(util::as_bytes("m")), original.sign(util::as_bytes("m")));
  SigningKey moved = std::move(copy);
  EXPECT_EQ(moved.public_key(), original.public_key());
  EXPECT_EQ(moved.sign(util::as_bytes("m")), original.sign(util::as_bytes("m")));
  // The moved-from key's secret material is wiped.
  EXPECT_EQ(copy.seed(), Seed{});  // NOLINT(bugprone-use-after-move)
  SigningKey assigned = SigningKey::generate();
  assigned = original;
  EXPECT_EQ(assigned.public_key(), original.public_key());
  assigned = SigningKey::from_seed(Seed{});
  EXPECT_EQ(assigned.seed(), Seed{});
}

}  // namespace
}  // namespace imet::crypto
