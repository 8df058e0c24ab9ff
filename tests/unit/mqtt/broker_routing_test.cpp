// Unit tests of broker::Broker routing (src/mqtt/broker/broker.h), part 1: the merge of
// overlapping subscriptions, subscription options (no-local, retain-as-published, retain
// handling), the '$' topic rule, shared subscriptions (round-robin, offline members,
// redistribution), retained messages, SUBSCRIBE/UNSUBSCRIBE reason codes and the read ACL.
// Clients are sessions on RecordingSinks (broker_routing_fixture.h). Part 2, the session life
// cycle: broker_lifecycle_test.cpp.
// Thread-safety: single-threaded tests. Invariants: expected values come from MQTT 3.1.1 / 5.0,
// SPEC.md section 4 and the documented broker contract, never from the implementation's output.
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../store/temp_dir.h"
#include "broker_routing_fixture.h"
#include "mqtt/auth/authenticator.h"
#include "mqtt/broker/auth_access.h"

namespace imet::mqtt::broker::test {
namespace {

// ---- overlapping subscriptions and options ----

TEST_F(BrokerRoutingTest, OverlappingSubscriptionsGiveOneDeliveryAtMaxQosWithAllIds) {
  Client c = connect("c");
  ASSERT_EQ(subscribe(c, "a/+", opts(1), /*sub_id=*/11),
            std::vector<ReasonCode>{ReasonCode::kGrantedQos1});
  ASSERT_EQ(subscribe(c, "a/#", opts(2), /*sub_id=*/22),
            std::vector<ReasonCode>{ReasonCode::kGrantedQos2});
  ASSERT_EQ(subscribe(c, "a/b", opts(0)), std::vector<ReasonCode>{ReasonCode::kGrantedQos0});
  publish("a/b", "x", 2);
  auto pubs = c.take();
  // MQTT 5 §3.3.4: one PUBLISH at the maximum granted QoS, with every subscription identifier.
  ASSERT_EQ(pubs.size(), 1u);
  EXPECT_EQ(pubs[0].qos, 2);
  auto ids = pubs[0].properties.subscription_identifiers;
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<uint32_t>{11, 22}));

  // The message's own QoS caps the delivery.
  publish("a/b", "y", 1);
  pubs = c.take();
  ASSERT_EQ(pubs.size(), 1u);
  EXPECT_EQ(pubs[0].qos, 1);

  // Only the matching subscriptions count.
  publish("a/b/c", "z", 2);
  pubs = c.take();
  ASSERT_EQ(pubs.size(), 1u);
  EXPECT_EQ(pubs[0].properties.subscription_identifiers, (std::vector<uint32_t>{22}));
}

TEST_F(BrokerRoutingTest, EachSubscriberGetsOneCopy) {
  Client a = connect("a");
  Client b = connect("b");
  subscribe(a, "t/#", opts(0));
  subscribe(b, "t/x", opts(0));
  subscribe(b, "+/x", opts(0));
  publish("t/x", "m");
  EXPECT_EQ(a.payloads(), std::vector<std::string>{"m"});
  EXPECT_EQ(b.payloads(), std::vector<std::string>{"m"});
}

TEST_F(BrokerRoutingTest, NoLocalSkipsTheClientsOwnMessagesInV5Only) {
  Client self = connect("self");
  Client other = connect("other");
  Client old = connect("old", true, 0, Version::kV311);
  subscribe(self, "t", opts(0, /*no_local=*/true));
  subscribe(other, "t", opts(0, /*no_local=*/true));
  // 3.1.1 has no No Local option: the bit must be ignored.
  subscribe(old, "t", opts(0, /*no_local=*/true));
  publish("t", "from-self", 0, false, "self");
  publish("t", "from-old", 0, false, "old");
  EXPECT_EQ(self.payloads(), std::vector<std::string>{"from-old"});
  EXPECT_EQ(other.payloads(), (std::vector<std::string>{"from-self", "from-old"}));
  EXPECT_EQ(old.payloads(), (std::vector<std::string>{"from-self", "from-old"}));
}

