// AuthAccess implementation.
#include "mqtt/broker/auth_access.h"

namespace imet::mqtt::broker {

namespace {
auth::ClientIdentity identity(const ClientInfo& c) {
  auth::ClientIdentity id;
  id.client_id = c.client_id;
  id.username = c.username;
  return id;
}
}  // namespace

ReasonCode AuthAccess::authenticate(const ClientInfo& client,
                                    const std::optional<util::Bytes>& password,
                                    std::string& reason) {
  std::optional<std::string_view> user;
  if (client.username) user = *client.username;
  std::optional<util::ByteSpan> pw;
  if (password) pw = util::ByteSpan(*password);
  const auth::AuthDecision d = auth_->authenticate(client.client_id, user, pw);
  reason = d.reason;
  return static_cast<ReasonCode>(d.v5_reason_code());
}

// Without an ACL the identity (two string copies) is not built: the decision does not depend on
// it. A reload racing with the has_acl() read decides as the snapshot before or after it would.
bool AuthAccess::can_publish(const ClientInfo& client, std::string_view topic) {
  if (!auth_->has_acl()) return !auth::Authenticator::reserved_for_publish(topic);
  return auth_->can_publish(identity(client), topic);
}

bool AuthAccess::can_subscribe(const ClientInfo& client, std::string_view filter) {
  if (!auth_->has_acl()) return true;
  return auth_->can_subscribe(identity(client), filter);
}

bool AuthAccess::can_receive(const ClientInfo& client, std::string_view topic) {
  if (!auth_->has_acl()) return true;
  return auth_->can_receive(identity(client), topic);
}

}  // namespace imet::mqtt::broker
