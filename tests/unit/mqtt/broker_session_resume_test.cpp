// Unit tests of broker::Session (src/mqtt/broker/session.h), part 2: re-attach and resends,
// message expiry (ManualClock), the client's maximum packet size, outgoing topic aliases,
// incoming QoS 2 ids, take_shared_unacked, restore() and the 3.1.1 encodings. Part 1:
// broker_session_test.cpp.
// Thread-safety: single-threaded tests. Invariants: expected values come from MQTT 3.1.1 / 5.0 and
// the session's documented contract, never from the implementation's own output.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker_session_fixture.h"

namespace imet::mqtt::broker::test {
namespace {

// ---- re-attach ----

TEST_F(SessionTest, ReattachResendsInFlightWithDupAndPubrelForPubrecReceived) {
  config_.max_inflight = 3;
  auto s = make_session(/*expiry=*/60);
  auto sink = attach(*s);
  s->deliver(make_message("t", "q1"), delivery(1));
  s->deliver(make_message("t", "q2-sent", 2), delivery(2));
  s->deliver(make_message("t", "q2-recd", 2), delivery(2));
  s->deliver(make_message("t", "queued"), delivery(1));
  auto first = sink->take_publishes();
  ASSERT_EQ(first.size(), 3u);
  ASSERT_EQ(s->on_pubrec(first[2].packet_id, ReasonCode::kSuccess), AckResult::kDone);
  sink->take();  // the PUBREL

  s->kick(ReasonCode::kNormalDisconnection);
  EXPECT_EQ(sink->kicks(), (std::vector<ReasonCode>{ReasonCode::kNormalDisconnection}));
  EXPECT_FALSE(s->online());
  EXPECT_EQ(s->disconnected_at_ms(), kT0);

  auto sink2 = attach(*s);
  EXPECT_TRUE(s->online());
  EXPECT_EQ(s->disconnected_at_ms(), 0);
  auto resent = sink2->take();
  // MQTT-4.4.0-1: unacknowledged PUBLISH packets again with their original ids (DUP set) and
  // PUBREL for the flow whose PUBREC arrived, in the original order; no new message jumps ahead.
  ASSERT_EQ(resent.size(), 3u);
  ASSERT_TRUE(std::holds_alternative<Publish>(resent[0]));
  ASSERT_TRUE(std::holds_alternative<Publish>(resent[1]));
  ASSERT_TRUE(std::holds_alternative<Pubrel>(resent[2]));
  const auto& p0 = std::get<Publish>(resent[0]);
  const auto& p1 = std::get<Publish>(resent[1]);
  EXPECT_TRUE(p0.dup);
  EXPECT_EQ(p0.packet_id, first[0].packet_id);
  EXPECT_EQ(p0.qos, 1);
  EXPECT_EQ(p0.payload.as_string_view(), "q1");
  EXPECT_TRUE(p1.dup);
  EXPECT_EQ(p1.packet_id, first[1].packet_id);
  EXPECT_EQ(p1.qos, 2);
  EXPECT_EQ(std::get<Pubrel>(resent[2]).packet_id, first[2].packet_id);
  EXPECT_EQ(s->queued_count(), 1u);  // the quota is still full

  ASSERT_EQ(s->on_puback(first[0].packet_id), AckResult::kDone);
  auto next = sink2->take_publishes();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].payload.as_string_view(), "queued");
  EXPECT_FALSE(next[0].dup);
  ASSERT_EQ(s->on_pubcomp(first[2].packet_id), AckResult::kDone);
}

TEST_F(SessionTest, ReattachSendsTheOfflineQueueAfterTheResends) {
  auto s = make_session(/*expiry=*/60);
  auto sink = attach(*s);
  s->deliver(make_message("t", "in-flight"), delivery(1));
  sink->take();
  s->detach(sink.get());
  EXPECT_TRUE(sink->kicks().empty());  // detach does not kick
  EXPECT_FALSE(s->online());
  s->deliver(make_message("t", "while-away"), delivery(1));
  EXPECT_EQ(s->queued_count(), 1u);
  auto sink2 = attach(*s);
  auto pubs = sink2->take_publishes();
  EXPECT_EQ(payloads_of(pubs), (std::vector<std::string>{"in-flight", "while-away"}));
  ASSERT_EQ(pubs.size(), 2u);
  EXPECT_TRUE(pubs[0].dup);
  EXPECT_FALSE(pubs[1].dup);
}

