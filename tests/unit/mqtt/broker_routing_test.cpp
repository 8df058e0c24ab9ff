// Unit tests of broker::Broker routing (src/mqtt/broker/broker.h) without sockets: clients are
// sessions opened with Broker::open_session on RecordingSinks, as a Connection would, and the
// tests decode what each sink received (Sender::kServer). Covers the merge of overlapping
// subscriptions, subscription options (no-local, retain-as-published, retain handling), the '$'
// topic rule, shared subscriptions (round-robin, offline members, redistribution), clean start and
// session present, session expiry and delayed wills through housekeeping() on a ManualClock,
// retained messages, $SYS, tier_for and SUBSCRIBE/UNSUBSCRIBE reason codes.
// Thread-safety: single-threaded tests (no io_context: housekeeping() is called directly).
// Invariants: expected values come from MQTT 3.1.1 / 5.0, SPEC.md section 4 and the documented
// broker contract, never from the implementation's own output.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../store/temp_dir.h"
#include "mqtt/auth/authenticator.h"
#include "mqtt/broker/auth_access.h"
#include "mqtt/broker/broker.h"
#include "mqtt/codec/decoder.h"

namespace imet::mqtt::broker {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

// A PacketSink that records every packet and kick (as in broker_session_test.cpp).
class RecordingSink final : public PacketSink {
 public:
  size_t pending_bytes() const override { return 0; }
  void send(util::ByteSpan head, util::ByteSpan tail) override {
    std::lock_guard lock(mu_);
    util::Bytes frame(head.size() + tail.size());
    std::copy(head.begin(), head.end(), frame.begin());
    std::copy(tail.begin(), tail.end(), frame.begin() + static_cast<std::ptrdiff_t>(head.size()));
    frames_.push_back(std::move(frame));
  }
  void kick(ReasonCode reason) override {
    std::lock_guard lock(mu_);
    kicks_.push_back(reason);
  }
  std::vector<ReasonCode> kicks() const {
    std::lock_guard lock(mu_);
    return kicks_;
  }
  size_t frame_count() const {
    std::lock_guard lock(mu_);
    return frames_.size();
  }
  void clear() {
    std::lock_guard lock(mu_);
    frames_.clear();
  }
  // Decodes and removes every recorded packet; each must be a valid PUBLISH.
  std::vector<Publish> take(Version version = Version::kV5) {
    std::vector<util::Bytes> frames;
    {
      std::lock_guard lock(mu_);
      frames.swap(frames_);
    }
    std::vector<Publish> out;
    for (const util::Bytes& f : frames) {
      DecodeOptions opts;
      opts.version = version;
      opts.sender = Sender::kServer;
      auto p = decode_packet(f, opts);
      EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
      if (!p.ok()) continue;
      EXPECT_TRUE(std::holds_alternative<Publish>(*p)) << "packet type " << p->index() + 1;
      if (auto* pub = std::get_if<Publish>(&*p)) out.push_back(std::move(*pub));
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<util::Bytes> frames_;
  std::vector<ReasonCode> kicks_;
};

struct Client {
  std::string id;
  std::shared_ptr<Session> session;
  std::shared_ptr<RecordingSink> sink;
  bool session_present = false;
  size_t frames_when_opened = 0;  // packets the sink had when on_opened ran
  Version version = Version::kV5;

  std::vector<Publish> take() { return sink->take(version); }
  std::vector<std::string> payloads() {
    std::vector<std::string> out;
    for (const Publish& p : take())
      out.emplace_back(p.payload.as_string_view());
    return out;
  }
};

SubscriptionOptions opts(uint8_t qos, bool no_local = false, bool rap = false,
                         RetainHandling rh = RetainHandling::kSendOnSubscribe) {
  SubscriptionOptions o;
  o.qos = qos;
  o.no_local = no_local;
  o.retain_as_published = rap;
  o.retain_handling = rh;
  return o;
}

class BrokerRoutingTest : public ::testing::Test {
 protected:
  BrokerRoutingTest() : clock_(kT0) { config_.sys_interval = std::chrono::seconds(0); }

  Broker& broker() {
    if (!broker_) broker_ = std::make_unique<Broker>(config_, clock_);
    return *broker_;
  }

  Client connect(const std::string& id, bool clean_start = true, uint32_t expiry = 0,
                 Version version = Version::kV5,
                 std::optional<std::string> username = std::nullopt) {
    Client c;
    c.id = id;
    c.version = version;
    c.sink = std::make_shared<RecordingSink>();
    LinkParams link;
    link.version = version;
    auto opened = broker().open_session(
        id, clean_start, expiry, c.sink, link,
        [&](bool present) {
          c.frames_when_opened = c.sink->frame_count();
          c.session_present = present;
        },
        std::move(username));
    EXPECT_EQ(opened.session_present, c.session_present);
    c.session = opened.session;
    return c;
  }
  void disconnect(Client& c, MessagePtr will = nullptr, uint32_t will_delay = 0) {
    broker().close_session(c.session, c.sink.get(), std::move(will), will_delay);
  }
  // SUBSCRIBE as Connection::handle_subscribe does it: retained messages follow the SUBACK.
  std::vector<ReasonCode> subscribe(Client& c, const std::string& filter, SubscriptionOptions o,
                                    uint32_t sub_id = 0) {
    std::vector<Broker::Retained> retained;
    auto codes =
        broker().subscribe(*c.session, {Subscription{filter, o}}, sub_id, c.version, retained);
    for (auto& r : retained)
      c.session->deliver(r.message, std::move(r.delivery));
    return codes;
  }
  MessagePtr message(const std::string& topic, const std::string& payload, uint8_t qos = 0,
                     bool retain = false, const std::string& origin = "publisher") {
    auto m = std::make_shared<Message>();
    m->topic = topic;
    m->payload = SharedBytes::copy_of(std::string_view(payload));
    m->qos = qos;
    m->retain = retain;
    m->created_ms = clock_.now_unix_ms();
    m->origin_client = origin;
    return m;
  }
  void publish(const std::string& topic, const std::string& payload, uint8_t qos = 0,
               bool retain = false, const std::string& origin = "publisher") {
    broker().publish(message(topic, payload, qos, retain, origin));
  }

  BrokerConfig config_;
  util::ManualClock clock_;
  std::unique_ptr<Broker> broker_;
};

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
        EXPECT_TRUE(m->session->on_puback(p.packet_id));
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

// ---- sessions ----

TEST_F(BrokerRoutingTest, SessionIsResumedWithSessionPresentAndItsQueue) {
  Client c = connect("c", false, 3600);
  EXPECT_FALSE(c.session_present);
  subscribe(c, "t", opts(1));
  disconnect(c);
  EXPECT_EQ(broker().session_count(), 1u);
  publish("t", "while-away", 1);
  EXPECT_EQ(c.session->queued_count(), 1u);

  Client again = connect("c", false, 3600);
  EXPECT_TRUE(again.session_present);
  EXPECT_EQ(again.session, c.session);
  // The CONNACK (on_opened) comes before any queued PUBLISH is written.
  EXPECT_EQ(again.frames_when_opened, 0u);
  EXPECT_EQ(again.payloads(), std::vector<std::string>{"while-away"});
  publish("t", "live", 1);
  EXPECT_EQ(again.payloads(), std::vector<std::string>{"live"});
}

TEST_F(BrokerRoutingTest, CleanStartDiscardsTheSession) {
  Client c = connect("c", false, 3600);
  subscribe(c, "t", opts(1));
  disconnect(c);
  publish("t", "old", 1);

  Client fresh = connect("c", /*clean_start=*/true, 3600);
  EXPECT_FALSE(fresh.session_present);
  EXPECT_NE(fresh.session, c.session);
  EXPECT_EQ(broker().session_count(), 1u);
  EXPECT_EQ(broker().subscription_count(), 0u);
  EXPECT_TRUE(fresh.take().empty());  // the queued message went with the old session
  publish("t", "new", 1);
  EXPECT_TRUE(fresh.take().empty());  // and so did the subscription
}

TEST_F(BrokerRoutingTest, TakeoverKicksTheOldConnectionWithSessionTakenOver) {
  Client c = connect("c", false, 3600);
  Client again = connect("c", false, 3600);
  EXPECT_EQ(c.sink->kicks(), std::vector<ReasonCode>{ReasonCode::kSessionTakenOver});
  EXPECT_TRUE(again.session_present);
  EXPECT_EQ(again.session, c.session);
  // The old connection closing late must not detach the new one.
  disconnect(c);
  EXPECT_TRUE(again.session->online());

  Client third = connect("c", /*clean_start=*/true, 3600);
  EXPECT_EQ(again.sink->kicks(), std::vector<ReasonCode>{ReasonCode::kSessionTakenOver});
  EXPECT_FALSE(third.session_present);
  EXPECT_NE(third.session, again.session);
}

TEST_F(BrokerRoutingTest, SessionWithExpiryZeroEndsWithItsConnection) {
  Client c = connect("c", false, 0);
  subscribe(c, "t", opts(1));
  EXPECT_EQ(broker().subscription_count(), 1u);
  disconnect(c);
  EXPECT_EQ(broker().session_count(), 0u);
  EXPECT_EQ(broker().subscription_count(), 0u);

  // MQTT-3.1.2-6: a session with expiry 0 is not resumed even while its connection is open.
  Client d = connect("d", false, 0);
  Client d2 = connect("d", false, 0);
  EXPECT_FALSE(d2.session_present);
  EXPECT_NE(d2.session, d.session);
}

TEST_F(BrokerRoutingTest, HousekeepingExpiresOfflineSessions) {
  Client c = connect("c", false, 10);
  subscribe(c, "t", opts(1));
  Client forever = connect("forever", false, 0xFFFFFFFF);
  disconnect(c);
  disconnect(forever);
  ASSERT_TRUE(clock_.advance_ms(9'999));
  broker().housekeeping();
  EXPECT_EQ(broker().session_count(), 2u);
  ASSERT_TRUE(clock_.advance_ms(1));
  broker().housekeeping();
  EXPECT_EQ(broker().session_count(), 1u);
  EXPECT_EQ(broker().subscription_count(), 0u);
  // 0xFFFFFFFF means the session does not expire (MQTT 5 §3.1.2.11.2).
  ASSERT_TRUE(clock_.advance_ms(int64_t{20} * 365 * 24 * 3600 * 1000));
  broker().housekeeping();
  EXPECT_EQ(broker().session_count(), 1u);
  Client back = connect("c", false, 10);
  EXPECT_FALSE(back.session_present);
}

TEST_F(BrokerRoutingTest, OnlineSessionsDoNotExpire) {
  Client c = connect("c", false, 1);
  ASSERT_TRUE(clock_.advance_ms(60'000));
  broker().housekeeping();
  EXPECT_EQ(broker().session_count(), 1u);
  EXPECT_TRUE(c.session->online());
}

// ---- wills ----

TEST_F(BrokerRoutingTest, WillWithoutDelayIsPublishedAtOnce) {
  Client watcher = connect("watcher");
  subscribe(watcher, "will/#", opts(1));
  Client c = connect("c", false, 60);
  disconnect(c, message("will/c", "gone", 1, false, "c"), 0);
  EXPECT_EQ(watcher.payloads(), std::vector<std::string>{"gone"});
}

TEST_F(BrokerRoutingTest, DelayedWillIsPublishedAfterTheDelay) {
  Client watcher = connect("watcher");
  subscribe(watcher, "will/#", opts(1));
  Client c = connect("c", false, 60);
  disconnect(c, message("will/c", "gone", 1, false, "c"), 5);
  EXPECT_TRUE(watcher.take().empty());
  ASSERT_TRUE(clock_.advance_ms(4'999));
  broker().housekeeping();
  EXPECT_TRUE(watcher.take().empty());
  ASSERT_TRUE(clock_.advance_ms(1));
  broker().housekeeping();
  EXPECT_EQ(watcher.payloads(), std::vector<std::string>{"gone"});
  ASSERT_TRUE(clock_.advance_ms(10'000));
  broker().housekeeping();
  EXPECT_TRUE(watcher.take().empty());  // once only
}

TEST_F(BrokerRoutingTest, ReconnectBeforeTheDelayCancelsTheWill) {
  Client watcher = connect("watcher");
  subscribe(watcher, "will/#", opts(1));
  Client c = connect("c", false, 60);
  disconnect(c, message("will/c", "gone", 1, false, "c"), 5);
  ASSERT_TRUE(clock_.advance_ms(3'000));
  Client back = connect("c", false, 60);
  ASSERT_TRUE(clock_.advance_ms(10'000));
  broker().housekeeping();
  EXPECT_TRUE(watcher.take().empty());  // MQTT-3.1.3-9
}

TEST_F(BrokerRoutingTest, WillDelayIsCappedBySessionExpiry) {
  Client watcher = connect("watcher");
  subscribe(watcher, "will/#", opts(1));
  Client c = connect("c", false, 3);
  disconnect(c, message("will/c", "gone", 1, false, "c"), 10);
  ASSERT_TRUE(clock_.advance_ms(2'999));
  broker().housekeeping();
  EXPECT_TRUE(watcher.take().empty());
  ASSERT_TRUE(clock_.advance_ms(1));
  broker().housekeeping();
  // The session ended at 3 s: its will goes then (MQTT 5 §3.1.3.2.2), exactly once.
  EXPECT_EQ(watcher.payloads(), std::vector<std::string>{"gone"});
  EXPECT_EQ(broker().session_count(), 1u);  // only the watcher
}

TEST_F(BrokerRoutingTest, TakenOverConnectionsDelayedWillIsCancelled) {
  Client watcher = connect("watcher");
  subscribe(watcher, "will/#", opts(1));
  Client c = connect("c", false, 60);
  Client again = connect("c", false, 60);  // takes over; the old connection closes late
  disconnect(c, message("will/c", "delayed", 1, false, "c"), 5);
  ASSERT_TRUE(clock_.advance_ms(10'000));
  broker().housekeeping();
  EXPECT_TRUE(watcher.take().empty());
  // Without a delay the will of the taken-over connection is published (MQTT-3.1.4-3).
  disconnect(c, message("will/c", "now", 1, false, "c"), 0);
  EXPECT_EQ(watcher.payloads(), std::vector<std::string>{"now"});
  EXPECT_TRUE(again.session->online());
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

// ---- $SYS ----

TEST_F(BrokerRoutingTest, HousekeepingPublishesSysTopicsEveryInterval) {
  config_.sys_interval = std::chrono::seconds(10);
  config_.version = "imetd-test";
  Client all = connect("all");
  Client sys = connect("sys");
  subscribe(all, "#", opts(0));
  subscribe(sys, "$SYS/broker/#", opts(0));
  broker().housekeeping();
  EXPECT_TRUE(all.take().empty());
  std::map<std::string, std::string> values;
  for (const Publish& p : sys.take())
    values[p.topic] = std::string(p.payload.as_string_view());
  EXPECT_EQ(values["$SYS/broker/version"], "imetd-test");
  EXPECT_EQ(values["$SYS/broker/clients/total"], "2");
  EXPECT_EQ(values["$SYS/broker/subscriptions/count"], "2");
  EXPECT_TRUE(values.count("$SYS/broker/uptime"));

  ASSERT_TRUE(clock_.advance_ms(9'999));
  broker().housekeeping();
  EXPECT_TRUE(sys.take().empty());
  ASSERT_TRUE(clock_.advance_ms(1));
  broker().housekeeping();
  EXPECT_FALSE(sys.take().empty());

  // They are retained: a late subscriber gets the current values at once.
  Client late = connect("late");
  subscribe(late, "$SYS/broker/version", opts(0));
  EXPECT_EQ(late.payloads(), std::vector<std::string>{"imetd-test"});
}

TEST_F(BrokerRoutingTest, NoSysTopicsWhenTheIntervalIsZero) {
  Client sys = connect("sys");
  subscribe(sys, "$SYS/#", opts(0));
  broker().housekeeping();
  EXPECT_TRUE(sys.take().empty());
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
  EXPECT_TRUE(c.session->on_pubrec(pubs[0].packet_id, ReasonCode::kSuccess));

  auto codes = broker().unsubscribe(*c.session, {"t", "never"});
  EXPECT_EQ(codes,
            (std::vector<ReasonCode>{ReasonCode::kSuccess, ReasonCode::kNoSubscriptionExisted}));
  EXPECT_EQ(broker().subscription_count(), 0u);
  c.sink->clear();  // the PUBREL
  EXPECT_TRUE(c.session->on_pubcomp(pubs[0].packet_id));
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

// ---- tiers ----

TEST_F(BrokerRoutingTest, TierForUsesUserPropertyThenFirstRuleThenDefault) {
  config_.default_tier = 2;
  config_.tier_rules = {{"sensors/#", 3}, {"sensors/alarm/#", 1}, {"alerts/+", 1}};
  Properties none;
  EXPECT_EQ(broker().tier_for("sensors/alarm/fire", none), 3);  // first matching rule wins
  EXPECT_EQ(broker().tier_for("sensors/t", none), 3);
  EXPECT_EQ(broker().tier_for("alerts/fire", none), 1);
  EXPECT_EQ(broker().tier_for("alerts/fire/x", none), 2);
  EXPECT_EQ(broker().tier_for("other", none), 2);

  // SPEC 4: the imet-tier user property overrides the rules.
  for (const auto& [value, tier] :
       std::vector<std::pair<std::string, uint8_t>>{{"1", 1}, {"2", 2}, {"3", 3}}) {
    Properties p;
    ASSERT_TRUE(p.user_properties.add("other", "x"));
    ASSERT_TRUE(p.user_properties.add("imet-tier", value));
    EXPECT_EQ(broker().tier_for("sensors/t", p), tier) << value;
  }
  for (const char* bad : {"0", "4", "", "01", "1 ", "one"}) {
    Properties p;
    ASSERT_TRUE(p.user_properties.add("imet-tier", bad));
    EXPECT_EQ(broker().tier_for("sensors/t", p), std::nullopt) << "'" << bad << "'";
  }
  Properties twice;  // the first imet-tier counts
  ASSERT_TRUE(twice.user_properties.add("imet-tier", "1"));
  ASSERT_TRUE(twice.user_properties.add("imet-tier", "9"));
  EXPECT_EQ(broker().tier_for("x", twice), 1);
}

// ---- admission ----

TEST_F(BrokerRoutingTest, AdmissionLimitsConnectionsPerBrokerAndPerIp) {
  config_.max_connections = 3;
  config_.max_connections_per_ip = 2;
  EXPECT_TRUE(broker().admit("10.0.0.1"));
  EXPECT_TRUE(broker().admit("10.0.0.1"));
  EXPECT_FALSE(broker().admit("10.0.0.1"));
  EXPECT_TRUE(broker().admit("10.0.0.2"));
  EXPECT_FALSE(broker().admit("10.0.0.3"));  // global limit
  EXPECT_EQ(broker().stats().connections_refused.load(), 2u);
  broker().release("10.0.0.1");
  EXPECT_TRUE(broker().admit("10.0.0.3"));
  EXPECT_EQ(broker().stats().connections_total.load(), 4u);
}

}  // namespace
}  // namespace imet::mqtt::broker