TEST_F(BrokerRoutingTest, RetainAsPublishedKeepsTheRetainFlagOnForwardedMessages) {
  Client rap = connect("rap");
  Client plain = connect("plain");
  subscribe(rap, "t", opts(0, false, /*rap=*/true));
  subscribe(plain, "t", opts(0));
  publish("t", "retained", 0, /*retain=*/true);
  publish("t", "normal", 0, /*retain=*/false);
  auto r = rap.take();
  auto p = plain.take();
  ASSERT_EQ(r.size(), 2u);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_TRUE(r[0].retain);  // MQTT-3.3.1-13
  EXPECT_FALSE(r[1].retain);
  EXPECT_FALSE(p[0].retain);  // MQTT-3.3.1-12
  EXPECT_FALSE(p[1].retain);
}

TEST_F(BrokerRoutingTest, RetainHandlingOnSubscribe) {
  publish("r/1", "kept", 1, /*retain=*/true);
  Client c = connect("c");
  // 0: send retained messages at every subscribe (MQTT-3.3.1-9), with RETAIN set (MQTT-3.3.1-8)
  // whatever Retain As Published says.
  subscribe(c, "r/#", opts(2, false, false, RetainHandling::kSendOnSubscribe));
  auto pubs = c.take();
  ASSERT_EQ(pubs.size(), 1u);
  EXPECT_TRUE(pubs[0].retain);
  EXPECT_EQ(pubs[0].qos, 1);  // min(message QoS, granted QoS)
  EXPECT_EQ(pubs[0].payload.as_string_view(), "kept");
  subscribe(c, "r/#", opts(2, false, false, RetainHandling::kSendOnSubscribe));
  EXPECT_EQ(c.take().size(), 1u);

  // 1: only when the subscription did not exist (MQTT-3.3.1-10).
  subscribe(c, "r/+", opts(0, false, false, RetainHandling::kSendIfNewSubscription));
  pubs = c.take();
  ASSERT_EQ(pubs.size(), 1u);
  EXPECT_EQ(pubs[0].qos, 0);
  subscribe(c, "r/+", opts(0, false, false, RetainHandling::kSendIfNewSubscription));
  EXPECT_TRUE(c.take().empty());

  // 2: never (MQTT-3.3.1-11).
  subscribe(c, "r/1", opts(0, false, false, RetainHandling::kDoNotSend));
  EXPECT_TRUE(c.take().empty());

  // Shared subscriptions get no retained messages (MQTT 5 §4.8.2).
  Client s = connect("s");
  subscribe(s, "$share/g/r/#", opts(1));
  EXPECT_TRUE(s.take().empty());
}

TEST_F(BrokerRoutingTest, RetainedMessageCarriesTheSubscriptionIdentifier) {
  publish("r", "v", 0, true);
  Client c = connect("c");
  subscribe(c, "r", opts(0), /*sub_id=*/5);
  auto pubs = c.take();
  ASSERT_EQ(pubs.size(), 1u);
  EXPECT_EQ(pubs[0].properties.subscription_identifiers, (std::vector<uint32_t>{5}));
}

// ---- '$' topics ----

TEST_F(BrokerRoutingTest, DollarTopicsAreNotMatchedByLeadingWildcards) {
  Client all = connect("all");
  Client plus = connect("plus");
  Client dollar = connect("dollar");
  Client exact = connect("exact");
  subscribe(all, "#", opts(0));
  subscribe(plus, "+/x", opts(0));
  subscribe(dollar, "$app/#", opts(0));
  subscribe(exact, "$app/x", opts(0));
  publish("$app/x", "d");
  publish("app/x", "n");
  // MQTT-4.7.2-1: a filter starting with a wildcard does not match a topic starting with '$'.
  EXPECT_EQ(all.payloads(), std::vector<std::string>{"n"});
  EXPECT_EQ(plus.payloads(), std::vector<std::string>{"n"});
  EXPECT_EQ(dollar.payloads(), std::vector<std::string>{"d"});
  EXPECT_EQ(exact.payloads(), std::vector<std::string>{"d"});
}

