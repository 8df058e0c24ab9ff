#include "wallet/mqtt_passwd_command.h"

#include <charconv>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "crypto/address.h"
#include "mqtt/auth/acl.h"
#include "mqtt/auth/device_token.h"
#include "mqtt/auth/password_file.h"
#include "mqtt/topic/validation.h"
#include "wallet/keystore.h"
#include "wallet/passphrase.h"

namespace imet::wallet {

namespace {

using mqtt::auth::PasswordFile;

bool have_terminal() {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

// The password for -c/update/--check: -b's argument, --password-file, or the terminal.
util::Result<std::string> get_password(const MqttPasswdOptions& o, bool confirm) {
  if (o.batch) {
    if (o.password.empty()) return util::invalid_argument("empty password");
    return o.password;
  }
  if (o.password_file.empty() && !have_terminal()) {
    return util::invalid_argument(
        "no password given and no terminal to ask on: use --password-file FILE or -b FILE USER "
        "PASSWORD");
  }
  PassphraseOptions p;
  p.file = o.password_file;
  p.allow_env = false;
  auto r = get_passphrase(p, "Password: ", confirm);
  if (!r.ok()) {
    if (r.status().message() == "the two passphrases differ") {
      return util::invalid_argument("the two passwords differ; nothing was changed");
    }
    if (r.status().message() == "empty passphrase") return util::invalid_argument("empty password");
    return r.status();
  }
  return r;
}

util::Status check_flags(const MqttPasswdOptions& o) {
  int modes = int{o.remove} + int{o.check};
  if (modes > 1) return util::invalid_argument("-D and --check cannot be combined");
  if (o.remove && (o.create || o.batch || !o.password_file.empty())) {
    return util::invalid_argument("-D takes only FILE USER");
  }
  if (o.check && o.create) return util::invalid_argument("--check cannot be combined with -c");
  if (o.batch && !o.password_file.empty()) {
    return util::invalid_argument("-b and --password-file cannot be combined");
  }
  if (o.batch && o.password.empty()) {
    return util::invalid_argument("-b needs FILE USER PASSWORD");
  }
  if (!o.batch && !o.password.empty()) {
    return util::invalid_argument(
        "a password on the command line needs -b (or use --password-file, or the prompt)");
  }
  if (o.file.empty() || o.user.empty()) return util::invalid_argument("FILE and USER are required");
  return {};
}

}  // namespace

util::Status mqtt_passwd(const MqttPasswdOptions& o, std::ostream& out) {
  IMET_TRY(check_flags(o));
  PasswordFile file;
  if (!o.create) {
    auto loaded = PasswordFile::load(o.file);
    if (!loaded.ok()) {
      if (loaded.status().code() == util::StatusCode::kNotFound) {
        return util::not_found("password file '" + o.file +
                               "' does not exist (use -c to create it)");
      }
      return loaded.status();
    }
    file = std::move(loaded).value();
  }
  if (o.remove) {
    if (!file.remove(o.user)) {
      return util::not_found("user '" + o.user + "' is not in '" + o.file + "'");
    }
    IMET_TRY(file.save(o.file));
    out << "removed user '" << o.user << "' from " << o.file << "\n";
    return {};
  }
  if (o.check) {
    if (!file.contains(o.user)) {
      return util::not_found("user '" + o.user + "' is not in '" + o.file + "'");
    }
    IMET_ASSIGN_OR_RETURN(std::string password, get_password(o, /*confirm=*/false));
    if (file.check(o.user, util::as_bytes(password)) != PasswordFile::Check::kOk) {
      return util::permission_denied("wrong password for user '" + o.user + "'");
    }
    out << "password for '" << o.user << "' is correct ("
        << mqtt::auth::hash_scheme_name(file.find(o.user)->scheme) << ")\n";
    return {};
  }
  IMET_TRY(mqtt::auth::validate_username(o.user));
  IMET_ASSIGN_OR_RETURN(std::string password, get_password(o, /*confirm=*/true));
  bool existed = file.contains(o.user);
  IMET_TRY(file.set(o.user, password));
  IMET_TRY(file.save(o.file));
  out << (existed ? "updated" : "added") << " user '" << o.user << "' in " << o.file
      << " (argon2id)\n";
  return {};
}

util::Status mqtt_acl_check(const MqttAclCheckOptions& o, std::ostream& out, std::ostream& err) {
  int given = int{!o.publish.empty()} + int{!o.receive.empty()} + int{!o.subscribe.empty()};
  if (given != 1) {
    return util::invalid_argument("give exactly one of --publish, --receive or --subscribe");
  }
  if (!o.publish.empty() || !o.receive.empty()) {
    const std::string& topic = o.publish.empty() ? o.receive : o.publish;
    mqtt::TopicCheck c = mqtt::validate_topic_name(topic);
    if (!c.ok()) return util::invalid_argument("'" + topic + "': " + std::string(c.message));
  } else {
    mqtt::ParsedSubscription p = mqtt::parse_subscription_filter(o.subscribe);
    if (!p.check.ok()) {
      return util::invalid_argument("'" + o.subscribe + "': " + std::string(p.check.message));
    }
  }
  IMET_ASSIGN_OR_RETURN(mqtt::auth::AclFile acl, mqtt::auth::AclFile::load(o.acl_file));
  for (const std::string& w : acl.warnings())
    err << "warning: " << w << "\n";
  mqtt::auth::ClientIdentity who{o.client_id, o.username};
  bool allowed = !o.publish.empty()   ? acl.can_publish(who, o.publish)
                 : !o.receive.empty() ? acl.can_receive(who, o.receive)
                                      : acl.can_subscribe(who, o.subscribe);
  out << (allowed ? "allowed" : "denied") << "\n";
  return {};
}

util::Result<int64_t> parse_ttl_seconds(std::string_view text) {
  auto bad = [&] {
    return util::invalid_argument("--ttl '" + std::string(text) +
                                  "' is not a duration like 90s, 15m, 1h or 1d");
  };
  if (text.empty()) return bad();
  int64_t unit = 1;
  std::string_view number = text;
  switch (text.back()) {
    case 's':
      unit = 1;
      number.remove_suffix(1);
      break;
    case 'm':
      unit = 60;
      number.remove_suffix(1);
      break;
    case 'h':
      unit = 3600;
      number.remove_suffix(1);
      break;
    case 'd':
      unit = 86400;
      number.remove_suffix(1);
      break;
    default:
      break;
  }
  if (number.empty() || number.size() > 9 ||
      number.find_first_not_of("0123456789") != std::string_view::npos) {
    return bad();
  }
  int64_t n = 0;
  std::from_chars(number.data(), number.data() + number.size(), n);
  int64_t seconds = n * unit;
  if (seconds < 1 || seconds > 30 * 86400) {
    return util::invalid_argument("--ttl must be between 1 s and 30 days");
  }
  return seconds;
}

util::Status mqtt_token(const KeyCommandContext& ctx, const MqttTokenOptions& o,
                        const util::Clock& clock) {
  if (o.client_id.empty()) return util::invalid_argument("--client-id is required");
  if (o.chain_id.empty()) return util::invalid_argument("--chain-id is required");
  IMET_ASSIGN_OR_RETURN(int64_t ttl, parse_ttl_seconds(o.ttl));
  IMET_ASSIGN_OR_RETURN(KeyStore store, KeyStore::open(ctx.key_dir, /*create=*/false));
  IMET_ASSIGN_OR_RETURN(KeyFile kf, store.read(o.key_name));
  std::string pass;
  if (kf.encrypted()) {
    IMET_ASSIGN_OR_RETURN(
        pass, get_passphrase(ctx.passphrase, "Passphrase for key '" + o.key_name + "': ", false));
  }
  IMET_ASSIGN_OR_RETURN(crypto::SigningKey key, open_key(kf, pass));
  std::string address = crypto::address_of(key.public_key());
  int64_t expiry = clock.now_unix_ms() / 1000 + ttl;
  std::string token = mqtt::auth::make_device_token(key, o.chain_id, o.client_id, address,
                                                    static_cast<uint64_t>(expiry));
  if (ctx.json) {
    *ctx.out
        << nlohmann::json{{"username", address}, {"password", token}, {"expiry", expiry}}.dump()
        << "\n";
  } else {
    *ctx.out << address << "\n" << token << "\n";
  }
  return {};
}

}  // namespace imet::wallet
