// AuthAccess: the broker's AccessControl over mqtt/auth's Authenticator (mosquitto password and
// ACL files, Argon2id entries, device-key tokens, allow_anonymous).
// Thread-safety: as Authenticator (thread-safe; reload() swaps an immutable snapshot).
// Invariants: authenticate maps AuthOutcome to CONNACK 0x00 / 0x86 / 0x87 only.
#pragma once

#include <memory>

#include "mqtt/auth/authenticator.h"
#include "mqtt/broker/access.h"

namespace imet::mqtt::broker {

class AuthAccess final : public AccessControl {
 public:
  explicit AuthAccess(std::unique_ptr<auth::Authenticator> auth) : auth_(std::move(auth)) {}

  ReasonCode authenticate(const ClientInfo& client, const std::optional<util::Bytes>& password,
                          std::string& reason) override;
  bool can_publish(const ClientInfo& client, std::string_view topic) override;
  bool can_subscribe(const ClientInfo& client, std::string_view filter) override;
  bool checks_receive() const override { return auth_->has_acl(); }
  bool can_receive(const ClientInfo& client, std::string_view topic) override;
  util::Status reload() { return auth_->reload(); }

 private:
  std::unique_ptr<auth::Authenticator> auth_;
};

}  // namespace imet::mqtt::broker
