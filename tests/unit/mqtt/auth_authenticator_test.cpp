// Tests of the Authenticator the broker calls: every CONNECT outcome with its MQTT 5 reason code
// and 3.1.1 return code, the choice between device token and password file, authorization with
// and without an ACL file, reload (a bad file keeps the old rules), and concurrent checks during
// reloads.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

#include "crypto/address.h"
#include "mqtt/auth/authenticator.h"

namespace imet::mqtt::auth {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kAuthNow = 1'800'000'000;
constexpr Argon2Params kFastArgon2{1, 8 << 10};

util::ByteSpan pw(std::string_view s) {
  return util::as_bytes(s);
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  AuthenticatorTest() : clock_(kAuthNow * 1000), device_(crypto::SigningKey::from_seed(seed())) {
    std::string tmpl = (fs::temp_directory_path() / "imet-authn-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    device_address_ = crypto::address_of(device_.public_key());
    lookup_ = [this](const std::string& a) -> std::optional<crypto::PublicKey> {
      if (a == device_address_) return device_.public_key();
      return std::nullopt;
    };
    PasswordFile file;
    EXPECT_TRUE(file.set("alice", "alice-pw", kFastArgon2).ok());
    // A mosquitto 2.x entry and a 1.x entry, as mosquitto_passwd writes them.
    EXPECT_TRUE(file.set_hash("bob", hash_password_mosquitto(HashScheme::kPbkdf2Sha512, "bob-pw",
                                                             pw("0123456789ab"), 101))
                    .ok());
    EXPECT_TRUE(file.set_hash("carol", hash_password_mosquitto(HashScheme::kSha512, "carol-pw",
                                                               pw("ba9876543210")))
                    .ok());
    EXPECT_TRUE(file.save(path("passwd")).ok());
    write(path("acl"),
          "user alice\n"
          "topic readwrite alice/#\n"
          "topic read public/#\n"
          "pattern readwrite devices/%u/#\n");
  }
  ~AuthenticatorTest() override { fs::remove_all(dir_); }

  static crypto::Seed seed() {
    crypto::Seed s{};
    s.fill(42);
    return s;
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  static void write(const std::string& p, const std::string& text) {
    std::ofstream(p, std::ios::trunc) << text;
  }

  std::unique_ptr<Authenticator> make(AuthConfig config) {
    if (config.chain_id.empty()) config.chain_id = "imet-test";
    auto a = Authenticator::create(config, lookup_, clock_);
    EXPECT_TRUE(a.ok()) << a.status().message();
    return a.ok() ? std::move(a).value() : nullptr;
  }
  AuthConfig files() const {
    AuthConfig c;
    c.password_file = path("passwd");
    c.acl_file = path("acl");
    return c;
  }
  std::string device_token(uint64_t expiry, std::string_view client_id = "dev-1") {
    return make_device_token(device_, "imet-test", client_id, device_address_, expiry);
  }

  std::string dir_;
  util::ManualClock clock_;
  crypto::SigningKey device_;
  std::string device_address_;
  DeviceKeyLookup lookup_;
};

void expect_decision(const AuthDecision& d, AuthOutcome outcome, AuthMethod method,
                     std::string_view reason) {
  EXPECT_EQ(d.outcome, outcome) << d.reason;
  EXPECT_EQ(d.method, method) << d.reason;
  EXPECT_EQ(d.reason, reason);
}

TEST_F(AuthenticatorTest, ReasonCodes) {
  AuthDecision ok{AuthOutcome::kOk, AuthMethod::kPassword, ""};
  AuthDecision bad{AuthOutcome::kBadCredentials, AuthMethod::kPassword, ""};
  AuthDecision denied{AuthOutcome::kNotAuthorized, AuthMethod::kAnonymous, ""};
  EXPECT_EQ(ok.v5_reason_code(), 0x00);
  EXPECT_EQ(ok.v3_return_code(), 0);
  EXPECT_EQ(bad.v5_reason_code(), 0x86);
  EXPECT_EQ(bad.v3_return_code(), 4);
  EXPECT_EQ(denied.v5_reason_code(), 0x87);
  EXPECT_EQ(denied.v3_return_code(), 5);
  EXPECT_EQ(auth_method_name(AuthMethod::kDeviceToken), "device-token");
}

TEST_F(AuthenticatorTest, AnonymousOnlyWhenAllowed) {
  auto strict = make(files());
  expect_decision(strict->authenticate("c1", std::nullopt, std::nullopt),
                  AuthOutcome::kNotAuthorized, AuthMethod::kAnonymous,
                  "anonymous clients are not allowed (mqtt.allow_anonymous = false)");
  AuthConfig open = files();
  open.allow_anonymous = true;
  auto lax = make(open);
  expect_decision(lax->authenticate("c1", std::nullopt, std::nullopt), AuthOutcome::kOk,
                  AuthMethod::kAnonymous, "anonymous client accepted");
  // A password without a username is never silently ignored.
  expect_decision(lax->authenticate("c1", std::nullopt, pw("x")), AuthOutcome::kBadCredentials,
                  AuthMethod::kNone, "a password without a username is not accepted");
}

TEST_F(AuthenticatorTest, PasswordFileLogins) {
  auto a = make(files());
  expect_decision(a->authenticate("c1", "alice", pw("alice-pw")), AuthOutcome::kOk,
                  AuthMethod::kPassword, "user 'alice' logged in with a password");
  EXPECT_TRUE(a->authenticate("c1", "bob", pw("bob-pw")).ok());
  EXPECT_TRUE(a->authenticate("c1", "carol", pw("carol-pw")).ok());
  expect_decision(a->authenticate("c1", "alice", pw("bob-pw")), AuthOutcome::kBadCredentials,
                  AuthMethod::kPassword, "user 'alice': wrong password");
  expect_decision(a->authenticate("c1", "dave", pw("x")), AuthOutcome::kBadCredentials,
                  AuthMethod::kPassword, "user 'dave' is not in the password file");
  expect_decision(a->authenticate("c1", "alice", std::nullopt), AuthOutcome::kBadCredentials,
                  AuthMethod::kPassword, "user 'alice' sent no password");
  // Even with anonymous access allowed, a username must be verified.
  AuthConfig open;
  open.allow_anonymous = true;
  auto no_file = make(open);
  expect_decision(no_file->authenticate("c1", "alice", pw("alice-pw")),
                  AuthOutcome::kBadCredentials, AuthMethod::kPassword,
                  "user 'alice': no password file is configured");
}

TEST_F(AuthenticatorTest, ReasonsNeverCarrySecretsAndClipLongNames) {
  auto a = make(files());
  std::string long_name(1000, 'n');
  AuthDecision d = a->authenticate("c1", long_name, pw("secret-password"));
  EXPECT_EQ(d.reason, "user '" + std::string(128, 'n') + "...' is not in the password file");
  EXPECT_EQ(a->authenticate("c1", "alice", pw("secret-password")).reason.find("secret"),
            std::string::npos);
}

TEST_F(AuthenticatorTest, DeviceTokenLogin) {
  auto a = make(files());
  expect_decision(a->authenticate("dev-1", device_address_, pw(device_token(kAuthNow + 600))),
                  AuthOutcome::kOk, AuthMethod::kDeviceToken,
                  "device '" + device_address_ + "' logged in with a device token");
  expect_decision(a->authenticate("dev-2", device_address_, pw(device_token(kAuthNow + 600))),
                  AuthOutcome::kBadCredentials, AuthMethod::kDeviceToken,
                  "device '" + device_address_ +
                      "': device token signature does not verify (wrong key, client id or chain "
                      "id)");
  expect_decision(a->authenticate("dev-1", device_address_, pw(device_token(kAuthNow - 120))),
                  AuthOutcome::kBadCredentials, AuthMethod::kDeviceToken,
                  "device '" + device_address_ + "': device token expired 120 s ago");
  // The configured lifetime applies.
  AuthConfig short_lived = files();
  short_lived.max_token_lifetime = std::chrono::seconds(300);
  auto s = make(short_lived);
  EXPECT_FALSE(s->authenticate("dev-1", device_address_, pw(device_token(kAuthNow + 600))).ok());
  EXPECT_TRUE(s->authenticate("dev-1", device_address_, pw(device_token(kAuthNow + 300))).ok());
  // Another node's chain id: the token is useless there.
  AuthConfig other_chain = files();
  other_chain.chain_id = "imet-main";
  auto o = make(other_chain);
  EXPECT_FALSE(o->authenticate("dev-1", device_address_, pw(device_token(kAuthNow + 60))).ok());
}

TEST_F(AuthenticatorTest, TokenPathOnlyForAddressesWithTokenPasswords) {
  auto a = make(files());
  // An address with an ordinary password goes to the password file.
  expect_decision(a->authenticate("dev-1", device_address_, pw("not-a-token")),
                  AuthOutcome::kBadCredentials, AuthMethod::kPassword,
                  "user '" + device_address_ + "' is not in the password file");
  // A token-looking password with a non-address username also goes to the password file.
  expect_decision(a->authenticate("dev-1", "alice", pw(device_token(kAuthNow + 60))),
                  AuthOutcome::kBadCredentials, AuthMethod::kPassword,
                  "user 'alice': wrong password");
  // Addresses may have password-file entries too.
  PasswordFile file = PasswordFile::load(path("passwd")).value();
  ASSERT_TRUE(file.set(device_address_, "plain", kFastArgon2).ok());
  ASSERT_TRUE(file.save(path("passwd")).ok());
  ASSERT_TRUE(a->reload().ok());
  EXPECT_TRUE(a->authenticate("x", device_address_, pw("plain")).ok());
}

TEST_F(AuthenticatorTest, DeviceLoginWithoutLedger) {
  auto a = Authenticator::create(files(), DeviceKeyLookup{}, clock_);
  ASSERT_TRUE(a.ok());
  expect_decision(
      (*a)->authenticate("dev-1", device_address_, pw(device_token(kAuthNow + 60))),
      AuthOutcome::kBadCredentials, AuthMethod::kDeviceToken,
      "device '" + device_address_ + "': device-key login is not available on this node");
}

TEST_F(AuthenticatorTest, CreateErrors) {
  AuthConfig c = files();
  c.chain_id = "imet-test";
  c.password_file = path("missing");
  auto r = Authenticator::create(c, lookup_, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "cannot read the MQTT password file: '" + path("missing") + "' does not exist");
  write(path("bad-acl"), "topic a\nbogus line\n");
  c = files();
  c.chain_id = "imet-test";
  c.acl_file = path("bad-acl");
  r = Authenticator::create(c, lookup_, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            path("bad-acl") + ":2: unknown keyword 'bogus' (expected topic, pattern or user)");
  c = files();
  r = Authenticator::create(c, lookup_, clock_);  // no chain id with a lookup
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "device-key login needs the chain id (AuthConfig.chain_id)");
  c.chain_id = "x";
  c.max_token_lifetime = std::chrono::seconds(0);
  r = Authenticator::create(c, lookup_, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "mqtt.max_token_lifetime must be positive");
}

TEST_F(AuthenticatorTest, AuthorizationWithAcl) {
  auto a = make(files());
  EXPECT_TRUE(a->has_acl());
  ClientIdentity alice{"c1", "alice"};
  ClientIdentity dev{"dev-1", device_address_};
  EXPECT_TRUE(a->can_publish(alice, "alice/x"));
  EXPECT_FALSE(a->can_publish(alice, "public/x"));
  EXPECT_TRUE(a->can_receive(alice, "public/x"));
  EXPECT_TRUE(a->can_subscribe(alice, "public/#"));
  EXPECT_FALSE(a->can_subscribe(alice, "bob/#"));
  EXPECT_TRUE(a->can_publish(dev, "devices/" + device_address_ + "/temp"));
  EXPECT_FALSE(a->can_publish(dev, "devices/imet1other/temp"));
  EXPECT_FALSE(a->can_publish(alice, "$SYS/broker/x"));
}

TEST_F(AuthenticatorTest, WithoutAclEverythingButSysAndSharePublishIsAllowed) {
  AuthConfig c;
  c.password_file = path("passwd");
  auto a = make(c);
  EXPECT_FALSE(a->has_acl());
  ClientIdentity bob{"c1", "bob"};
  EXPECT_TRUE(a->can_publish(bob, "any/topic"));
  EXPECT_TRUE(a->can_subscribe(bob, "#"));
  EXPECT_TRUE(a->can_receive(bob, "$SYS/broker/uptime"));
  EXPECT_FALSE(a->can_publish(bob, "$SYS/broker/uptime"));
  EXPECT_FALSE(a->can_publish(bob, "$SYS"));
  EXPECT_TRUE(a->can_publish(bob, "$SYSTEM/x"));
  EXPECT_FALSE(a->can_publish(bob, "$share/g/t"));
  EXPECT_TRUE(a->can_publish(bob, "$other/x"));
}

TEST_F(AuthenticatorTest, ReloadSwapsFilesAndKeepsOldOnError) {
  auto a = make(files());
  ClientIdentity alice{"c1", "alice"};
  EXPECT_FALSE(a->can_publish(alice, "new/topic"));
  write(path("acl"), "user alice\ntopic new/#\n");
  PasswordFile file = PasswordFile::load(path("passwd")).value();
  ASSERT_TRUE(file.set("alice", "changed", kFastArgon2).ok());
  ASSERT_TRUE(file.save(path("passwd")).ok());
  ASSERT_TRUE(a->reload().ok());
  EXPECT_TRUE(a->can_publish(alice, "new/topic"));
  EXPECT_FALSE(a->can_publish(alice, "alice/x"));
  EXPECT_TRUE(a->authenticate("c1", "alice", pw("changed")).ok());
  EXPECT_FALSE(a->authenticate("c1", "alice", pw("alice-pw")).ok());
  // A broken file: reload fails with the file and line, and the current rules stay.
  write(path("acl"), "user alice\ntopic read a/#/b\n");
  util::Status st = a->reload();
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.message().starts_with(path("acl") + ":2: invalid topic filter 'a/#/b'"))
      << st.message();
  EXPECT_TRUE(a->can_publish(alice, "new/topic"));
  EXPECT_TRUE(a->authenticate("c1", "alice", pw("changed")).ok());
}

TEST_F(AuthenticatorTest, ConcurrentChecksDuringReloads) {
  auto a = make(files());
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      ClientIdentity alice{"c1", "alice"};
      while (!stop.load()) {
        // Both ACL versions grant these and refuse the last one.
        if (!a->can_publish(alice, "alice/x") || !a->can_receive(alice, "public/y") ||
            a->can_publish(alice, "public/y")) {
          wrong.fetch_add(1);
        }
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(a->reload().ok());
  }
  stop.store(true);
  for (auto& t : readers)
    t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace imet::mqtt::auth
