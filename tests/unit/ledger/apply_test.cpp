#include "ledger/apply.h"

#include <gtest/gtest.h>

#include "ledger_test_util.h"

namespace imet::ledger {
namespace {

using testing::addr_of;
using testing::key_from;

class ApplyTest : public ::testing::Test, public testing::LedgerFixture {
 protected:
  crypto::SigningKey alice = key_from(1);
  crypto::SigningKey bob = key_from(2);
  crypto::SigningKey carol = key_from(3);
  void SetUp() override {
    fund(alice, imet(1000));
    fund(bob, imet(1000));
  }
  void expect_reject(TxResult r, Reject reason, const std::string& fragment = "") {
    ASSERT_TRUE(r.has_value()) << "expected " << reject_name(reason);
    EXPECT_EQ(r->reason, reason) << reject_name(r->reason) << ": " << r->message;
    if (!fragment.empty()) {
      EXPECT_NE(r->message.find(fragment), std::string::npos) << r->message;
    }
  }
  void expect_ok(TxResult r) {
    EXPECT_FALSE(r.has_value()) << reject_name(r->reason) << ": " << r->message;
  }
  void TearDown() override { EXPECT_EQ(total_coins(), minted_) << "supply not conserved"; }
};

TEST_F(ApplyTest, TransferMovesCoinsAndPaysFeeToProducer) {
  expect_ok(
      send(alice, Transfer{addr_of(carol), parse_amount("12.5").value(), util::to_bytes("hi")}));
  EXPECT_EQ(account(carol).balance, parse_amount("12.5").value());
  EXPECT_EQ(account(alice).balance, imet(1000) - parse_amount("13").value());
  EXPECT_EQ(account(alice).nonce, 1u);
  EXPECT_EQ(account(ctx_.producer).balance, imet(1) / 2);
}

TEST_F(ApplyTest, TransferToSelfOnlyCostsTheFee) {
  expect_ok(send(alice, Transfer{addr_of(alice), imet(10), {}}));
  EXPECT_EQ(account(alice).balance, imet(1000) - imet(1) / 2);
}

TEST_F(ApplyTest, TransferRejections) {
  expect_reject(send(alice, Transfer{addr_of(bob), 0, {}}), Reject::kInvalidAmount);
  expect_reject(send(alice, Transfer{addr_of(bob), imet(1000), {}}), Reject::kInsufficientFunds,
                "does not cover the amount (after the fee)");
  expect_reject(send(carol, Transfer{addr_of(bob), 1, {}}), Reject::kInsufficientFunds);
  expect_reject(send(alice, Transfer{addr_of(bob), UINT64_MAX, {}}), Reject::kInsufficientFunds);
  expect_reject(send(alice, Transfer{addr_of(bob), 1, {}}, imet(1) / 4), Reject::kFeeTooLow,
                "below the transfer minimum 0.5 IMET");
  EXPECT_EQ(account(alice).nonce, 0u);
}

TEST_F(ApplyTest, NonceReplayGapExpiryChainSignature) {
  Transaction t0 = make(alice, Transfer{addr_of(bob), 1, {}});
  expect_ok(submit(t0));
  expect_reject(submit(t0), Reject::kNonceTooLow, "already used");  // replay
  Transaction gap = make(alice, Transfer{addr_of(bob), 1, {}});
  gap.nonce += 1;
  gap.sign(alice);
  expect_reject(submit(gap), Reject::kNonceTooHigh, "skips ahead; next is 1");
  Transaction expired = make(alice, Transfer{addr_of(bob), 1, {}});
  expired.expiry_height = 0;
  expired.sign(alice);
  expect_reject(submit(expired), Reject::kExpired);
  Transaction other_chain = make(alice, Transfer{addr_of(bob), 1, {}});
  other_chain.chain_id = "imet-main";
  other_chain.sign(alice);
  expect_reject(submit(other_chain), Reject::kWrongChain, "signed for chain 'imet-main'");
  Transaction forged = make(alice, Transfer{addr_of(bob), 1, {}});
  std::get<Transfer>(forged.body).amount = imet(500);  // changed after signing
  expect_reject(submit(forged), Reject::kBadSignature);
  Transaction big = make(alice, Notarize{{}, 1, util::Bytes(kMaxMetadata, 1)});
  params_.max_tx_bytes = 512;
  expect_reject(submit(big), Reject::kTooLarge);
}

TEST_F(ApplyTest, LockedCoinsCanStakeButNotMove) {
  crypto::SigningKey team = key_from(9);
  // 100 IMET locked until t=2,000,000, then linear release until t=3,000,000.
  fund(team, imet(100), LockSchedule{imet(100), 2'000'000, 3'000'000});
  expect_reject(send(team, Transfer{addr_of(bob), imet(1), {}}), Reject::kFundsLocked,
                "only 0 IMET is unlocked");
  fund(team, imet(10), LockSchedule{imet(100), 2'000'000, 3'000'000});  // 10 free coins
  expect_reject(send(team, Transfer{addr_of(bob), imet(20), {}}), Reject::kFundsLocked,
                "only 9.5 IMET is unlocked; the amount (after the fee) needs 20 IMET");
  expect_ok(send(team, Stake{imet(100)}));  // locked coins may be staked
  EXPECT_EQ(account(team).stake, imet(100));
  expect_ok(send(team, Transfer{addr_of(bob), imet(9), {}}));
  ctx_.time_ms = 2'500'000;  // half released: 50 locked
  expect_ok(send(team, Unstake{imet(60)}));
  ctx_.time_ms += params_.unbonding_ms;  // unbonding done, lock expired
  Account a = account(team);
  a.release_unbonded(ctx_.time_ms);
  EXPECT_EQ(a.transferable(ctx_.time_ms), a.balance);
  expect_ok(send(team, Transfer{addr_of(bob), imet(50), {}}));
}

TEST_F(ApplyTest, VoteReplacesApprovalSet) {
  expect_ok(send(bob, RegisterDelegate{"bob-node"}));
  EXPECT_EQ(account(bob).balance, imet(800));  // 200 IMET fee
  expect_ok(send(alice, Vote{{addr_of(bob)}}));
  EXPECT_EQ(account(alice).votes, std::vector<Address>{addr_of(bob)});
  expect_ok(send(alice, Vote{{}}));
  EXPECT_TRUE(account(alice).votes.empty());
  expect_reject(send(alice, Vote{{addr_of(carol)}}), Reject::kUnknownDelegate,
                "is not a registered delegate");
  std::vector<Address> many;
  for (int i = 0; i < 31; ++i) {
    Address a{};
    a[0] = static_cast<uint8_t>(i);
    many.push_back(a);
  }
  expect_reject(send(alice, Vote{many}), Reject::kTooManyVotes, "the limit is 30");
}

TEST_F(ApplyTest, DelegateRegistration) {
  expect_reject(send(alice, RegisterDelegate{"Bad Name"}), Reject::kInvalidField);
  expect_reject(send(alice, UnregisterDelegate{}), Reject::kNotDelegate);
  expect_ok(send(alice, RegisterDelegate{"alice"}));
  expect_reject(send(alice, RegisterDelegate{"again"}), Reject::kAlreadyDelegate);
  expect_ok(send(alice, UnregisterDelegate{}));
  expect_reject(send(bob, Vote{{addr_of(alice)}}), Reject::kUnknownDelegate);
  expect_reject(send(carol, RegisterDelegate{"poor"}), Reject::kInsufficientFunds);
}

TEST_F(ApplyTest, NodeLifecycle) {
  crypto::SigningKey node = key_from(50);
  RegisterNode r;
  r.node_key = node.public_key();
  r.info = NodeInfo{NodeClass::kNormalCloud, {"tcp://203.0.113.5:7645"}, "eu-west", 1'000'000};
  r.stake = imet(100);
  r.node_signature = node.sign(node_ownership_message(chain_id_, alice.public_key()));
  RegisterNode forged = r;
  forged.node_signature = node.sign(node_ownership_message(chain_id_, bob.public_key()));
  expect_reject(send(alice, forged), Reject::kBadNodeSignature);
  expect_ok(send(alice, r));
  EXPECT_EQ(account(alice).balance, imet(1000) - imet(10) - imet(100));
  expect_reject(send(alice, r), Reject::kNodeExists);
  UpdateNode u{node.public_key(), r.info};
  u.info.region = "ap-east";
  expect_reject(send(bob, u), Reject::kNotOwner);
  expect_ok(send(alice, u));
  auto rec = get_record<NodeRecord>(state_, keys::node(addr_of(node))).value();
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->info.region, "ap-east");
  UpdateNode bad = u;
  bad.info.endpoints = {""};
  expect_reject(send(alice, bad), Reject::kInvalidField);
  expect_ok(send(alice, UnregisterNode{node.public_key()}));
  EXPECT_EQ(account(alice).unbonding.size(), 1u);
  EXPECT_EQ(account(alice).unbonding[0].amount, imet(100));
  expect_reject(send(alice, UnregisterNode{node.public_key()}), Reject::kUnknownNode);
}

TEST_F(ApplyTest, StakeUnstakeUnbonding) {
  expect_reject(send(alice, Stake{0}), Reject::kInvalidAmount);
  expect_reject(send(alice, Stake{imet(5000)}), Reject::kInsufficientFunds);
  expect_ok(send(alice, Stake{imet(500)}));
  expect_reject(send(alice, Unstake{imet(501)}), Reject::kInsufficientStake);
  expect_ok(send(alice, Unstake{imet(200)}));
  Account a = account(alice);
  EXPECT_EQ(a.stake, imet(300));
  ASSERT_EQ(a.unbonding.size(), 1u);
  EXPECT_EQ(a.unbonding[0].release_ms, ctx_.time_ms + params_.unbonding_ms);
  // Not yet spendable: 1000 - 500 - fees left in balance.
  expect_reject(send(alice, Transfer{addr_of(bob), imet(600), {}}), Reject::kInsufficientFunds);
  ctx_.time_ms += params_.unbonding_ms;
  expect_ok(send(alice, Transfer{addr_of(bob), imet(600), {}}));
  for (size_t i = 0; i < kMaxUnbonding; ++i)
    expect_ok(send(alice, Unstake{1}));
  expect_reject(send(alice, Unstake{1}), Reject::kUnbondingFull);
}

TEST_F(ApplyTest, NotarizeOnceAndAnchorIncreasing) {
  Hash h = crypto::blake2b_256(util::to_bytes("my file"));
  expect_ok(send(alice, Notarize{h, 7, util::to_bytes("{\"title\":\"x\"}")}));
  auto n = get_record<Notarization>(state_, keys::notarization(h)).value();
  ASSERT_TRUE(n);
  EXPECT_EQ(n->owner, addr_of(alice));
  EXPECT_EQ(n->time_ms, ctx_.time_ms);
  expect_reject(send(bob, Notarize{h, 7, {}}), Reject::kAlreadyNotarized, "was notarized by");

  expect_ok(send(alice, Anchor{"log-a", 10, h}));
  expect_reject(send(alice, Anchor{"log-a", 10, h}), Reject::kAnchorNotIncreasing);
  expect_reject(send(bob, Anchor{"log-a", 11, h}), Reject::kNotOwner);
  expect_ok(send(alice, Anchor{"log-a", 11, h}));
  expect_reject(send(alice, Anchor{"", 1, h}), Reject::kInvalidField);
}

TEST_F(ApplyTest, NamesAreOwned) {
  NameTarget t{NameTargetKind::kTopic, "city/weather"};
  expect_reject(send(alice, NameRegister{"-bad", t}), Reject::kInvalidField);
  expect_reject(send(alice, NameRegister{"UPPER", t}), Reject::kInvalidField);
  expect_reject(send(alice, NameRegister{"ok", NameTarget{NameTargetKind::kUrl, ""}}),
                Reject::kInvalidField);
  expect_ok(send(alice, NameRegister{"weather.city", t}));
  expect_reject(send(bob, NameRegister{"weather.city", t}), Reject::kNameTaken);
  expect_reject(send(bob, NameUpdate{"weather.city", t}), Reject::kNotOwner);
  expect_reject(send(bob, NameUpdate{"nope", t}), Reject::kUnknownName);
  expect_ok(send(alice, NameUpdate{"weather.city", NameTarget{NameTargetKind::kUrl, "https://x"}}));
  auto rec = get_record<NameRecord>(state_, keys::name("weather.city")).value();
  EXPECT_EQ(rec->target.value, "https://x");
}

TEST_F(ApplyTest, DevicesNeedSponsorConsent) {
  crypto::SigningKey dev = key_from(77);
  DeviceRegister self{dev.public_key(), 3, alice.public_key(), std::nullopt};
  expect_ok(send(alice, self));
  expect_reject(send(alice, self), Reject::kDeviceExists);
  crypto::SigningKey dev2 = key_from(78);
  DeviceRegister sponsored{dev2.public_key(), 1, bob.public_key(), std::nullopt};
  expect_reject(send(alice, sponsored), Reject::kBadSponsorSignature);
  sponsored.sponsor_signature =
      carol.sign(sponsor_message(chain_id_, dev2.public_key(), alice.public_key()));
  expect_reject(send(alice, sponsored), Reject::kBadSponsorSignature);
  sponsored.sponsor_signature =
      bob.sign(sponsor_message(chain_id_, dev2.public_key(), alice.public_key()));
  expect_ok(send(alice, sponsored));
  auto rec = get_record<DeviceRecord>(state_, keys::device(addr_of(dev2))).value();
  EXPECT_EQ(rec->sponsor, addr_of(bob));
  EXPECT_EQ(rec->owner, addr_of(alice));
}

TEST_F(ApplyTest, FieldRuleAmountAndStakeRejections) {
  DeviceRegister bad_tier{key_from(80).public_key(), 0, alice.public_key(), std::nullopt};
  expect_reject(send(alice, bad_tier), Reject::kMalformed, "tier must be 1, 2 or 3");
  Vote unsorted{{addr_of(carol), addr_of(bob)}};
  if (unsorted.delegates[0] < unsorted.delegates[1]) {
    std::swap(unsorted.delegates[0], unsorted.delegates[1]);
  }
  expect_reject(send(alice, unsorted), Reject::kMalformed);
  expect_reject(send(alice, Unstake{0}), Reject::kInvalidAmount, "must be positive");
  crypto::SigningKey node = key_from(51);
  RegisterNode r;
  r.node_key = node.public_key();
  r.stake = imet(5000);
  r.node_signature = node.sign(node_ownership_message(chain_id_, alice.public_key()));
  expect_reject(send(alice, r), Reject::kInsufficientFunds, "the node stake");
  r.stake = imet(1);
  r.info.endpoints = {""};
  expect_reject(send(alice, r), Reject::kInvalidField, "endpoint is empty");
  expect_reject(send(bob, UpdateNode{node.public_key(), {}}), Reject::kUnknownNode);
  EXPECT_EQ(account(alice).nonce, 0u);
}

// A state that cannot be read rejects with state_error (not the sender's fault) and changes
// nothing.
TEST(ApplyStateError, UnreadableStateIsReportedNotBlamedOnTheSender) {
  class Failing final : public StateReader {
   public:
    util::Result<std::optional<util::Bytes>> get(util::ByteSpan) const override {
      return util::io_error("disk on fire");
    }
  };
  Failing failing;
  StateOverlay overlay(&failing);
  ChainParams params;
  BlockContext ctx{&params, "imet-test", 1, 1000, {}};
  Transaction tx;
  tx.chain_id = "imet-test";
  tx.fee = imet(1);
  tx.expiry_height = 5;
  tx.body = Transfer{{}, 1, {}};
  tx.sign(key_from(1));
  TxResult r = apply_transaction(overlay, tx, ctx);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, Reject::kStateError);
  EXPECT_NE(r->message.find("disk on fire"), std::string::npos);
  EXPECT_TRUE(overlay.changes().empty());
}

}  // namespace
}  // namespace imet::ledger
