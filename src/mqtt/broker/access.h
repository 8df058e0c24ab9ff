// AccessControl: the broker's questions to authentication and authorization (implemented over
// mqtt/auth by the node, or AllowAll for tests and dev nodes without auth configured).
// Thread-safety: implementations must be thread-safe (called from every I/O thread).
// Invariants: authenticate returns kSuccess, kBadUserNameOrPassword or kNotAuthorized.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mqtt/codec/reason_code.h"
#include "util/bytes.h"

namespace imet::mqtt::broker {

struct ClientInfo {
  std::string client_id;
  std::optional<std::string> username;
  std::string ip;
};

class AccessControl {
 public:
  virtual ~AccessControl() = default;
  // `reason` receives a log-friendly explanation on failure.
  virtual ReasonCode authenticate(const ClientInfo& client,
                                  const std::optional<util::Bytes>& password,
                                  std::string& reason) = 0;
  virtual bool can_publish(const ClientInfo& client, std::string_view topic) = 0;
  virtual bool can_subscribe(const ClientInfo& client, std::string_view filter) = 0;
  // Whether the broker must call can_receive for each delivery (an ACL restricts reads).
  virtual bool checks_receive() const = 0;
  virtual bool can_receive(const ClientInfo& client, std::string_view topic) = 0;
};

// Everyone may connect and do anything (dev nodes; the node's default when allow_anonymous and
// no password or ACL file is configured).
class AllowAll final : public AccessControl {
 public:
  ReasonCode authenticate(const ClientInfo&, const std::optional<util::Bytes>&,
                          std::string&) override {
    return ReasonCode::kSuccess;
  }
  bool can_publish(const ClientInfo&, std::string_view) override { return true; }
  bool can_subscribe(const ClientInfo&, std::string_view) override { return true; }
  bool checks_receive() const override { return false; }
  bool can_receive(const ClientInfo&, std::string_view) override { return true; }
};

}  // namespace imet::mqtt::broker