TEST_F(BrokerRoutingTest, RetainedDollarTopicsAreNotSentForLeadingWildcards) {
  publish("$app/x", "d", 0, true);
  publish("app/x", "n", 0, true);
  Client c = connect("c");
  subscribe(c, "#", opts(0));
  EXPECT_EQ(c.payloads(), std::vector<std::string>{"n"});
  subscribe(c, "+/x", opts(0));
  EXPECT_EQ(c.payloads(), std::vector<std::string>{"n"});
  subscribe(c, "$app/+", opts(0));
  EXPECT_EQ(c.payloads(), std::vector<std::string>{"d"});
}

// ---- shared subscriptions ----

TEST_F(BrokerRoutingTest, SharedGroupDeliversRoundRobinToOneMember) {
  std::vector<Client> members;
  for (const char* id : {"m1", "m2", "m3"}) {
    members.push_back(connect(id));
    subscribe(members.back(), "$share/g/t/#", opts(0));
  }
  Client plain = connect("plain");
  subscribe(plain, "t/#", opts(0));
  std::vector<int> receivers;
  for (int i = 0; i < 6; ++i) {
    publish("t/x", std::to_string(i));
    int got = -1;
    for (int k = 0; k < 3; ++k) {
      const size_t n = members[k].take().size();
      if (n == 0) continue;
      EXPECT_EQ(n, 1u) << "message " << i;
      EXPECT_EQ(got, -1) << "message " << i << " went to two members";
      got = k;
    }
    receivers.push_back(got);
  }
  // Each message to exactly one member, every member in turn.
  EXPECT_NE(receivers[0], receivers[1]);
  EXPECT_NE(receivers[1], receivers[2]);
  EXPECT_NE(receivers[0], receivers[2]);
  for (int i = 3; i < 6; ++i)
    EXPECT_EQ(receivers[i], receivers[i - 3]);
  for (int r : receivers)
    EXPECT_GE(r, 0);
  // A non-shared subscriber of the same topics gets everything.
  EXPECT_EQ(plain.take().size(), 6u);
}

TEST_F(BrokerRoutingTest, SharedGroupSkipsOfflineMembersUntilAllAreOffline) {
  Client a = connect("a", false, 3600);
  Client b = connect("b", false, 3600);
  Client c = connect("c", false, 3600);
  for (Client* m : {&a, &b, &c})
    subscribe(*m, "$share/g/t", opts(1));
  disconnect(c);  // persistent: stays a member, offline
  std::map<std::string, int> count;
  for (int i = 0; i < 4; ++i) {
    publish("t", "m", 1);
    for (Client* m : {&a, &b}) {
      for (const Publish& p : m->take()) {
        ++count[m->id];
        EXPECT_EQ(m->session->on_puback(p.packet_id), AckResult::kDone);
      }
    }
  }
  EXPECT_EQ(count["a"], 2);
  EXPECT_EQ(count["b"], 2);
  EXPECT_EQ(c.session->queued_count(), 0u);

  // With every member offline the message is kept by one of them (queued), not dropped.
  disconnect(a);
  disconnect(b);
  publish("t", "for-later", 1);
  EXPECT_EQ(a.session->queued_count() + b.session->queued_count() + c.session->queued_count(), 1u);
  EXPECT_EQ(broker().stats().publish_dropped.load(), 0u);
}

TEST_F(BrokerRoutingTest, UnackedSharedMessageGoesToAnotherMemberWhenItsClientLeaves) {
  Client a = connect("a");
  Client b = connect("b");
  subscribe(a, "$share/g/t", opts(1));
  subscribe(b, "$share/g/t", opts(1));
  publish("t", "job", 1);
  Client* first = a.sink->frame_count() > 0 ? &a : &b;
  Client* second = first == &a ? &b : &a;
  ASSERT_EQ(first->take().size(), 1u);  // in flight, never acknowledged
  disconnect(*first);
  auto pubs = second->take();
  ASSERT_EQ(pubs.size(), 1u);
  EXPECT_EQ(pubs[0].payload.as_string_view(), "job");
  EXPECT_EQ(pubs[0].qos, 1);
}

