// ConsensusService's evidence gossip over real sockets (service_fixture.h). Valid evidence sent
// to the service is accepted and gossiped (the sender, which sent it directly, gets it back); a
// peer that connects later receives the pending pool; an undecodable evidence message gets the
// sender banned; evidence against a key that is no delegate scores the sender down without a
// relay.
#include "service_fixture.h"

namespace imet::node {
namespace {

using ServiceEvidenceTest = ServiceFixture;

ledger::Evidence evidence(const crypto::SigningKey& k, const std::string& chain, uint64_t height,
                          uint32_t attempt = 0) {
  auto vote = [&](uint8_t fill) {
    ledger::WitnessVote v;
    v.chain_id = chain;
    v.height = height;
    v.attempt = attempt;
    v.block_hash.fill(fill);
    v.sign(k);
    return v;
  };
  return *ledger::make_evidence(vote(1), vote(2));
}

TEST_F(ServiceEvidenceTest, ValidEvidenceIsGossipedAndGivenToPeersThatConnectLater) {
  TestPeer& a = new_peer();
  auto host_a = connect(a);
  const util::Bytes ev = codec::encode(evidence(alice_, "sv", 1));
  host_a->send(*a.service, p2p::kEvidence, ev);
  // Accepted and gossiped: `a` sent it directly (not as gossip), so the relay reaches it too.
  ASSERT_TRUE(a.wait([&] { return !a.evidence.empty(); })) << "no relay of accepted evidence";
  {
    std::lock_guard lock(a.mu);
    EXPECT_EQ(a.evidence[0], ev);
  }
  // A peer that connects afterwards gets the pending pool.
  TestPeer& b = new_peer();
  connect(b);
  ASSERT_TRUE(b.wait([&] { return !b.evidence.empty(); })) << "pending evidence not sent";
  {
    std::lock_guard lock(b.mu);
    EXPECT_EQ(b.evidence[0], ev);
  }
  // The same evidence again is a duplicate: not relayed a second time, and `a` stays connected.
  host_a->send(*a.service, p2p::kEvidence, ev);
  EXPECT_FALSE(a.wait([&] { return a.evidence.size() > 1 || a.disconnected; }, 1s));
}

TEST_F(ServiceEvidenceTest, MalformedEvidenceBansTheSender) {
  TestPeer& a = new_peer();
  auto host_a = connect(a);
  util::Bytes garbage = codec::encode(evidence(alice_, "sv", 1));
  garbage.resize(garbage.size() - 10);  // truncated: does not decode
  host_a->send(*a.service, p2p::kEvidence, garbage);
  EXPECT_TRUE(a.wait([&] { return a.disconnected; })) << "sender of malformed evidence kept";
  std::lock_guard lock(a.mu);
  EXPECT_TRUE(a.evidence.empty());
}

TEST_F(ServiceEvidenceTest, InvalidEvidenceIsNotRelayedAndScoresTheSenderDown) {
  TestPeer& a = new_peer();
  auto host_a = connect(a);
  // Signed correctly, but the offender is no delegate: invalid (25 points each; ban at 100).
  for (uint32_t attempt = 0; attempt < 4; ++attempt) {
    host_a->send(*a.service, p2p::kEvidence, codec::encode(evidence(stranger_, "sv", 1, attempt)));
  }
  EXPECT_TRUE(a.wait([&] { return a.disconnected; })) << "repeated invalid evidence tolerated";
  std::lock_guard lock(a.mu);
  EXPECT_TRUE(a.evidence.empty());
}

}  // namespace
}  // namespace imet::node
