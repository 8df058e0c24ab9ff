// CipherState, SymmetricState, HMAC/HKDF and pattern tables of the Noise implementation.
#include <algorithm>
#include <cstdint>

#include <gtest/gtest.h>
#include <sodium.h>

#include "crypto/noise/cipher_state.h"
#include "crypto/noise/pattern.h"
#include "crypto/noise/symmetric_state.h"
#include "test_hex.h"

namespace imet::crypto::noise {
namespace {

using testing::hex;

// Known answers from Python's hmac.new(key, msg, hashlib.blake2b), an independent implementation
// of RFC 2104 over BLAKE2b-512 with its 128-byte block.
TEST(NoiseHmac, MatchesIndependentImplementation) {
  EXPECT_EQ(
      util::to_hex(hmac_blake2b(util::as_bytes("key"),
                                util::as_bytes("The quick brown fox jumps over the lazy dog"))),
      "92294f92c0dfb9b00ec9ae8bd94d7e7d8a036b885a499f149dfe2fd2199394aaaf6b8894a1730cccb2cd05"
      "0f9bcf5062a38b51b0dab33207f8ef35ae2c9df51b");
  const util::Bytes long_key(131, 0xaa);  // longer than a block: hashed first
  EXPECT_EQ(
      util::to_hex(hmac_blake2b(
          long_key, util::as_bytes("Test Using Larger Than Block-Size Key - Hash Key First"))),
      "a54b2943b2a20227d41ca46c0945af09bc1faefb2f49894c23aebc557fb79c4889dca74408dc865086667a"
      "edee4a3185c53a49c80b814c4c5813ea0c8b38a8f8");
  EXPECT_EQ(util::to_hex(hmac_blake2b({}, {})),
            "198cd2006f66ff83fbbd913f78aca2251caf4f19fe9475aade8cf2091b99a68466775177424f58286886cb"
            "ae8229644cec747237d4b721735485e17372fdf59c");
  util::Bytes key64(64), msg200(200);
  for (size_t i = 0; i < key64.size(); ++i)
    key64[i] = static_cast<uint8_t>(i);
  for (size_t i = 0; i < msg200.size(); ++i)
    msg200[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(util::to_hex(hmac_blake2b(key64, msg200)),
            "1946eada75baf91211d29fddc60f4d1114824763b4dd0be397b379b17136839d11948cc1f5603b91457899"
            "d411287443d95410385c027e04c3c42478c4e2eec7");
  // Not libsodium's keyed BLAKE2b.
  EXPECT_NE(hmac_blake2b(util::as_bytes("key"), util::as_bytes("x")),
            blake2b_512(util::as_bytes("keyx")));
}

TEST(NoiseHkdf, MatchesIndependentImplementation) {
  util::Bytes ck(64), ikm(32);
  for (size_t i = 0; i < ck.size(); ++i)
    ck[i] = static_cast<uint8_t>(i);
  for (size_t i = 0; i < ikm.size(); ++i)
    ikm[i] = static_cast<uint8_t>(100 + i);
  const auto out = hkdf(ck, ikm, 3);
  EXPECT_EQ(util::to_hex(out[0]),
            "2262ed5f40c3324574d00a1e0849a7cc67fb5b6a80211c3c59404bb8e47512b1cb95e73840718c5d68ca34"
            "5f934f39a52f1f31e8f6d3ed521f0664f46feddae4");
  EXPECT_EQ(util::to_hex(out[1]),
            "f6a6559fa2aaab64d3d2666b83fe3f4fed6fae1959537fedd6a39b6f8d411e6132593234cc2a750244335d"
            "a5021c27bf7eacbb65cfa608457de6ecc144b90077");
  EXPECT_EQ(util::to_hex(out[2]),
            "07c82c1301c70e885f4662f1f3f7b7bb9e04d81c94a6e1882f812c02ffb69580c93095bb599ad2fced3d3c"
            "f38c9c17df4fb3c0029f231247fca69b040e16449e");
  const auto two = hkdf(ck, ikm, 2);
  EXPECT_EQ(two[0], out[0]);
  EXPECT_EQ(two[1], out[1]);
  EXPECT_EQ(two[2], Hash512{});
}

TEST(NoiseCipherState, WithoutKeyPassesThrough) {
  CipherState c;
  EXPECT_FALSE(c.has_key());
  auto ct = c.encrypt_with_ad(util::as_bytes("ad"), util::as_bytes("hello"));
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(util::to_string(*ct), "hello");
  auto pt = c.decrypt_with_ad(util::as_bytes("ad"), *ct);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(util::to_string(*pt), "hello");
  EXPECT_EQ(c.nonce(), 0u);
  EXPECT_FALSE(c.rekey().ok());
}

TEST(NoiseCipherState, NonceLayoutIsFourZeroBytesThenLittleEndianCounter) {
  // ChaCha20-Poly1305 IETF with nonce 00000000 || LE64(n), checked against a direct libsodium
  // call with a hand-written nonce.
  const CipherKey key{0x42};
  const uint64_t n = 0x0102030405060708;
  const uint8_t nonce[12] = {0, 0, 0, 0, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
  const util::Bytes ad = util::to_bytes("ad");
  const util::Bytes msg = util::to_bytes("nonce layout");
  util::Bytes direct(msg.size() + kTagBytes);
  unsigned long long direct_len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(direct.data(), &direct_len, msg.data(), msg.size(),
                                            ad.data(), ad.size(), nullptr, nonce, key.data());
  CipherState layout(key);
  layout.set_nonce(n);
  auto via_state = layout.encrypt_with_ad(ad, msg);
  ASSERT_TRUE(via_state.ok());
  EXPECT_EQ(*via_state, direct);
  EXPECT_EQ(layout.nonce(), n + 1);

  CipherState a(key);
  a.set_nonce(5);
  auto ct = a.encrypt_with_ad({}, util::as_bytes("x"));
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(a.nonce(), 6u);
  CipherState b(key);
  b.set_nonce(4);
  EXPECT_FALSE(b.decrypt_with_ad({}, *ct).ok());  // wrong nonce
  EXPECT_EQ(b.nonce(), 4u);                       // a failed decryption leaves n unchanged
  b.set_nonce(5);
  auto pt = b.decrypt_with_ad({}, *ct);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(util::to_string(*pt), "x");
  // Nonce 2^32 differs from nonce 0 (all 8 counter bytes are used).
  CipherState c0(key), c32(key);
  c32.set_nonce(uint64_t{1} << 32);
  EXPECT_NE(*c0.encrypt_with_ad({}, util::as_bytes("x")),
            *c32.encrypt_with_ad({}, util::as_bytes("x")));
}

TEST(NoiseCipherState, MaxNonceIsReserved) {
  CipherState c(CipherKey{1});
  c.set_nonce(kMaxNonce - 1);
  auto last = c.encrypt_with_ad({}, util::as_bytes("last"));
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(c.nonce(), kMaxNonce);
  auto r = c.encrypt_with_ad({}, util::as_bytes("one too many"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), util::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(c.decrypt_with_ad({}, *last).ok());
  CipherState d(CipherKey{1});
  d.set_nonce(kMaxNonce - 1);
  EXPECT_TRUE(d.decrypt_with_ad({}, *last).ok());
}

TEST(NoiseCipherState, RekeyChangesKeyKeepsNonceAndStaysInStep) {
  CipherState a(CipherKey{9}), b(CipherKey{9});
  ASSERT_TRUE(a.encrypt_with_ad({}, util::as_bytes("m0")).ok());
  ASSERT_TRUE(
      b.decrypt_with_ad({}, *CipherState(CipherKey{9}).encrypt_with_ad({}, util::as_bytes("m0")))
          .ok());
  ASSERT_TRUE(a.rekey().ok());
  EXPECT_EQ(a.nonce(), 1u);
  auto ct = a.encrypt_with_ad({}, util::as_bytes("after rekey"));
  ASSERT_TRUE(ct.ok());
  CipherState stale = b;  // not rekeyed
  EXPECT_FALSE(stale.decrypt_with_ad({}, *ct).ok());
  ASSERT_TRUE(b.rekey().ok());
  auto pt = b.decrypt_with_ad({}, *ct);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(util::to_string(*pt), "after rekey");
}

// The Noise spec (section 11.3, and 4.2 for ChaChaPoly) written out with libsodium, independent
// of CipherState: REKEY(k) = first 32 bytes of ENCRYPT(k, 2^64-1, empty ad, 32 zero bytes), the
// 96-bit nonce being 4 zero bytes then the 64-bit counter little-endian.
util::Bytes spec_encrypt(const CipherKey& k, uint64_t n, util::ByteSpan plaintext) {
  uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES] = {};
  for (int i = 0; i < 8; ++i)
    nonce[4 + i] = static_cast<uint8_t>(n >> (8 * i));
  util::Bytes out(plaintext.size() + crypto_aead_chacha20poly1305_IETF_ABYTES);
  unsigned long long len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &len, plaintext.data(), plaintext.size(),
                                            nullptr, 0, nullptr, nonce, k.data());
  out.resize(static_cast<size_t>(len));
  return out;
}
CipherKey spec_rekey(const CipherKey& k) {
  const uint8_t zeros[32] = {};
  const util::Bytes ks = spec_encrypt(k, UINT64_MAX, util::ByteSpan(zeros, sizeof zeros));
  CipherKey out{};
  std::copy_n(ks.begin(), out.size(), out.begin());
  return out;
}

TEST(NoiseCipherState, RekeyIsTheSpecFormula) {
  CipherKey k{};
  for (size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<uint8_t>(0xA0 + i);
  const auto plain = util::as_bytes("same plaintext, same nonce");
  CipherState before(k);
  before.set_nonce(7);
  auto c_before = before.encrypt_with_ad({}, plain);
  ASSERT_TRUE(c_before.ok());
  EXPECT_EQ(*c_before, spec_encrypt(k, 7, plain));  // the independent encryption agrees

  CipherState after(k);
  ASSERT_TRUE(after.rekey().ok());
  after.set_nonce(7);
  auto c_after = after.encrypt_with_ad({}, plain);
  ASSERT_TRUE(c_after.ok());
  EXPECT_NE(*c_after, *c_before);  // the key changed
  const CipherKey k1 = spec_rekey(k);
  EXPECT_NE(k1, k);
  EXPECT_EQ(*c_after, spec_encrypt(k1, 7, plain));  // ... to the one the spec defines

  // A second rekey applies the formula to the new key (the nonce is left alone by Rekey()).
  ASSERT_TRUE(after.rekey().ok());
  EXPECT_EQ(after.nonce(), 8u);
  auto c_twice = after.encrypt_with_ad({}, plain);
  ASSERT_TRUE(c_twice.ok());
  EXPECT_EQ(*c_twice, spec_encrypt(spec_rekey(k1), 8, plain));
}

TEST(NoiseCipherState, SizeLimitsAndTruncation) {
  CipherState c(CipherKey{3});
  EXPECT_TRUE(c.encrypt_with_ad({}, util::Bytes(kMaxMessageBytes - kTagBytes)).ok());
  auto big = c.encrypt_with_ad({}, util::Bytes(kMaxMessageBytes - kTagBytes + 1));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), util::StatusCode::kInvalidArgument);
  EXPECT_FALSE(c.decrypt_with_ad({}, util::Bytes(kMaxMessageBytes + 1)).ok());
  for (size_t n = 0; n < kTagBytes; ++n) {
    auto r = c.decrypt_with_ad({}, util::Bytes(n));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("truncated"), std::string::npos);
  }
}

TEST(NoiseSymmetricState, InitializeHashesLongNamesAndPadsShortOnes) {
  SymmetricState s("Noise_XX_25519_ChaChaPoly_BLAKE2b");
  Hash512 expected{};
  const std::string_view name = "Noise_XX_25519_ChaChaPoly_BLAKE2b";
  std::copy(name.begin(), name.end(), expected.begin());
  EXPECT_EQ(s.handshake_hash(), expected);
  // Exactly HASHLEN bytes: used as is. One more: hashed.
  const std::string name64(kHashLen, 'n');
  Hash512 padded{};
  std::copy(name64.begin(), name64.end(), padded.begin());
  EXPECT_EQ(SymmetricState(name64).handshake_hash(), padded);
  const std::string name65(kHashLen + 1, 'n');
  EXPECT_EQ(SymmetricState(name65).handshake_hash(), blake2b_512(util::as_bytes(name65)));
  EXPECT_FALSE(s.has_key());
}

TEST(NoiseSymmetricState, MixHashAndEncryptAndHash) {
  SymmetricState a("proto"), b("proto");
  a.mix_hash(util::as_bytes("prologue"));
  b.mix_hash(util::as_bytes("prologue"));
  // Without a key, EncryptAndHash is the identity but still hashes.
  auto ct = a.encrypt_and_hash(util::as_bytes("clear"));
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(util::to_string(*ct), "clear");
  ASSERT_TRUE(b.decrypt_and_hash(*ct).ok());
  EXPECT_EQ(a.handshake_hash(), b.handshake_hash());
  a.mix_key(util::as_bytes("shared secret"));
  b.mix_key(util::as_bytes("shared secret"));
  ct = a.encrypt_and_hash(util::as_bytes("secret"));
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(ct->size(), 6 + kTagBytes);
  auto pt = b.decrypt_and_hash(*ct);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(util::to_string(*pt), "secret");
  EXPECT_EQ(a.handshake_hash(), b.handshake_hash());
  auto [a1, a2] = a.split();
  auto [b1, b2] = b.split();
  auto m = a1.encrypt_with_ad({}, util::as_bytes("t"));
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(b1.decrypt_with_ad({}, *m).ok());
  EXPECT_FALSE(b2.decrypt_with_ad({}, *m).ok());  // the two directions use different keys
}

TEST(NoisePattern, TablesMatchTheSpecNotation) {
  const std::pair<const char*, const char*> cases[] = {
      {"NN", "-> e\n<- e, ee"},
      {"XX", "-> e\n<- e, ee, s, es\n-> s, se"},
      {"IK", "<- s\n...\n-> e, es, s, ss\n<- e, ee, se"},
      {"KK", "-> s\n<- s\n...\n-> e, es, ss\n<- e, ee, se"},
      {"N", "<- s\n...\n-> e, es"},
      {"XXpsk3", "-> e\n<- e, ee, s, es\n-> s, se, psk"},
      {"IKpsk2", "<- s\n...\n-> e, es, s, ss\n<- e, ee, se, psk"},
      {"NNpsk0+psk2", "-> psk, e\n<- e, ee, psk"},
      {"X1X1", "-> e\n<- e, ee, s\n-> es, s\n<- se"},
  };
  for (const auto& [name, notation] : cases) {
    auto p = pattern_by_name(name);
    ASSERT_TRUE(p.ok()) << name << ": " << p.status().to_string();
    EXPECT_EQ(p->to_string(), notation) << name;
    EXPECT_EQ(p->protocol_name(), std::string("Noise_") + name + "_25519_ChaChaPoly_BLAKE2b");
  }
  EXPECT_EQ(pattern_by_name("NNpsk0+psk2")->psk_count(), 2u);
  EXPECT_TRUE(pattern_by_name("X")->one_way);
  EXPECT_FALSE(pattern_by_name("XX")->one_way);
  EXPECT_EQ(base_pattern_names().size(), 3u + 12u + 23u);
  for (auto base : base_pattern_names()) {
    EXPECT_TRUE(pattern_by_name(base).ok()) << base;
  }
}

TEST(NoisePattern, RejectsUnknownNamesAndModifiers) {
  struct Case {
    const char* name;
    const char* message_part;
  };
  const Case cases[] = {
      {"", "unknown Noise handshake pattern"},
      {"ZZ", "unknown Noise handshake pattern"},
      {"xx", "unknown Noise handshake pattern"},
      {"XXpsk4", "needs message 4, but the pattern has only 3 messages"},
      {"XXpsk", "malformed psk modifier"},
      {"XXpsk01", "malformed psk modifier"},
      {"XXpskx", "malformed psk modifier"},
      {"XXpsk0+psk0", "repeats modifier"},
      {"XXpsk0+", "ends with '+'"},
      {"XXfallback", "'fallback' modifier is not supported"},
      {"XXhfs", "unknown modifier 'hfs'"},
  };
  for (const auto& c : cases) {
    auto p = pattern_by_name(c.name);
    ASSERT_FALSE(p.ok()) << c.name;
    EXPECT_EQ(p.status().code(), util::StatusCode::kInvalidArgument);
    EXPECT_NE(p.status().message().find(c.message_part), std::string::npos)
        << c.name << ": " << p.status().message();
  }
}

TEST(NoisePattern, ProtocolNames) {
  auto p = pattern_from_protocol_name("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "IKpsk2");
  const std::pair<const char*, const char*> bad[] = {
      {"Noise_XX_448_ChaChaPoly_BLAKE2b", "unsupported DH function '448'"},
      {"Noise_XX_25519_AESGCM_BLAKE2b", "unsupported cipher 'AESGCM'"},
      {"Noise_XX_25519_ChaChaPoly_SHA256", "unsupported hash 'SHA256'"},
      {"Noise_XX_25519_ChaChaPoly_BLAKE2s", "unsupported hash 'BLAKE2s'"},
      {"Noise_XX_25519_ChaChaPoly", "is not a Noise protocol name"},
      {"NoisePSK_XX_25519_ChaChaPoly_BLAKE2b", "is not a Noise protocol name"},
      {"Noise_XX_25519_ChaChaPoly_BLAKE2b_extra", "is not a Noise protocol name"},
      {"Noise_QQ_25519_ChaChaPoly_BLAKE2b", "unknown Noise handshake pattern 'QQ'"},
  };
  for (const auto& [name, part] : bad) {
    auto r = pattern_from_protocol_name(name);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_NE(r.status().message().find(part), std::string::npos)
        << name << ": " << r.status().message();
  }
}

}  // namespace
}  // namespace imet::crypto::noise