// BUG (broker.cpp close_session + redistribute): when the client of a persistent session (expiry >
// 0) goes away, its unacknowledged shared-subscription messages are taken out of the session
// (take_shared_unacked) and, if no other member of the group is online, dropped
// (publish_dropped++). A QoS 1 message already acknowledged to its publisher is lost although the
// session survives and the client resends on reconnect would deliver it (MQTT 5 §4.8.2 allows
// waiting for the client; it only suggests another member when the *session* ends).
TEST_F(BrokerRoutingTest, UnackedSharedMessageIsKeptWhenNoOtherMemberIsOnline) {
  Client a = connect("a", false, 3600);
  subscribe(a, "$share/g/t", opts(1));
  publish("t", "job", 1);
  ASSERT_EQ(a.take().size(), 1u);
  disconnect(a);
  EXPECT_EQ(broker().stats().publish_dropped.load(), 0u);
  Client again = connect("a", false, 3600);
  auto pubs = again.take();
  ASSERT_EQ(pubs.size(), 1u);
  EXPECT_EQ(pubs[0].payload.as_string_view(), "job");
}

// ---- retained messages ----

TEST_F(BrokerRoutingTest, RetainedMessagesAreSetReplacedAndCleared) {
  Client live = connect("live");
  subscribe(live, "r/#", opts(1));
  publish("r/1", "v1", 1, true);
  publish("r/1", "v2", 1, true);
  EXPECT_EQ(broker().retained_count(), 1u);
  live.take();

  Client late = connect("late");
  subscribe(late, "r/#", opts(1));
  EXPECT_EQ(late.payloads(), std::vector<std::string>{"v2"});

  // An empty retained message clears the topic and is still delivered as a normal message to
  // current subscribers (MQTT-3.3.1-6; RETAIN 0 here since the subscription has no RAP).
  publish("r/1", "", 1, true);
  EXPECT_EQ(broker().retained_count(), 0u);
  auto pubs = live.take();
  ASSERT_EQ(pubs.size(), 1u);
  EXPECT_EQ(pubs[0].payload.size(), 0u);
  EXPECT_FALSE(pubs[0].retain);

  Client later = connect("later");
  subscribe(later, "r/#", opts(1));
  EXPECT_TRUE(later.take().empty());
}

TEST_F(BrokerRoutingTest, NonRetainedPublishDoesNotTouchTheRetainedStore) {
  publish("r", "kept", 0, true);
  publish("r", "transient", 0, false);
  Client c = connect("c");
  subscribe(c, "r", opts(0));
  EXPECT_EQ(c.payloads(), std::vector<std::string>{"kept"});
}

TEST_F(BrokerRoutingTest, RetainNotAvailableStoresNothing) {
  config_.retain_available = false;
  publish("r", "v", 0, true);
  EXPECT_EQ(broker().retained_count(), 0u);
}

// ---- SUBSCRIBE / UNSUBSCRIBE ----

TEST_F(BrokerRoutingTest, SubscribeRejectsBadFiltersAndNoLocalOnSharedSubscriptions) {
  Client c = connect("c");
  EXPECT_EQ(subscribe(c, "a/#/b", opts(0)),
            std::vector<ReasonCode>{ReasonCode::kTopicFilterInvalid});
  EXPECT_EQ(subscribe(c, "a+", opts(0)), std::vector<ReasonCode>{ReasonCode::kTopicFilterInvalid});
  // MQTT-3.8.3-4: No Local on a shared subscription is a Protocol Error.
  EXPECT_EQ(subscribe(c, "$share/g/t", opts(1, /*no_local=*/true)),
            std::vector<ReasonCode>{ReasonCode::kProtocolError});
  EXPECT_EQ(subscribe(c, "$share/g/t", opts(1)), std::vector<ReasonCode>{ReasonCode::kGrantedQos1});
  EXPECT_EQ(broker().subscription_count(), 1u);
}

TEST_F(BrokerRoutingTest, SubscribeLimitsTopicLevels) {
  config_.max_topic_levels = 3;
  Client c = connect("c");
  EXPECT_EQ(subscribe(c, "a/b/c", opts(0)), std::vector<ReasonCode>{ReasonCode::kGrantedQos0});
  EXPECT_NE(subscribe(c, "a/b/c/d", opts(0)), std::vector<ReasonCode>{ReasonCode::kGrantedQos0});
}

