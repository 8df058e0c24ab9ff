// Tests of device-key login tokens: the signed message layout (built independently here from
// the format in docs/mqtt-auth.md), round trips, and every rejection: malformed text, expiry
// (with the 60 s skew allowance), lifetime limit, unknown device, key/address mismatch, another
// client id, another chain id, a non-canonical address.
#include <gtest/gtest.h>

#include "crypto/address.h"
#include "mqtt/auth/device_token.h"
#include "util/clock.h"

namespace imet::mqtt::auth {
namespace {

constexpr int64_t kNow = 1'800'000'000;  // seconds

crypto::SigningKey key_from(uint8_t fill) {
  crypto::Seed seed{};
  seed.fill(fill);
  return crypto::SigningKey::from_seed(seed);
}

class DeviceTokenTest : public ::testing::Test {
 protected:
  DeviceTokenTest()
      : clock_(kNow * 1000),
        key_(key_from(7)),
        address_(crypto::address_of(key_.public_key())),
        policy_{"imet-test", std::chrono::hours(24)} {
    lookup_ = [this](const std::string& address) -> std::optional<crypto::PublicKey> {
      ++lookups_;
      if (address == address_) return key_.public_key();
      return std::nullopt;
    };
  }

  std::string token(uint64_t expiry, std::string_view client_id = "dev-1",
                    std::string_view chain = "imet-test") {
    return make_device_token(key_, chain, client_id, address_, expiry);
  }

  util::Status verify(std::string_view password, std::string_view client_id = "dev-1") {
    return verify_device_token(address_, client_id, password, lookup_, policy_, clock_);
  }

  std::string reason(std::string_view password, std::string_view client_id = "dev-1") {
    util::Status st = verify(password, client_id);
    EXPECT_FALSE(st.ok()) << password;
    EXPECT_EQ(st.code(), util::StatusCode::kPermissionDenied);
    return st.message();
  }

