// ConsensusService's transaction gossip over real sockets (service_fixture.h): transactions a peer
// pushes are admitted and announced to the other peers as ids only; a peer that asks for them
// (kGetTxs) gets them; an announced id the service lacks is asked for from the announcer, and
// from the next announcer if the first does not answer in time; an undecodable announcement gets
// the sender banned.
#include "service_fixture.h"

namespace imet::node {
namespace {

class ServiceTxTest : public ServiceFixture {
 protected:
  ledger::Transaction pay(uint64_t nonce) {
    ledger::Transaction tx;
    tx.chain_id = "sv";
    tx.nonce = nonce;
    tx.fee = genesis_.params.fees.min_fee(ledger::TxKind::kTransfer);
    tx.expiry_height = 100;
    tx.body = ledger::Transfer{address(witness_), 1, {}};
    tx.sign(alice_);
    return tx;
  }
  // Whether the chain's mempool holds `id` within 2 s.
  bool becomes_pending(const ledger::Hash& id) {
    for (int i = 0; i < 100; ++i) {
      {
        std::lock_guard lock(chain_mu_);
        if (chain_->is_pending(id)) return true;
      }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  static std::vector<ledger::Hash> ids_in(const util::Bytes& payload) {
    return codec::decode<p2p::TxIdsMsg>(payload).value().ids;
  }
};

TEST_F(ServiceTxTest, PushedTransactionsAreAnnouncedByIdAndServedOnRequest) {
  TestPeer& a = new_peer();
  auto host_a = connect(a);
  TestPeer& b = new_peer();
  auto host_b = connect(b);
  const ledger::Transaction t0 = pay(0), t1 = pay(1);
  host_a->send(*a.service, p2p::kTxs, codec::encode(p2p::TxsMsg{{t0, t1}}));
  // b hears of them as ids; a, which sent them, does not.
  ASSERT_TRUE(b.wait([&] { return !b.received[p2p::kTxIds].empty(); })) << "no announcement";
  {
    std::lock_guard lock(b.mu);
    EXPECT_EQ(ids_in(b.received[p2p::kTxIds][0]), (std::vector<ledger::Hash>{t0.id(), t1.id()}));
    EXPECT_TRUE(b.received[p2p::kTxs].empty());  // not pushed in full
  }
  {
    std::lock_guard lock(chain_mu_);
    EXPECT_TRUE(chain_->is_pending(t0.id()) && chain_->is_pending(t1.id()));
  }
  // b asks for one of them (and one the service never had): it gets that one.
  ledger::Hash unknown{};
  unknown.fill(7);
  host_b->send(*b.service, p2p::kGetTxs, codec::encode(p2p::TxIdsMsg{{t1.id(), unknown}}));
  ASSERT_TRUE(b.wait([&] { return !b.received[p2p::kTxs].empty(); })) << "request not served";
  {
    std::lock_guard lock(b.mu);
    auto got = codec::decode<p2p::TxsMsg>(b.received[p2p::kTxs][0]);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->txs, std::vector<ledger::Transaction>{t1});
  }
  std::lock_guard lock(a.mu);
  EXPECT_TRUE(a.received[p2p::kTxIds].empty());
}

TEST_F(ServiceTxTest, AnAnnouncedUnknownTransactionIsRequestedOnce) {
  TestPeer& a = new_peer();
  auto host_a = connect(a);
  const ledger::Transaction t0 = pay(0);
  host_a->send(*a.service, p2p::kTxIds, codec::encode(p2p::TxIdsMsg{{t0.id()}}));
  ASSERT_TRUE(a.wait([&] { return !a.received[p2p::kGetTxs].empty(); })) << "not requested";
  {
    std::lock_guard lock(a.mu);
    EXPECT_EQ(ids_in(a.received[p2p::kGetTxs][0]), std::vector<ledger::Hash>{t0.id()});
  }
  // Announced again before it arrived: not asked for twice.
  host_a->send(*a.service, p2p::kTxIds, codec::encode(p2p::TxIdsMsg{{t0.id()}}));
  EXPECT_FALSE(a.wait([&] { return a.received[p2p::kGetTxs].size() > 1; }, 1s));
  // The answer is admitted like any pushed transaction.
  host_a->send(*a.service, p2p::kTxs, codec::encode(p2p::TxsMsg{{t0}}));
  EXPECT_TRUE(becomes_pending(t0.id())) << "the requested transaction was not admitted";
}

TEST_F(ServiceTxTest, AnUnansweredRequestIsMadeAgainOfTheNextAnnouncer) {
  TestPeer& a = new_peer();
  auto host_a = connect(a);
  TestPeer& b = new_peer();
  auto host_b = connect(b);
  const ledger::Transaction t0 = pay(0);
  const util::Bytes announcement = codec::encode(p2p::TxIdsMsg{{t0.id()}});
  host_a->send(*a.service, p2p::kTxIds, announcement);
  ASSERT_TRUE(a.wait([&] { return !a.received[p2p::kGetTxs].empty(); })) << "not requested";
  // b announces it too while a's request is out: b is asked only once a has had its time.
  host_b->send(*b.service, p2p::kTxIds, announcement);
  EXPECT_FALSE(b.wait([&] { return !b.received[p2p::kGetTxs].empty(); }, 300ms))
      << "asked the second announcer before the first timed out";
  ASSERT_TRUE(b.wait([&] { return !b.received[p2p::kGetTxs].empty(); }))
      << "never asked the second announcer (a does not answer)";
  {
    std::lock_guard lock(b.mu);
    EXPECT_EQ(ids_in(b.received[p2p::kGetTxs][0]), std::vector<ledger::Hash>{t0.id()});
  }
  host_b->send(*b.service, p2p::kTxs, codec::encode(p2p::TxsMsg{{t0}}));
  EXPECT_TRUE(becomes_pending(t0.id()))
      << "the transaction from the second announcer was not admitted";
}

TEST_F(ServiceTxTest, AnAnsweredRequestIsNotMadeAgain) {
  TestPeer& a = new_peer();
  auto host_a = connect(a);
  TestPeer& b = new_peer();
  auto host_b = connect(b);
  const ledger::Transaction t0 = pay(0);
  const util::Bytes announcement = codec::encode(p2p::TxIdsMsg{{t0.id()}});
  host_a->send(*a.service, p2p::kTxIds, announcement);
  ASSERT_TRUE(a.wait([&] { return !a.received[p2p::kGetTxs].empty(); })) << "not requested";
  host_b->send(*b.service, p2p::kTxIds, announcement);
  host_a->send(*a.service, p2p::kTxs, codec::encode(p2p::TxsMsg{{t0}}));
  // b is told of it as an id (the service got it from a), but never asked for it.
  ASSERT_TRUE(b.wait([&] { return !b.received[p2p::kTxIds].empty(); })) << "not admitted";
  EXPECT_FALSE(b.wait([&] { return !b.received[p2p::kGetTxs].empty(); }, 2s))
      << "asked again for a transaction that had arrived";
}

TEST_F(ServiceTxTest, MalformedAnnouncementsBanTheSender) {
  TestPeer& a = new_peer();
  auto host_a = connect(a);
  host_a->send(*a.service, p2p::kTxIds, util::Bytes{0xff, 0xff, 0xff});
  EXPECT_TRUE(a.wait([&] { return a.disconnected; })) << "sender of garbage ids kept";
}

}  // namespace
}  // namespace imet::node
