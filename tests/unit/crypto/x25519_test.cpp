#include "crypto/x25519.h"

#include <gtest/gtest.h>

#include "test_hex.h"

namespace imet::crypto {
namespace {

using testing::hex_array;

// RFC 7748 section 6.1.
TEST(X25519, Rfc7748AliceBob) {
  const auto alice = X25519KeyPair::from_private(
      hex_array<32>("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  const auto bob = X25519KeyPair::from_private(
      hex_array<32>("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  EXPECT_EQ(util::to_hex(alice.public_key),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(util::to_hex(bob.public_key),
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  auto k1 = x25519(alice.private_key, bob.public_key);
  auto k2 = x25519(bob.private_key, alice.public_key);
  ASSERT_TRUE(k1.ok()) << k1.status().to_string();
  ASSERT_TRUE(k2.ok()) << k2.status().to_string();
  EXPECT_EQ(util::to_hex(*k1), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(*k1, *k2);
}

TEST(X25519, GeneratedPairsAgree) {
  const auto a = X25519KeyPair::generate();
  const auto b = X25519KeyPair::generate();
  EXPECT_NE(a.private_key, b.private_key);
  EXPECT_EQ(X25519KeyPair::from_private(a.private_key).public_key, a.public_key);
  auto ab = x25519(a.private_key, b.public_key);
  auto ba = x25519(b.private_key, a.public_key);
  ASSERT_TRUE(ab.ok() && ba.ok());
  EXPECT_EQ(*ab, *ba);
}

TEST(X25519, RejectsLowOrderPoints) {
  const auto a = X25519KeyPair::generate();
  // The zero point and the order-2/order-4/order-8 points from the libsodium/Curve25519 blocklist.
  const char* low_order[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  };
  for (const char* p : low_order) {
    auto r = x25519(a.private_key, hex_array<32>(p));
    ASSERT_FALSE(r.ok()) << p;
    EXPECT_EQ(r.status().code(), util::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("low-order"), std::string::npos);
  }
}

}  // namespace
}  // namespace imet::crypto
