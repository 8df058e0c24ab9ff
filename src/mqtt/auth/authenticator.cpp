#include "mqtt/auth/authenticator.h"

#include "crypto/address.h"

namespace imet::mqtt::auth {

namespace {

AuthDecision decide(AuthOutcome outcome, AuthMethod method, std::string reason) {
  return AuthDecision{outcome, method, std::move(reason)};
}

std::string quoted(std::string_view s) {
  constexpr size_t kMaxShown = 128;
  std::string out = "'";
  out += s.substr(0, kMaxShown);
  if (s.size() > kMaxShown) out += "...";
  return out + "'";
}

}  // namespace

std::string_view auth_method_name(AuthMethod method) {
  switch (method) {
    case AuthMethod::kNone:
      return "none";
    case AuthMethod::kAnonymous:
      return "anonymous";
    case AuthMethod::kPassword:
      return "password";
    case AuthMethod::kDeviceToken:
      return "device-token";
  }
  return "unknown";
}

uint8_t AuthDecision::v5_reason_code() const {
  switch (outcome) {
    case AuthOutcome::kOk:
      return 0x00;
    case AuthOutcome::kBadCredentials:
      return 0x86;
    case AuthOutcome::kNotAuthorized:
      return 0x87;
  }
  return 0x87;
}

uint8_t AuthDecision::v3_return_code() const {
  switch (outcome) {
    case AuthOutcome::kOk:
      return 0;
    case AuthOutcome::kBadCredentials:
      return 4;
    case AuthOutcome::kNotAuthorized:
      return 5;
  }
  return 5;
}

util::Result<std::unique_ptr<Authenticator>> Authenticator::create(AuthConfig config,
                                                                   DeviceKeyLookup lookup,
                                                                   const util::Clock& clock) {
  if (config.max_token_lifetime.count() <= 0) {
    return util::invalid_argument("mqtt.max_token_lifetime must be positive");
  }
  if (lookup && config.chain_id.empty()) {
    return util::invalid_argument("device-key login needs the chain id (AuthConfig.chain_id)");
  }
  std::unique_ptr<Authenticator> auth(
      new Authenticator(std::move(config), std::move(lookup), clock));
  IMET_ASSIGN_OR_RETURN(auth->snapshot_, auth->load_snapshot());
  auth->has_acl_.store(auth->snapshot_->acl != nullptr, std::memory_order_release);
  return auth;
}

util::Result<std::shared_ptr<const Authenticator::Snapshot>> Authenticator::load_snapshot() const {
  auto snap = std::make_shared<Snapshot>();
  if (!config_.password_file.empty()) {
    IMET_ASSIGN_OR_RETURN(PasswordFile pw, PasswordFile::load(config_.password_file));
    snap->passwords = std::make_shared<const PasswordFile>(std::move(pw));
  }
  if (!config_.acl_file.empty()) {
    IMET_ASSIGN_OR_RETURN(AclFile acl, AclFile::load(config_.acl_file));
    snap->acl = std::make_shared<const AclFile>(std::move(acl));
  }
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

std::shared_ptr<const Authenticator::Snapshot> Authenticator::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

util::Status Authenticator::reload() {
  IMET_ASSIGN_OR_RETURN(std::shared_ptr<const Snapshot> fresh, load_snapshot());
  std::shared_ptr<const Snapshot> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old = std::move(snapshot_);
    snapshot_ = std::move(fresh);
    has_acl_.store(snapshot_->acl != nullptr, std::memory_order_release);
  }
  return {};  // `old` is released outside the lock
}

AuthDecision Authenticator::authenticate(std::string_view client_id,
                                         std::optional<std::string_view> username,
                                         std::optional<util::ByteSpan> password) const {
  if (!username) {
    if (password) {
      return decide(AuthOutcome::kBadCredentials, AuthMethod::kNone,
                    "a password without a username is not accepted");
    }
    if (!config_.allow_anonymous) {
      return decide(AuthOutcome::kNotAuthorized, AuthMethod::kAnonymous,
                    "anonymous clients are not allowed (mqtt.allow_anonymous = false)");
    }
    return decide(AuthOutcome::kOk, AuthMethod::kAnonymous, "anonymous client accepted");
  }
  std::string_view user = *username;
  std::string_view pass_text;
  if (password) {
    pass_text = std::string_view(reinterpret_cast<const char*>(password->data()), password->size());
  }
  if (password && looks_like_device_token(pass_text) && crypto::parse_address(user).ok()) {
    DeviceTokenPolicy policy{config_.chain_id, config_.max_token_lifetime};
    util::Status st = verify_device_token(user, client_id, pass_text, lookup_, policy, clock_);
    if (!st.ok()) {
      return decide(AuthOutcome::kBadCredentials, AuthMethod::kDeviceToken,
                    "device " + quoted(user) + ": " + st.message());
    }
    return decide(AuthOutcome::kOk, AuthMethod::kDeviceToken,
                  "device " + quoted(user) + " logged in with a device token");
  }
  auto snap = snapshot();
  if (!snap->passwords) {
    return decide(AuthOutcome::kBadCredentials, AuthMethod::kPassword,
                  "user " + quoted(user) + ": no password file is configured");
  }
  if (!password) {
    return decide(AuthOutcome::kBadCredentials, AuthMethod::kPassword,
                  "user " + quoted(user) + " sent no password");
  }
  switch (snap->passwords->check(user, *password)) {
    case PasswordFile::Check::kOk:
      return decide(AuthOutcome::kOk, AuthMethod::kPassword,
                    "user " + quoted(user) + " logged in with a password");
    case PasswordFile::Check::kUnknownUser:
      return decide(AuthOutcome::kBadCredentials, AuthMethod::kPassword,
                    "user " + quoted(user) + " is not in the password file");
    case PasswordFile::Check::kWrongPassword:
      break;
  }
  return decide(AuthOutcome::kBadCredentials, AuthMethod::kPassword,
                "user " + quoted(user) + ": wrong password");
}

bool Authenticator::reserved_for_publish(std::string_view topic) {
  // mosquitto refuses client publishes to $SYS and to $share whatever the ACL says; so does IMET
  // ("$share/..." names a shared subscription, never a topic anyone should publish to).
  return topic == "$SYS" || topic.starts_with("$SYS/") || topic.starts_with("$share");
}

bool Authenticator::can_publish(const ClientIdentity& who, std::string_view topic) const {
  if (reserved_for_publish(topic)) return false;
  if (!has_acl()) return true;  // as the snapshot without ACL decides, without taking it
  auto snap = snapshot();
  return !snap->acl || snap->acl->can_publish(who, topic);
}

bool Authenticator::can_subscribe(const ClientIdentity& who, std::string_view filter) const {
  if (!has_acl()) return true;
  auto snap = snapshot();
  return !snap->acl || snap->acl->can_subscribe(who, filter);
}

bool Authenticator::can_receive(const ClientIdentity& who, std::string_view topic) const {
  if (!has_acl()) return true;
  auto snap = snapshot();
  return !snap->acl || snap->acl->can_receive(who, topic);
}

}  // namespace imet::mqtt::auth
