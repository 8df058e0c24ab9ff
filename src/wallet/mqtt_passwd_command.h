// `imet mqtt passwd` (modelled on mosquitto_passwd) manages an MQTT password file in mosquitto's
// format, writing new passwords as Argon2id; `imet mqtt token` prints a device-key login token
// (docs/mqtt-auth.md) signed with a key from the key directory.
//
//   imet mqtt passwd [-c] FILE USER                  prompt twice on the terminal (echo off)
//   imet mqtt passwd [-c] --password-file F FILE USER   password from the first line of F
//   imet mqtt passwd [-c] -b FILE USER PASSWORD      batch mode (the password is visible in ps)
//   imet mqtt passwd -D FILE USER                    delete USER
//   imet mqtt passwd --check FILE USER               exit 0 iff the password is right
//   imet mqtt token --key NAME --client-id ID --chain-id ID [--ttl 1h]
//   imet mqtt acl-check ACL_FILE --client-id ID [--username U] --publish|--receive|--subscribe T
//
// Thread-safety: not thread-safe (may prompt on the terminal); call from the main thread.
// Invariants: existing entries ($6$, $7$, Argon2id) and comments are written back unchanged; the
// file is replaced atomically and has mode 0600 afterwards; without -c the file must exist; a
// failed command leaves the file as it was.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "util/clock.h"
#include "wallet/key_commands.h"

namespace imet::wallet {

struct MqttPasswdOptions {
  std::string file;
  std::string user;
  std::string password;       // -b: the third positional argument
  std::string password_file;  // --password-file
  bool create = false;        // -c: start a new file (replacing an existing one)
  bool batch = false;         // -b
  bool remove = false;        // -D
  bool check = false;         // --check
};

util::Status mqtt_passwd(const MqttPasswdOptions& opts, std::ostream& out);

// `imet mqtt acl-check ACL_FILE --client-id ID [--username U] --publish|--receive|--subscribe T`:
// what the ACL file decides for one client and one topic (or filter), as the broker would.
struct MqttAclCheckOptions {
  std::string acl_file;
  std::string client_id;
  std::optional<std::string> username;
  std::string publish, receive, subscribe;  // exactly one is set
};

// Prints "allowed" or "denied" (and any warnings about the file to `err`); errors for a bad file
// or bad arguments.
util::Status mqtt_acl_check(const MqttAclCheckOptions& opts, std::ostream& out, std::ostream& err);

struct MqttTokenOptions {
  std::string key_name;
  std::string client_id;
  std::string chain_id;
  std::string ttl = "1h";  // "90s", "15m", "1h", "1d" or plain seconds
};

// "<seconds>" or "<n>s|m|h|d"; from 1 s up to 30 days.
util::Result<int64_t> parse_ttl_seconds(std::string_view text);

// Prints the username (the key's address) and the password (the token) on two lines, or a JSON
// object {"username","password","expiry"} with ctx.json.
util::Status mqtt_token(const KeyCommandContext& ctx, const MqttTokenOptions& opts,
                        const util::Clock& clock);

}  // namespace imet::wallet
