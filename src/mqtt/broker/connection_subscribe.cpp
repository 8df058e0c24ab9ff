// Connection, SUBSCRIBE and UNSUBSCRIBE: the ACL check per filter, the subscription in the
// Broker, the SUBACK / UNSUBACK, and the retained messages that follow the SUBACK.
// Thread-safety: on the connection's strand (the Broker locks its own state).
// Invariants: a SUBACK has one reason code per requested filter, in order; retained messages are
// delivered only after it.
#include <vector>

#include "mqtt/broker/connection.h"
#include "mqtt/topic/validation.h"
#include "util/log.h"

namespace imet::mqtt::broker {

void Connection::handle_subscribe(const Subscribe& s) {
  const uint32_t sub_id =
      s.properties.subscription_identifiers.empty() ? 0 : s.properties.subscription_identifiers[0];
  for (const Subscription& sub : s.subscriptions) {
    if (sub.options.no_local && split_shared_subscription(sub.topic_filter)) {
      close(ReasonCode::kProtocolError, "No Local on a shared subscription (MQTT-3.8.3-4)");
      return;
    }
  }
  std::vector<Subscription> allowed;
  std::vector<ReasonCode> codes(s.subscriptions.size(), ReasonCode::kSuccess);
  std::vector<size_t> index;
  for (size_t i = 0; i < s.subscriptions.size(); ++i) {
    if (env_.access.can_subscribe(client_, s.subscriptions[i].topic_filter)) {
      allowed.push_back(s.subscriptions[i]);
      index.push_back(i);
    } else {
      codes[i] = ReasonCode::kNotAuthorized;
      util::log::debug("mqtt subscribe denied", {{"client", client_.client_id},
                                                 {"filter", s.subscriptions[i].topic_filter}});
    }
  }
  std::vector<Broker::Retained> retained;
  const auto granted = env_.broker.subscribe(*session_, allowed, sub_id, version_, retained);
  for (size_t k = 0; k < granted.size(); ++k)
    codes[index[k]] = granted[k];
  send_packet(Suback{s.packet_id, {}, std::move(codes)});
  for (auto& r : retained) {
    if (env_.access.checks_receive() && !env_.access.can_receive(client_, r.message->topic))
      continue;
    session_->deliver(r.message, std::move(r.delivery));
  }
}

void Connection::handle_unsubscribe(const Unsubscribe& u) {
  auto codes = env_.broker.unsubscribe(*session_, u.topic_filters);
  send_packet(Unsuback{u.packet_id, {}, std::move(codes)});
}

}  // namespace imet::mqtt::broker
