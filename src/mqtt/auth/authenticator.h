// Authenticator: the broker's single entry point for MQTT authentication (CONNECT) and topic
// authorization (PUBLISH, SUBSCRIBE, delivery), configured by the [mqtt] keys allow_anonymous,
// password_file and acl_file.
//
// Authentication, in order:
//  - no username: anonymous; accepted only with allow_anonymous (else "not authorized"); a
//    password without a username is refused ("bad credentials");
//  - username that parses as an IMET address and a password starting with "imet-dt1.": device
//    token (device_token.h), checked against the registered device key;
//  - otherwise the password file (password_file.h). A username that cannot be verified (no
//    password file, unknown user, no or wrong password) is refused: unlike mosquitto with
//    allow_anonymous and no password_file, IMET never accepts an unverified username.
// Authorization: without an ACL file every authenticated client may publish, subscribe and
// receive everything; with one, acl.h decides. Either way no client may publish to "$SYS/…" or
// "$share…" (as in mosquitto).
//
// Thread-safety: all methods may be called concurrently from any thread. Checks take an
// immutable snapshot (password file, ACL) under a short mutex; reload() builds a new snapshot
// from the files and swaps it in, so checks running during a reload see either the old or the
// new files, never a mix. Whether the current snapshot has an ACL is also kept in an atomic
// (has_acl_, written with the snapshot under the mutex): without an ACL, the authorization checks
// (once per PUBLISH and per delivery) take neither the mutex nor a snapshot reference, and decide
// as the snapshot without ACL would. Invariants: the snapshot is never null; has_acl_ equals
// snapshot_->acl != nullptr whenever mu_ is free; a failed reload() leaves the previous snapshot
// in place. The Clock passed to create() must outlive the Authenticator, and
// the DeviceKeyLookup must be safe to call from several threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "mqtt/auth/acl.h"
#include "mqtt/auth/device_token.h"
#include "mqtt/auth/password_file.h"
#include "util/clock.h"
#include "util/result.h"

namespace imet::mqtt::auth {

struct AuthConfig {
  bool allow_anonymous = false;
  std::string password_file;  // empty: none
  std::string acl_file;       // empty: none (everything allowed for authenticated clients)
  std::chrono::seconds max_token_lifetime{86400};
  // Signed into every device token (SPEC §1: signatures carry the chain id). Required when a
  // DeviceKeyLookup is given.
  std::string chain_id;
};

enum class AuthOutcome : uint8_t {
  kOk,
  kBadCredentials,  // MQTT 5 0x86 Bad User Name or Password; 3.1.1 return code 4
  kNotAuthorized,   // MQTT 5 0x87 Not authorized; 3.1.1 return code 5
};

enum class AuthMethod : uint8_t { kNone, kAnonymous, kPassword, kDeviceToken };

std::string_view auth_method_name(AuthMethod method);

struct AuthDecision {
  AuthOutcome outcome = AuthOutcome::kNotAuthorized;
  AuthMethod method = AuthMethod::kNone;
  std::string reason;  // for logs: what was decided and why; never contains a secret

  bool ok() const { return outcome == AuthOutcome::kOk; }
  // CONNACK Reason Code (MQTT 5): 0x00, 0x86 or 0x87.
  uint8_t v5_reason_code() const;
  // CONNACK return code (MQTT 3.1.1): 0, 4 or 5.
  uint8_t v3_return_code() const;
};

// SUBACK codes for a refused subscription, and the PUBACK/PUBREC code for a refused publish (v5).
inline constexpr uint8_t kSubackFailureV3 = 0x80;
inline constexpr uint8_t kNotAuthorizedV5 = 0x87;

class Authenticator {
 public:
  // Loads the configured files. `lookup` may be empty (device-key login then fails with a
  // reason). Errors name the file and line at fault.
  static util::Result<std::unique_ptr<Authenticator>> create(AuthConfig config,
                                                             DeviceKeyLookup lookup,
                                                             const util::Clock& clock);

  AuthDecision authenticate(std::string_view client_id, std::optional<std::string_view> username,
                            std::optional<util::ByteSpan> password) const;

  bool can_publish(const ClientIdentity& who, std::string_view topic) const;
  // The part of can_publish that holds whatever the ACL says: false for "$SYS", "$SYS/…" and
  // "$share…". Without an ACL (has_acl() false), can_publish is exactly !reserved_for_publish.
  static bool reserved_for_publish(std::string_view topic);
  // `filter` as sent in SUBSCRIBE (may be "$share/<group>/<filter>"); must already be valid.
  bool can_subscribe(const ClientIdentity& who, std::string_view filter) const;
  bool can_receive(const ClientIdentity& who, std::string_view topic) const;

  // Re-reads password_file and acl_file. On error the current files stay in force.
  util::Status reload();

  const AuthConfig& config() const { return config_; }
  // Lock-free. Callers may skip building a ClientIdentity when it is false (every client may
  // then subscribe to and receive everything, and publish unless reserved_for_publish).
  bool has_acl() const { return has_acl_.load(std::memory_order_acquire); }

 private:
  struct Snapshot {
    std::shared_ptr<const PasswordFile> passwords;  // null: no password file
    std::shared_ptr<const AclFile> acl;             // null: no ACL file
  };

  Authenticator(AuthConfig config, DeviceKeyLookup lookup, const util::Clock& clock)
      : config_(std::move(config)), lookup_(std::move(lookup)), clock_(clock) {}
  util::Result<std::shared_ptr<const Snapshot>> load_snapshot() const;
  std::shared_ptr<const Snapshot> snapshot() const;

  const AuthConfig config_;
  const DeviceKeyLookup lookup_;
  const util::Clock& clock_;
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;  // guarded by mu_
  std::atomic<bool> has_acl_{false};          // written under mu_ with snapshot_
};

}  // namespace imet::mqtt::auth