TEST_F(BrokerRoutingTest, ResubscribeReplacesOptionsAndUnsubscribeRemoves) {
  Client c = connect("c");
  subscribe(c, "t", opts(0));
  subscribe(c, "t", opts(2));  // same filter: replaced, not added (MQTT-3.8.4-3)
  EXPECT_EQ(broker().subscription_count(), 1u);
  publish("t", "x", 2);
  auto pubs = c.take();
  ASSERT_EQ(pubs.size(), 1u);
  EXPECT_EQ(pubs[0].qos, 2);
  EXPECT_EQ(c.session->on_pubrec(pubs[0].packet_id, ReasonCode::kSuccess), AckResult::kDone);

  auto codes = broker().unsubscribe(*c.session, {"t", "never"});
  EXPECT_EQ(codes,
            (std::vector<ReasonCode>{ReasonCode::kSuccess, ReasonCode::kNoSubscriptionExisted}));
  EXPECT_EQ(broker().subscription_count(), 0u);
  c.sink->clear();  // the PUBREL
  EXPECT_EQ(c.session->on_pubcomp(pubs[0].packet_id), AckResult::kDone);
  publish("t", "y", 2);
  EXPECT_EQ(c.sink->frame_count(), 0u);
}

// ---- read ACL ----

// The real AccessControl (AuthAccess over an mqtt/auth ACL file): every delivery is checked
// against the subscriber's read rights, not only the subscription filter.
class BrokerAclTest : public BrokerRoutingTest {
 protected:
  void SetUp() override {
    const std::string path = dir_.sub("acl");
    std::ofstream(path) << "pattern read public/#\npattern read %u/#\n";
    auth::AuthConfig cfg;
    cfg.allow_anonymous = true;
    cfg.acl_file = path;
    auto a = auth::Authenticator::create(cfg, {}, clock_);
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    access_ = std::make_unique<AuthAccess>(std::move(*a));
    ASSERT_TRUE(access_->checks_receive());
    broker().set_access(access_.get());
  }

  store::testing::TempDir dir_;
  std::unique_ptr<AuthAccess> access_;
};

TEST_F(BrokerAclTest, DeliveriesFollowTheSubscribersReadRights) {
  Client alice = connect("c-alice", true, 0, Version::kV5, "alice");
  Client bob = connect("c-bob", true, 0, Version::kV5, "bob");
  Client anon = connect("c-anon");
  for (Client* c : {&alice, &bob, &anon})
    subscribe(*c, "#", opts(1));
  publish("public/news", "p", 1);
  publish("alice/inbox", "a", 1);
  publish("bob/inbox", "b", 1);
  EXPECT_EQ(alice.payloads(), (std::vector<std::string>{"p", "a"}));
  EXPECT_EQ(bob.payloads(), (std::vector<std::string>{"p", "b"}));
  EXPECT_EQ(anon.payloads(), std::vector<std::string>{"p"});
}

// BUG (broker.cpp collect_locked, read ACL): the shared group picks its member round-robin first
// and the read ACL is applied afterwards (erase_if on outs), so when the picked member may not read
// the topic the message is dropped, although another member of the group may read it, and the drop
// is not counted in any statistic. Here every second message to alice/inbox is lost. Expected: the
// ACL is part of next_member's availability test (or the next readable member is tried).
TEST_F(BrokerAclTest, SharedGroupMessageGoesToAMemberThatMayReadIt) {
  Client alice = connect("c-alice", true, 0, Version::kV5, "alice");
  Client bob = connect("c-bob", true, 0, Version::kV5, "bob");
  subscribe(alice, "$share/g/#", opts(1));
  subscribe(bob, "$share/g/#", opts(1));
  for (int i = 0; i < 4; ++i)
    publish("alice/inbox", std::to_string(i), 1);
  EXPECT_TRUE(bob.take().empty());
  EXPECT_EQ(alice.payloads(), (std::vector<std::string>{"0", "1", "2", "3"}));
}

}  // namespace
}  // namespace imet::mqtt::broker::test
