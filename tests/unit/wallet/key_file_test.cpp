#include "wallet/key_file.h"

#include <gtest/gtest.h>

#include "crypto/address.h"
#include "util/bytes.h"

namespace imet::wallet {
namespace {

// Small Argon2id parameters keep the tests fast; the format stores them per file.
constexpr crypto::KdfParams kFastKdf{1, 64 << 10};

crypto::SigningKey test_key() {
  crypto::Seed seed{};
  for (size_t i = 0; i < seed.size(); ++i)
    seed[i] = static_cast<uint8_t>(i + 1);
  return crypto::SigningKey::from_seed(seed);
}

TEST(KeyFile, SealSerializeParseOpen) {
  auto key = test_key();
  auto kf = seal_key(key, "correct horse", kFastKdf);
  ASSERT_TRUE(kf.ok()) << kf.status().to_string();
  std::string text = serialize_key_file(*kf);
  EXPECT_EQ(text.find(util::to_hex(key.seed())), std::string::npos) << "seed leaked in clear";
  auto parsed = parse_key_file(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->address, crypto::address_of(key.public_key()));
  auto opened = open_key(*parsed, "correct horse");
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EXPECT_EQ(opened->seed(), key.seed());
}

TEST(KeyFile, WrongPassphraseIsPermissionDenied) {
  auto kf = seal_key(test_key(), "right", kFastKdf).value();
  auto r = open_key(kf, "wrong");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), util::StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("wrong passphrase"), std::string::npos);
}

TEST(KeyFile, PlainKeyRoundTrip) {
  auto key = test_key();
  auto parsed = parse_key_file(serialize_key_file(plain_key(key))).value();
  EXPECT_FALSE(parsed.encrypted());
  EXPECT_EQ(open_key(parsed, "").value().public_key(), key.public_key());
}

TEST(KeyFile, TruncationAtEveryPointIsRejectedNotCrashing) {
  std::string text = serialize_key_file(seal_key(test_key(), "pw", kFastKdf).value());
  for (size_t cut = 0; cut + 2 < text.size(); ++cut) {
    auto r = parse_key_file(text.substr(0, cut));
    EXPECT_FALSE(r.ok()) << cut;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), util::StatusCode::kCorruption);
    }
  }
}

TEST(KeyFile, TamperedFieldsAreRejected) {
  auto key = test_key();
  std::string text = serialize_key_file(seal_key(key, "pw", kFastKdf).value());
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    size_t pos = t.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    t.replace(pos, from.size(), to);
    return t;
  };
  // Another public key (with a matching address) must not decrypt: the AAD binds the key.
  auto other = crypto::SigningKey::generate();
  std::string swapped = replace(util::to_hex(key.public_key()), util::to_hex(other.public_key()));
  swapped = swapped.replace(swapped.find(crypto::address_of(key.public_key())),
                            crypto::address_of(key.public_key()).size(),
                            crypto::address_of(other.public_key()));
  auto parsed = parse_key_file(swapped);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_FALSE(open_key(*parsed, "pw").ok());
  // Address not matching the public key.
  std::string bad_addr =
      replace(crypto::address_of(key.public_key()), crypto::address_of(other.public_key()));
  EXPECT_EQ(parse_key_file(bad_addr).status().message(),
            "field 'address' does not match field 'public_key'");
  // Wrong types and values.
  EXPECT_FALSE(parse_key_file(replace("\"imet_key_file\": 1", "\"imet_key_file\": 9")).ok());
  EXPECT_FALSE(parse_key_file(replace("\"ed25519\"", "\"rsa\"")).ok());
  EXPECT_FALSE(parse_key_file("[]").ok());
  EXPECT_FALSE(parse_key_file("").ok());
  // Absurd KDF parameters are refused before any work.
  auto huge =
      parse_key_file(replace("\"memlimit_bytes\": 65536", "\"memlimit_bytes\": 100000000000000"));
  ASSERT_TRUE(huge.ok());
  auto r = open_key(*huge, "pw");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), util::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace imet::wallet
