// ConsensusService's repeats over real sockets (service_fixture.h): a repeated consensus message
// (p2p::RepeatMsg) is relayed once per slot even when the service already has the message, so a
// vote lost on a sparse network still reaches every node; copies of one message under other
// sequence numbers within a slot are not relayed, and a peer flooding them is banned; a repeat
// whose signature does not check is never relayed; an undecodable repeat gets the sender banned.
#include "service_fixture.h"

namespace imet::node {
namespace {

class ServiceRepeatTest : public ServiceFixture {
 protected:
  // A PREPARE of the (absent) witness for height 1.
  util::Bytes prepare(uint8_t fill, bool forge = false) {
    ledger::WitnessVote v;
    v.chain_id = "sv";
    v.type = ledger::VoteType::kPrepare;
    v.height = 1;
    v.attempt = 0;
    v.block_hash.fill(fill);
    v.sign(witness_);
    if (forge) v.signature[5] ^= 1;
    return codec::encode(consensus::ConsensusMessage{v});
  }
  static util::Bytes repeat(uint64_t seq, util::Bytes msg) {
    return codec::encode(p2p::RepeatMsg{seq, std::move(msg)});
  }
  std::chrono::milliseconds slot() const {
    return std::chrono::milliseconds(genesis_.params.slot_ms);
  }
};

TEST_F(ServiceRepeatTest, RepeatsAreRelayedOncePerSequenceAlsoWhenAlreadyKnown) {
  TestPeer& a = new_peer();
  auto host_a = connect(a);
  TestPeer& b = new_peer();
  connect(b);
  const util::Bytes vote = prepare(1);
  host_a->send(*a.service, p2p::kRepeat, repeat(1, vote));
  ASSERT_TRUE(b.wait([&] { return b.received[p2p::kRepeat].size() == 1; })) << "not relayed";
  // The service has the vote now; its signer's repeat a slot later still travels on, once.
  std::this_thread::sleep_for(slot());
  host_a->send(*a.service, p2p::kRepeat, repeat(2, vote));
  host_a->send(*a.service, p2p::kRepeat, repeat(2, vote));
  ASSERT_TRUE(b.wait([&] { return b.received[p2p::kRepeat].size() == 2; })) << "not relayed";
  EXPECT_FALSE(b.wait([&] { return b.received[p2p::kRepeat].size() > 2; }, 1s));
  std::lock_guard lock(b.mu);
  EXPECT_EQ(b.received[p2p::kRepeat][1], repeat(2, vote));
}

TEST_F(ServiceRepeatTest, CopiesOfOneMessageWithinASlotAreRelayedOnce) {
  TestPeer& a = new_peer();
  auto host_a = connect(a);
  TestPeer& b = new_peer();
  connect(b);
  const util::Bytes vote = prepare(4);
  // A few copies under different sequence numbers (as several relays of one signer's repeats may
  // arrive close together): one relay per slot, and no penalty.
  for (uint64_t round = 0; round < 2; ++round) {
    for (uint64_t seq = 1; seq <= 3; ++seq)
      host_a->send(*a.service, p2p::kRepeat, repeat(round * 10 + seq, vote));
    ASSERT_TRUE(b.wait([&] { return b.received[p2p::kRepeat].size() == round + 1; }))
        << "not relayed in round " << round;
    EXPECT_FALSE(b.wait([&] { return b.received[p2p::kRepeat].size() > round + 1; }, 200ms))
        << "a copy under another sequence number was relayed within the slot";
    std::this_thread::sleep_for(slot());
  }
  EXPECT_FALSE(a.wait([&] { return a.disconnected; }, 200ms)) << "an honest rate was punished";
}

TEST_F(ServiceRepeatTest, AFloodOfCopiesOfOneMessageIsNotAmplifiedAndBansTheSender) {
  TestPeer& a = new_peer();
  auto host_a = connect(a);
  TestPeer& b = new_peer();
  connect(b);
  const util::Bytes vote = prepare(5);
  for (uint64_t seq = 1; seq <= 60; ++seq)
    host_a->send(*a.service, p2p::kRepeat, repeat(seq, vote));
  EXPECT_TRUE(a.wait([&] { return a.disconnected; })) << "the flooding peer was kept";
  ASSERT_TRUE(b.wait([&] { return !b.received[p2p::kRepeat].empty(); })) << "never relayed";
  // The flood takes far less than a slot: one relay (two if the machine stalls across a slot).
  std::this_thread::sleep_for(slot());
  std::lock_guard lock(b.mu);
  EXPECT_LE(b.received[p2p::kRepeat].size(), 2u) << "the flood was relayed";
}

TEST_F(ServiceRepeatTest, ARepeatWithAForgedSignatureIsNotRelayed) {
  TestPeer& a = new_peer();
  auto host_a = connect(a);
  TestPeer& b = new_peer();
  connect(b);
  host_a->send(*a.service, p2p::kRepeat, repeat(1, prepare(2)));
  ASSERT_TRUE(b.wait([&] { return b.received[p2p::kRepeat].size() == 1; }));
  // The same vote with a broken signature, as a new repeat: the service may take it for a
  // duplicate, but must not pass it on.
  host_a->send(*a.service, p2p::kRepeat, repeat(2, prepare(2, /*forge=*/true)));
  EXPECT_FALSE(b.wait([&] { return b.received[p2p::kRepeat].size() > 1; }, 1s));
  // Nor a forged vote the service has never seen.
  host_a->send(*a.service, p2p::kRepeat, repeat(3, prepare(3, /*forge=*/true)));
  EXPECT_FALSE(b.wait([&] { return b.received[p2p::kRepeat].size() > 1; }, 1s));
}

TEST_F(ServiceRepeatTest, MalformedRepeatsBanTheSender) {
  TestPeer& a = new_peer();
  auto host_a = connect(a);
  host_a->send(*a.service, p2p::kRepeat, repeat(1, util::Bytes{1, 2, 3}));
  EXPECT_TRUE(a.wait([&] { return a.disconnected; })) << "sender of a garbage repeat kept";
}

}  // namespace
}  // namespace imet::node