TEST_F(SessionTest, AttachingASecondSinkKicksTheFirstWithSessionTakenOver) {
  auto s = make_session(/*expiry=*/60);
  auto sink = attach(*s);
  auto sink2 = attach(*s);
  EXPECT_EQ(sink->kicks(), (std::vector<ReasonCode>{ReasonCode::kSessionTakenOver}));
  EXPECT_TRUE(s->attached_to(sink2.get()));
  EXPECT_FALSE(s->attached_to(sink.get()));
  s->detach(sink.get());  // a late detach of the old connection changes nothing
  EXPECT_TRUE(s->online());
  s->deliver(make_message("t", "x", 0), delivery(0));
  EXPECT_EQ(sink->frame_count(), 0u);
  EXPECT_EQ(sink2->frame_count(), 1u);
}

// ---- message expiry ----

TEST_F(SessionTest, QueuedMessageExpiresAndIsCounted) {
  auto s = make_session(/*expiry=*/600);
  auto m = std::make_shared<Message>(*make_message("t", "short-lived"));
  m->expiry_at_ms = kT0 + 5'000;
  s->deliver(m, delivery(1));
  s->deliver(make_message("t", "forever"), delivery(1));
  ASSERT_TRUE(clock_.advance_ms(5'000));  // expiry reached exactly
  auto sink = attach(*s);
  EXPECT_EQ(payloads_of(sink->take_publishes()), (std::vector<std::string>{"forever"}));
  EXPECT_EQ(stats_.expired.load(), 1u);
  EXPECT_EQ(s->queued_count(), 0u);
  EXPECT_EQ(s->inflight_count(), 1u);
}

TEST_F(SessionTest, MessageExpiryIntervalIsTheTimeLeftRoundedUp) {
  auto s = make_session(/*expiry=*/600);
  auto m = std::make_shared<Message>(*make_message("t", "x"));
  m->expiry_at_ms = kT0 + 10'000;
  s->deliver(m, delivery(1));
  ASSERT_TRUE(clock_.advance_ms(2'500));  // 7.5 s left
  auto sink = attach(*s);
  auto pubs = sink->take_publishes();
  ASSERT_EQ(pubs.size(), 1u);
  // MQTT-3.3.2-6: the interval sent is the received one minus the time spent waiting.
  EXPECT_EQ(pubs[0].properties.message_expiry_interval, 8u);
}

// Documented in session.h (write_publish_locked): an expired message is dropped instead of sent,
// also when it was in flight and is due for a resend at re-attach.
TEST_F(SessionTest, ExpiredInFlightMessageIsDroppedAtReattach) {
  auto s = make_session(/*expiry=*/600);
  auto sink = attach(*s);
  auto m = std::make_shared<Message>(*make_message("t", "x"));
  m->expiry_at_ms = kT0 + 1'000;
  s->deliver(m, delivery(1));
  ASSERT_EQ(sink->take_publishes().size(), 1u);
  s->kick(ReasonCode::kNormalDisconnection);
  ASSERT_TRUE(clock_.advance_ms(2'000));
  auto sink2 = attach(*s);
  EXPECT_EQ(sink2->frame_count(), 0u);
  EXPECT_EQ(s->inflight_count(), 0u);
  EXPECT_EQ(stats_.expired.load(), 1u);
}

// ---- client maximum packet size ----

TEST_F(SessionTest, MessageTooLargeForTheClientIsSkipped) {
  auto s = make_session();
  auto sink = attach(*s, link(65535, 0, /*max_packet=*/64));
  s->deliver(make_message("t", std::string(100, 'x')), delivery(1));
  s->deliver(make_message("t", std::string(100, 'y'), 0), delivery(0));
  EXPECT_EQ(sink->frame_count(), 0u);
  EXPECT_EQ(s->inflight_count(), 0u);  // MQTT-3.1.2-25: discarded, not kept in flight
  EXPECT_EQ(stats_.publish_dropped.load(), 2u);

  s->deliver(make_message("t", "small"), delivery(1));
  auto pubs = sink->take_publishes();
  ASSERT_EQ(pubs.size(), 1u);
  EXPECT_EQ(pubs[0].payload.as_string_view(), "small");
}

TEST_F(SessionTest, QueuedMessageTooLargeIsSkippedAndTheQueueGoesOn) {
  auto s = make_session(/*expiry=*/60);
  s->deliver(make_message("t", std::string(100, 'x')), delivery(1));
  s->deliver(make_message("t", "fits"), delivery(1));
  auto sink = attach(*s, link(65535, 0, /*max_packet=*/64));
  EXPECT_EQ(payloads_of(sink->take_publishes()), (std::vector<std::string>{"fits"}));
  EXPECT_EQ(s->queued_count(), 0u);
  EXPECT_EQ(s->inflight_count(), 1u);
  EXPECT_EQ(stats_.publish_dropped.load(), 1u);
}

// ---- outgoing topic aliases ----

TEST_F(SessionTest, TopicAliasesAreAssignedReusedAndLimited) {
  auto s = make_session(/*expiry=*/60);
  auto sink = attach(*s, link(65535, /*alias_max=*/2));
  for (const char* topic : {"a", "a", "b", "c", "b", "a"})
    s->deliver(make_message(topic, topic, 0), delivery(0));
  auto pubs = sink->take_publishes();
  ASSERT_EQ(pubs.size(), 6u);
  // First use: topic and a new alias; later uses: the alias alone (empty topic).
  EXPECT_EQ(pubs[0].topic, "a");
  EXPECT_EQ(pubs[0].properties.topic_alias, 1);
  EXPECT_EQ(pubs[1].topic, "");
  EXPECT_EQ(pubs[1].properties.topic_alias, 1);
  EXPECT_EQ(pubs[2].topic, "b");
  EXPECT_EQ(pubs[2].properties.topic_alias, 2);
  // The client's Topic Alias Maximum (2) is used up: "c" goes without an alias (MQTT-3.3.2-9).
  EXPECT_EQ(pubs[3].topic, "c");
  EXPECT_FALSE(pubs[3].properties.topic_alias.has_value());
  EXPECT_EQ(pubs[4].topic, "");
  EXPECT_EQ(pubs[4].properties.topic_alias, 2);
  EXPECT_EQ(pubs[5].topic, "");
  EXPECT_EQ(pubs[5].properties.topic_alias, 1);
  for (const Publish& p : pubs)
    EXPECT_EQ(p.payload.as_string_view().size(), 1u);

  // Aliases belong to the connection (MQTT-3.3.2-7): a new connection starts over.
  s->kick(ReasonCode::kNormalDisconnection);
  auto sink2 = attach(*s, link(65535, /*alias_max=*/2));
  s->deliver(make_message("b", "b", 0), delivery(0));
  auto again = sink2->take_publishes();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].topic, "b");
  EXPECT_EQ(again[0].properties.topic_alias, 1);
}

TEST_F(SessionTest, NoTopicAliasWhenTheClientAllowsNone) {
  auto s = make_session();
  auto sink = attach(*s, link(65535, /*alias_max=*/0));
  s->deliver(make_message("a", "1", 0), delivery(0));
  s->deliver(make_message("a", "2", 0), delivery(0));
  for (const Publish& p : sink->take_publishes()) {
    EXPECT_EQ(p.topic, "a");
    EXPECT_FALSE(p.properties.topic_alias.has_value());
  }
}

// ---- incoming QoS 2 ----

TEST_F(SessionTest, IncomingQos2BeginAndRelease) {
  auto s = make_session();
  EXPECT_TRUE(s->begin_incoming_qos2(5));
  EXPECT_FALSE(s->begin_incoming_qos2(5));  // retransmission: not routed again
  EXPECT_TRUE(s->begin_incoming_qos2(6));
  EXPECT_EQ(s->incoming_qos2_count(), 2u);
  EXPECT_TRUE(s->release_incoming_qos2(5));
  EXPECT_FALSE(s->release_incoming_qos2(5));  // PUBREL for an unknown id
  EXPECT_EQ(s->incoming_qos2_count(), 1u);
  EXPECT_TRUE(s->begin_incoming_qos2(5));  // the id may be reused after release
  EXPECT_FALSE(s->release_incoming_qos2(9));
}

// ---- shared subscriptions ----

TEST_F(SessionTest, TakeSharedUnackedReturnsUnfinishedSharedMessagesOnly) {
  config_.max_inflight = 2;
  auto s = make_session(/*expiry=*/60);
  auto sink = attach(*s);
  Delivery shared1 = delivery(1);
  shared1.shared_group = "$share/g/t";
  Delivery shared2 = delivery(2);
  shared2.shared_group = "$share/g/t";
  Delivery shared0 = delivery(0);
  shared0.shared_group = "$share/g/t";
  s->deliver(make_message("t", "s2-pubrec", 2), shared2);  // in flight, PUBREC received below
  s->deliver(make_message("t", "s1-inflight"), shared1);   // in flight
  s->deliver(make_message("t", "s1-queued"), shared1);     // queued
  s->deliver(make_message("t", "own"), delivery(1));       // queued, not shared
  s->deliver(make_message("t", "s0", 0), shared0);         // queued QoS 0
  auto first = sink->take_publishes();
  ASSERT_EQ(first.size(), 2u);
  ASSERT_EQ(s->on_pubrec(first[0].packet_id, ReasonCode::kSuccess), AckResult::kDone);

  auto taken = s->take_shared_unacked();
  std::vector<std::string> got;
  for (const auto& [m, d] : taken) {
    got.emplace_back(m->payload.as_string_view());
    EXPECT_EQ(d.shared_group, "$share/g/t");
    EXPECT_EQ(d.qos, 1);
  }
  // The QoS 2 flow past PUBREC must finish here (the client has the message), QoS 0 is best
  // effort, and the non-shared message stays.
  EXPECT_EQ(got, (std::vector<std::string>{"s1-inflight", "s1-queued"}));
  EXPECT_EQ(s->inflight_count(), 1u);
  EXPECT_EQ(s->queued_count(), 2u);
  EXPECT_TRUE(s->take_shared_unacked().empty());
}

// ---- restore ----

TEST_F(SessionTest, RestoreResumesQos2FlowsWithTheirIdsAndQueuesTheRest) {
  StoredSession st;
  st.client_id = "client";
  st.expiry_interval = 300;
  st.disconnected_at_ms = kT0 - 1'000;
  StoredDelivery q1;  // queued, never sent
  q1.qid = 1;
  q1.message = make_message("t", "queued-q1");
  q1.delivery = delivery(1);
  StoredDelivery q2;  // sent, no PUBREC yet: resend with the same id
  q2.qid = 2;
  q2.message = make_message("t", "sent-q2", 2);
  q2.delivery = delivery(2);
  q2.packet_id = 9;
  StoredDelivery rel;  // PUBREC received: only the id is left
  rel.qid = 3;
  rel.delivery = delivery(2);
  rel.packet_id = 10;
  rel.pubrec_received = true;
  st.deliveries = {q1, q2, rel};
  st.incoming_qos2 = {4, 400};

  auto s = make_session();
  s->restore(st);
  EXPECT_EQ(s->expiry_interval(), 300u);
  EXPECT_EQ(s->disconnected_at_ms(), kT0 - 1'000);
  EXPECT_EQ(s->inflight_count(), 2u);
  EXPECT_EQ(s->queued_count(), 1u);
  EXPECT_EQ(s->incoming_qos2_count(), 2u);
  EXPECT_FALSE(s->begin_incoming_qos2(400));  // still awaiting PUBREL

  auto sink = attach(*s);
  auto packets = sink->take();
  ASSERT_EQ(packets.size(), 3u);
  ASSERT_TRUE(std::holds_alternative<Publish>(packets[0]));
  EXPECT_EQ(std::get<Publish>(packets[0]).packet_id, 9);
  EXPECT_TRUE(std::get<Publish>(packets[0]).dup);
  EXPECT_EQ(std::get<Publish>(packets[0]).payload.as_string_view(), "sent-q2");
  ASSERT_TRUE(std::holds_alternative<Pubrel>(packets[1]));
  EXPECT_EQ(std::get<Pubrel>(packets[1]).packet_id, 10);
  ASSERT_TRUE(std::holds_alternative<Publish>(packets[2]));
  const auto& fresh = std::get<Publish>(packets[2]);
  EXPECT_EQ(fresh.payload.as_string_view(), "queued-q1");
  EXPECT_FALSE(fresh.dup);
  EXPECT_NE(fresh.packet_id, 9);
  EXPECT_NE(fresh.packet_id, 10);
  EXPECT_EQ(s->on_pubcomp(10), AckResult::kDone);
  EXPECT_EQ(s->on_pubrec(9, ReasonCode::kSuccess), AckResult::kDone);
}

TEST_F(SessionTest, RestoreWithoutDisconnectTimeUsesNow) {
  StoredSession st;
  st.client_id = "client";
  st.expiry_interval = 10;
  auto s = make_session();
  s->restore(st);
  EXPECT_EQ(s->disconnected_at_ms(), kT0);
}

TEST_F(SessionTest, PersistentNeedsPersistenceAndAnExpiry) {
  auto s = make_session(/*expiry=*/3600);
  EXPECT_FALSE(s->persistent());  // no Persistence given
}

// ---- MQTT 3.1.1 ----

TEST_F(SessionTest, V311PublishCarriesNoPropertiesAndNoAlias) {
  auto s = make_session();
  auto sink = attach(*s, link(65535, /*alias_max=*/5, 0, Version::kV311));
  auto m = std::make_shared<Message>(*make_message("t/x", "payload", 1));
  m->properties.content_type = "text/plain";
  ASSERT_TRUE(m->properties.user_properties.add("k", "v"));
  m->expiry_at_ms = kT0 + 60'000;
  Delivery d = delivery(1);
  d.sub_ids = {7};
  s->deliver(m, d);
  s->deliver(make_message("t/x", "again", 0), delivery(0));
  auto pubs = sink->take_publishes(Version::kV311);
  ASSERT_EQ(pubs.size(), 2u);
  for (const Publish& p : pubs) {
    EXPECT_EQ(p.topic, "t/x");
    EXPECT_TRUE(p.properties.empty());
  }
  EXPECT_EQ(pubs[0].qos, 1);
  EXPECT_EQ(pubs[0].payload.as_string_view(), "payload");
}

TEST_F(SessionTest, V311Qos2FlowAndStrayPubrecUseV311Encodings) {
  auto s = make_session();
  auto sink = attach(*s, link(65535, 0, 0, Version::kV311));
  s->deliver(make_message("t", "x", 2), delivery(2));
  auto pubs = sink->take_publishes(Version::kV311);
  ASSERT_EQ(pubs.size(), 1u);
  ASSERT_EQ(s->on_pubrec(pubs[0].packet_id, ReasonCode::kSuccess), AckResult::kDone);
  EXPECT_EQ(s->on_pubrec(999, ReasonCode::kSuccess), AckResult::kUnknownId);
  // take(kV311) fails the test if either PUBREL is not a valid 3.1.1 packet (exactly 2 bytes of
  // packet id, no reason code).
  auto acks = sink->take(Version::kV311);
  ASSERT_EQ(acks.size(), 2u);
  ASSERT_TRUE(std::holds_alternative<Pubrel>(acks[0]));
  ASSERT_TRUE(std::holds_alternative<Pubrel>(acks[1]));
  EXPECT_EQ(std::get<Pubrel>(acks[0]).packet_id, pubs[0].packet_id);
  EXPECT_EQ(std::get<Pubrel>(acks[1]).packet_id, 999);
  EXPECT_EQ(s->on_pubcomp(pubs[0].packet_id), AckResult::kDone);
}

}  // namespace
}  // namespace imet::mqtt::broker::test
