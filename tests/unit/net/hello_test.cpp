// Hello: canonical layout, signature binding to network id and Noise static key, each refusal.
#include "net/hello.h"

#include <gtest/gtest.h>

#include "crypto/x25519.h"
#include "net/types.h"

namespace imet::net {
namespace {

util::ByteArray<32> net_id(uint8_t fill) {
  util::ByteArray<32> a{};
  a.fill(fill);
  return a;
}

TEST(Hello, LayoutFollowsTheHeader) {
  const auto key = crypto::SigningKey::generate();
  const auto st = crypto::X25519KeyPair::generate();
  const Hello h = make_hello(key, net_id(7), st.public_key, 0x1234, "v1");
  const util::Bytes e = encode_hello(h);
  ASSERT_EQ(e.size(), 2u + 32 + 32 + 64 + 2 + 1 + 2);
  EXPECT_EQ(e[0], kProtocolVersion & 0xFF);  // little-endian u16
  EXPECT_EQ(e[1], kProtocolVersion >> 8);
  EXPECT_EQ(e[2], 7);
  EXPECT_EQ(util::ByteArray<32>(), util::ByteArray<32>());
  EXPECT_TRUE(std::equal(key.public_key().begin(), key.public_key().end(), e.begin() + 34));
  EXPECT_EQ(e[130], 0x34);
  EXPECT_EQ(e[131], 0x12);
  EXPECT_EQ(e[132], 2);
  EXPECT_EQ(e[133], 'v');
  auto back = decode_hello(e);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, h);
}

TEST(Hello, SignatureIsOverDomainNetworkAndStaticKey) {
  const auto key = crypto::SigningKey::generate();
  const auto st = crypto::X25519KeyPair::generate();
  const Hello h = make_hello(key, net_id(1), st.public_key, 1, "x");
  // Sized once and filled with std::copy (GCC 12 warns falsely on resize after to_bytes).
  const std::string_view domain = kHelloDomain;
  util::Bytes msg(domain.size() + 64);
  std::copy(domain.begin(), domain.end(), msg.begin());
  std::copy(h.network_id.begin(), h.network_id.end(), msg.end() - 64);
  std::copy(st.public_key.begin(), st.public_key.end(), msg.end() - 32);
  EXPECT_TRUE(crypto::verify(key.public_key(), msg, h.signature));
  EXPECT_TRUE(check_hello(h, net_id(1), st.public_key).ok());
}

TEST(Hello, WrongNetworkRefused) {
  const auto key = crypto::SigningKey::generate();
  const auto st = crypto::X25519KeyPair::generate();
  const Hello h = make_hello(key, net_id(1), st.public_key, 1, "x");
  const HelloCheck c = check_hello(h, net_id(2), st.public_key);
  EXPECT_EQ(c.refusal, HelloRefusal::kNetwork);
  EXPECT_NE(c.reason.find("different genesis"), std::string::npos) << c.reason;
}

TEST(Hello, SignatureForAnotherStaticKeyRefused) {
  // A Hello copied from another session does not verify against this session's static key.
  const auto key = crypto::SigningKey::generate();
  const auto st = crypto::X25519KeyPair::generate();
  const auto other = crypto::X25519KeyPair::generate();
  const Hello h = make_hello(key, net_id(1), st.public_key, 1, "x");
  EXPECT_EQ(check_hello(h, net_id(1), other.public_key).refusal, HelloRefusal::kSignature);
}

TEST(Hello, ForgedIdentityRefused) {
  const auto key = crypto::SigningKey::generate();
  const auto st = crypto::X25519KeyPair::generate();
  Hello h = make_hello(key, net_id(1), st.public_key, 1, "x");
  h.identity = crypto::SigningKey::generate().public_key();
  EXPECT_EQ(check_hello(h, net_id(1), st.public_key).refusal, HelloRefusal::kSignature);
}

TEST(Hello, OtherVersionRefused) {
  const auto key = crypto::SigningKey::generate();
  const auto st = crypto::X25519KeyPair::generate();
  Hello h = make_hello(key, net_id(1), st.public_key, 1, "x");
  h.protocol_version = kProtocolVersion + 1;
  const HelloCheck c = check_hello(h, net_id(1), st.public_key);
  EXPECT_EQ(c.refusal, HelloRefusal::kVersion);
  EXPECT_NE(c.reason.find("protocol version 2"), std::string::npos) << c.reason;
}

TEST(Hello, MalformedEncodingsRejectedNamingTheField) {
  const auto key = crypto::SigningKey::generate();
  const auto st = crypto::X25519KeyPair::generate();
  const util::Bytes good = encode_hello(make_hello(key, net_id(1), st.public_key, 1, "abc"));
  // Truncated in the signature.
  auto r = decode_hello(util::ByteSpan(good).first(100));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("signature"), std::string::npos) << r.status().message();
  // Trailing byte.
  util::Bytes longer = good;
  longer.push_back(0);
  EXPECT_FALSE(decode_hello(longer).ok());
  // Software version longer than 64 bytes.
  util::Bytes big(good.begin(), good.end() - 4);
  big.push_back(65);
  big.resize(big.size() + 65, 'a');
  r = decode_hello(big);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("software_version"), std::string::npos)
      << r.status().message();
  // Invalid UTF-8 in the version.
  util::Bytes bad_utf8 = good;
  bad_utf8.back() = 0xFF;
  EXPECT_FALSE(decode_hello(bad_utf8).ok());
}

TEST(Hello, LongSoftwareVersionTruncatedAtCharacterBoundary) {
  const auto key = crypto::SigningKey::generate();
  const auto st = crypto::X25519KeyPair::generate();
  std::string v(63, 'a');
  v += "\xC3\xA9";  // 'é' straddles byte 64
  const Hello h = make_hello(key, net_id(1), st.public_key, 1, v);
  EXPECT_EQ(h.software_version, std::string(63, 'a'));
  EXPECT_TRUE(decode_hello(encode_hello(h)).ok());
}

}  // namespace
}  // namespace imet::net
