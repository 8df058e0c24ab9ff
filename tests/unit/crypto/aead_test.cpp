#include "crypto/aead.h"

#include <gtest/gtest.h>

#include "test_hex.h"

namespace imet::crypto {
namespace {

using testing::hex;
using testing::hex_array;

constexpr char kSunscreen[] =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
    "sunscreen would be it.";

// draft-irtf-cfrg-xchacha-03, Appendix A.3.1.
TEST(XChaCha20Poly1305, DraftA31Vector) {
  const auto key =
      hex_array<32>("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  const auto nonce = hex_array<24>("404142434445464748494a4b4c4d4e4f5051525354555657");
  const util::Bytes aad = hex("50515253c0c1c2c3c4c5c6c7");
  const util::Bytes expected = hex(
      "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4e"
      "da7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2"
      "383565d3fff921f9664c97637da9768812f615c68b13b52e"
      "c0875924c1c7987947deafd8780acf49");
  const util::Bytes ct = xchacha_seal(key, nonce, util::as_bytes(kSunscreen), aad);
  EXPECT_EQ(util::to_hex(ct), util::to_hex(expected));
  auto pt = xchacha_open(key, nonce, expected, aad);
  ASSERT_TRUE(pt.ok()) << pt.status().to_string();
  EXPECT_EQ(util::to_string(*pt), kSunscreen);
}

TEST(XChaCha20Poly1305, RejectsAnyModification) {
  const AeadKey key{1, 2, 3};
  const XNonce nonce{9};
  const util::Bytes aad = util::to_bytes("header");
  const util::Bytes ct = xchacha_seal(key, nonce, util::as_bytes("secret"), aad);
  ASSERT_EQ(ct.size(), 6 + kAeadTagBytes);
  for (size_t i = 0; i < ct.size(); ++i) {
    util::Bytes bad = ct;
    bad[i] ^= 0x01;
    auto r = xchacha_open(key, nonce, bad, aad);
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_EQ(r.status().code(), util::StatusCode::kCorruption);
  }
  EXPECT_FALSE(xchacha_open(key, nonce, ct, util::as_bytes("Header")).ok());
  AeadKey other_key = key;
  other_key[31] ^= 1;
  EXPECT_FALSE(xchacha_open(other_key, nonce, ct, aad).ok());
  XNonce other_nonce = nonce;
  other_nonce[23] ^= 1;
  EXPECT_FALSE(xchacha_open(key, other_nonce, ct, aad).ok());
  auto short_ct = xchacha_open(key, nonce, util::ByteSpan(ct).first(15), aad);
  ASSERT_FALSE(short_ct.ok());
  EXPECT_EQ(short_ct.status().code(), util::StatusCode::kInvalidArgument);
}

TEST(XChaCha20Poly1305, EmptyPlaintextAndAad) {
  const AeadKey key{7};
  const XNonce nonce{};
  const util::Bytes ct = xchacha_seal(key, nonce, {}, {});
  EXPECT_EQ(ct.size(), kAeadTagBytes);
  auto pt = xchacha_open(key, nonce, ct, {});
  ASSERT_TRUE(pt.ok());
  EXPECT_TRUE(pt->empty());
}

}  // namespace
}  // namespace imet::crypto
