#include "crypto/passphrase.h"

#include <cstdint>

#include <gtest/gtest.h>

namespace imet::crypto {
namespace {

// The smallest accepted parameters keep the tests fast (Argon2id over 8 KiB, one pass).
constexpr KdfParams kFast = kMinKdf;

const util::Bytes kSecret = util::to_bytes("ed25519 seed: 32 bytes of secret");
const util::Bytes kAad = util::to_bytes("imet wallet key v1");

TEST(Passphrase, SealOpenRoundTrip) {
  auto sealed = seal_with_passphrase(kSecret, "correct horse", kAad, kFast);
  ASSERT_TRUE(sealed.ok()) << sealed.status().to_string();
  EXPECT_EQ(sealed->kdf, kFast);
  EXPECT_EQ(sealed->ciphertext.size(), kSecret.size() + kAeadTagBytes);
  auto opened = open_with_passphrase(*sealed, "correct horse", kAad);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EXPECT_EQ(*opened, kSecret);
}

TEST(Passphrase, FreshSaltAndNonceEachTime) {
  auto a = seal_with_passphrase(kSecret, "pw", kAad, kFast);
  auto b = seal_with_passphrase(kSecret, "pw", kAad, kFast);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->salt, b->salt);
  EXPECT_NE(a->nonce, b->nonce);
  EXPECT_NE(a->ciphertext, b->ciphertext);
}

void expect_denied(const util::Result<util::Bytes>& r) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), util::StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status().message(), "wrong passphrase, or the key file was modified");
}

TEST(Passphrase, WrongPassphraseIsPermissionDenied) {
  auto sealed = seal_with_passphrase(kSecret, "correct horse", kAad, kFast);
  ASSERT_TRUE(sealed.ok());
  expect_denied(open_with_passphrase(*sealed, "correct horsE", kAad));
  expect_denied(open_with_passphrase(*sealed, "", kAad));
  expect_denied(open_with_passphrase(*sealed, "correct horse", util::to_bytes("other aad")));
}

TEST(Passphrase, EveryTamperedFieldFails) {
  auto sealed_or = seal_with_passphrase(kSecret, "pw", kAad, kFast);
  ASSERT_TRUE(sealed_or.ok());
  const SealedSecret sealed = *sealed_or;
  for (size_t i = 0; i < sealed.ciphertext.size(); ++i) {
    SealedSecret t = sealed;
    t.ciphertext[i] ^= 0x01;
    expect_denied(open_with_passphrase(t, "pw", kAad));
  }
  for (size_t i = 0; i < sealed.salt.size(); ++i) {
    SealedSecret t = sealed;
    t.salt[i] ^= 0x01;
    expect_denied(open_with_passphrase(t, "pw", kAad));
  }
  for (size_t i = 0; i < sealed.nonce.size(); ++i) {
    SealedSecret t = sealed;
    t.nonce[i] ^= 0x01;
    expect_denied(open_with_passphrase(t, "pw", kAad));
  }
  // KDF parameters still in range but changed: the derived key differs and the aad binds them.
  SealedSecret t = sealed;
  t.kdf.opslimit = 2;
  expect_denied(open_with_passphrase(t, "pw", kAad));
  t = sealed;
  t.kdf.memlimit_bytes = 16 << 10;
  expect_denied(open_with_passphrase(t, "pw", kAad));
  // Truncation.
  t = sealed;
  t.ciphertext.pop_back();
  expect_denied(open_with_passphrase(t, "pw", kAad));
  t.ciphertext.resize(10);
  auto r = open_with_passphrase(t, "pw", kAad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), util::StatusCode::kInvalidArgument);
}

// Out-of-range parameters are refused by the bounds check (kInvalidArgument, "out of the accepted
// range") before any key derivation; had Argon2id run with them, it would have failed to allocate
// (kUnavailable) or run for a very long time.
TEST(Passphrase, AbsurdParamsRejectedBeforeArgon2) {
  auto sealed_or = seal_with_passphrase(kSecret, "pw", kAad, kFast);
  ASSERT_TRUE(sealed_or.ok());
  const KdfParams absurd[] = {
      {0, kFast.memlimit_bytes},   // opslimit below minimum
      {11, kFast.memlimit_bytes},  // too many passes
      {UINT64_MAX, kFast.memlimit_bytes},
      {1, (8 << 10) - 1},     // below 8 KiB
      {1, (1ull << 30) + 1},  // above 1 GiB
      {1, 100ull << 30},      // 100 GiB from a crafted key file
      {1, UINT64_MAX},
  };
  for (const KdfParams& kdf : absurd) {
    SealedSecret t = *sealed_or;
    t.kdf = kdf;
    auto r = open_with_passphrase(t, "pw", kAad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), util::StatusCode::kInvalidArgument) << r.status().to_string();
    EXPECT_NE(r.status().message().find("out of the accepted range"), std::string::npos)
        << r.status().message();
    auto s = seal_with_passphrase(kSecret, "pw", kAad, kdf);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), util::StatusCode::kInvalidArgument);
  }
}

TEST(Passphrase, BoundsAreInclusive) {
  auto sealed =
      seal_with_passphrase(kSecret, "pw", {}, KdfParams{kMaxKdf.opslimit, kMinKdf.memlimit_bytes});
  ASSERT_TRUE(sealed.ok()) << sealed.status().to_string();
  auto opened = open_with_passphrase(*sealed, "pw", {});
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EXPECT_EQ(*opened, kSecret);
}

TEST(Passphrase, EmptySecretAndDefaultParamsAreValid) {
  static_assert(kDefaultKdf.opslimit == 3 && kDefaultKdf.memlimit_bytes == 64ull << 20);
  auto sealed = seal_with_passphrase({}, "pw", {}, kFast);
  ASSERT_TRUE(sealed.ok());
  auto opened = open_with_passphrase(*sealed, "pw", {});
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->empty());
}

}  // namespace
}  // namespace imet::crypto