  util::ManualClock clock_;
  crypto::SigningKey key_;
  std::string address_;
  DeviceTokenPolicy policy_;
  DeviceKeyLookup lookup_;
  int lookups_ = 0;
};

TEST_F(DeviceTokenTest, MessageLayout) {
  util::Bytes msg = device_token_message("c", "id", "imet1x", 0x0102030405060708ull);
  std::string expected_hex = "19000000" +
                             util::to_hex(util::as_bytes("IMET/mqtt-device-token/v1")) +  // domain
                             "01000000" + util::to_hex(util::as_bytes("c")) +       // chain id
                             "02000000" + util::to_hex(util::as_bytes("id")) +      // client id
                             "06000000" + util::to_hex(util::as_bytes("imet1x")) +  // address
                             "0807060504030201";                                    // expiry u64le
  EXPECT_EQ(util::to_hex(msg), expected_hex);
  // Length prefixes keep field boundaries: moving a byte between fields changes the message.
  EXPECT_NE(device_token_message("ca", "b", "x", 1), device_token_message("c", "ab", "x", 1));
}

TEST_F(DeviceTokenTest, FormatAndParse) {
  std::string t = token(kNow + 3600);
  EXPECT_TRUE(t.starts_with("imet-dt1." + std::to_string(kNow + 3600) + ".")) << t;
  EXPECT_EQ(t.size(), std::string("imet-dt1.").size() + 10 + 1 + 86);
  auto parsed = parse_device_token(t);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->expiry_unix_s, static_cast<uint64_t>(kNow + 3600));
  EXPECT_EQ(format_device_token(*parsed), t);
  // The signature is Ed25519 over the documented message.
  EXPECT_TRUE(crypto::verify(key_.public_key(),
                             device_token_message("imet-test", "dev-1", address_, kNow + 3600),
                             parsed->signature));
}

TEST_F(DeviceTokenTest, ParseRejections) {
  auto msg = [](std::string_view text) {
    auto r = parse_device_token(text);
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? "" : r.status().message();
  };
  std::string sig = token(kNow).substr(token(kNow).rfind('.') + 1);
  EXPECT_EQ(msg("imet-dt2.1." + sig), "not a device token (it must start with 'imet-dt1.')");
  EXPECT_EQ(msg("imet-dt1.123"), "malformed device token: expected imet-dt1.<expiry>.<signature>");
  const std::string not_number = "malformed device token: the expiry is not a decimal number";
  EXPECT_EQ(msg("imet-dt1.." + sig), not_number);
  EXPECT_EQ(msg("imet-dt1.+5." + sig), not_number);
  EXPECT_EQ(msg("imet-dt1.-5." + sig), not_number);
  EXPECT_EQ(msg("imet-dt1.0123." + sig), not_number);
  EXPECT_EQ(msg("imet-dt1.1e9." + sig), not_number);
  EXPECT_EQ(msg("imet-dt1.99999999999999999999." + sig), not_number);
  EXPECT_EQ(msg("imet-dt1.9999999999999." + sig), "device token expiry is out of range");
  const std::string bad_sig =
      "malformed device token: the signature is not 64 bytes of unpadded base64url";
  EXPECT_EQ(msg("imet-dt1.5." + sig.substr(1)), bad_sig);
  EXPECT_EQ(msg("imet-dt1.5." + sig + "=="), bad_sig);
  EXPECT_EQ(msg("imet-dt1.5." + sig + "AA"), bad_sig);
  EXPECT_EQ(msg("imet-dt1.5."), bad_sig);
  std::string plus = sig;
  plus[0] = '+';  // standard-alphabet character
  EXPECT_EQ(msg("imet-dt1.5." + plus), bad_sig);
  // Bytes outside the alphabet, including ones >= 0x80 (libsodium 1.0.18 decodes some of those).
  for (char c : {'\xe2', '\x80', '\xff', '=', ' ', '.'}) {
    std::string odd = sig;
    odd[29] = c;
    EXPECT_EQ(msg("imet-dt1.5." + odd), bad_sig) << static_cast<int>(c);
  }
  EXPECT_TRUE(parse_device_token("imet-dt1.0." + sig).ok());
}

TEST_F(DeviceTokenTest, AcceptsAValidToken) {
  EXPECT_TRUE(verify(token(kNow + 3600)).ok());
  EXPECT_TRUE(verify(token(kNow)).ok());
  EXPECT_EQ(lookups_, 2);
}

TEST_F(DeviceTokenTest, ExpiryWithClockSkew) {
  EXPECT_TRUE(verify(token(kNow - 60)).ok());  // 60 s of skew allowed
  EXPECT_EQ(reason(token(kNow - 61)), "device token expired 61 s ago");
  clock_.advance_ms(3'600'000);
  EXPECT_EQ(reason(token(kNow + 100)), "device token expired 3500 s ago");
}

TEST_F(DeviceTokenTest, LifetimeLimit) {
  int64_t day = 86400;
  EXPECT_TRUE(verify(token(kNow + day + 60)).ok());
  EXPECT_EQ(reason(token(kNow + day + 61)),
            "device token expires in 86461 s, more than the allowed lifetime of 86400 s");
  policy_.max_lifetime = std::chrono::seconds(600);
  EXPECT_EQ(reason(token(kNow + 3600)),
            "device token expires in 3600 s, more than the allowed lifetime of 600 s");
  EXPECT_EQ(lookups_, 1);  // time checks come before the lookup
}

TEST_F(DeviceTokenTest, BoundToClientIdChainAndKey) {
  EXPECT_EQ(reason(token(kNow + 60, "dev-2"), "dev-1"),
            "device token signature does not verify (wrong key, client id or chain id)");
  EXPECT_EQ(reason(token(kNow + 60, "dev-1", "imet-main")),
            "device token signature does not verify (wrong key, client id or chain id)");
  // Signed by another key for this address.
  std::string forged = make_device_token(key_from(8), "imet-test", "dev-1", address_, kNow + 60);
  EXPECT_EQ(reason(forged),
            "device token signature does not verify (wrong key, client id or chain id)");
  // A tampered expiry breaks the signature.
  std::string t = token(kNow + 60);
  std::string tampered = "imet-dt1." + std::to_string(kNow + 61) + t.substr(t.rfind('.'));
  EXPECT_EQ(reason(tampered),
            "device token signature does not verify (wrong key, client id or chain id)");
  EXPECT_EQ(reason(token(kNow + 60) + "x"),
            "malformed device token: the signature is not 64 bytes of unpadded base64url");
}

TEST_F(DeviceTokenTest, UnknownDeviceAndMismatchedKey) {
  crypto::SigningKey other = key_from(9);
  std::string other_address = crypto::address_of(other.public_key());
  std::string t = make_device_token(other, "imet-test", "dev-1", other_address, kNow + 60);
  util::Status st = verify_device_token(other_address, "dev-1", t, lookup_, policy_, clock_);
  EXPECT_EQ(st.message(), "no device is registered under " + other_address);
  // A lookup that returns a key whose address is not the username.
  DeviceKeyLookup wrong = [&](const std::string&) -> std::optional<crypto::PublicKey> {
    return key_.public_key();
  };
  st = verify_device_token(other_address, "dev-1", t, wrong, policy_, clock_);
  EXPECT_EQ(st.message(), "the registered device key does not belong to " + other_address);
  st = verify_device_token(address_, "dev-1", token(kNow + 60), DeviceKeyLookup{}, policy_, clock_);
  EXPECT_EQ(st.message(), "device-key login is not available on this node");
}

TEST_F(DeviceTokenTest, UsernameMustBeACanonicalAddress) {
  std::string upper = address_;
  for (char& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  util::Status st = verify_device_token(upper, "dev-1", token(kNow), lookup_, policy_, clock_);
  EXPECT_EQ(st.message(), "username must be the address in its canonical lowercase form");
  std::string typo = address_;
  typo.back() = typo.back() == 'q' ? 'p' : 'q';
  st = verify_device_token(typo, "dev-1", token(kNow), lookup_, policy_, clock_);
  EXPECT_TRUE(st.message().starts_with("username is not a valid IMET address: ")) << st.message();
  EXPECT_EQ(lookups_, 0);
}

}  // namespace
}  // namespace imet::mqtt::auth
