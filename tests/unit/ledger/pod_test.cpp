// pod_settle (ledger/pod.h): receipts count tier-weighted bytes per relaying node, every rule has
// its own rejection, caps and warm-up reduce what counts, and each epoch's PoD reward is paid at
// the first block of epoch e+2 in proportion to the counted weight, with supply conserved.
#include "ledger/pod.h"

#include <gtest/gtest.h>

#include "ledger/block_apply.h"
#include "ledger_test_util.h"

namespace imet::ledger {
namespace {

using testing::addr_of;
using testing::key_from;

class PodTest : public ::testing::Test, public testing::LedgerFixture {
 protected:
  crypto::SigningKey alice = key_from(1);
  crypto::SigningKey bob = key_from(2);
  crypto::SigningKey carol = key_from(3);
  crypto::SigningKey node_a = key_from(41);   // alice's
  crypto::SigningKey node_a2 = key_from(42);  // alice's second node
  crypto::SigningKey node_b = key_from(43);   // bob's
  crypto::SigningKey node_c = key_from(44);   // carol's, without stake
  static constexpr Amount kPool = imet(1'000'000);

  void SetUp() override {
    params_.pod.epoch_blocks = 10;
    params_.pod.entropy_blocks = 15;
    params_.pod.warmup_epochs = 0;
    chain_ = {chain_id_, 0, params_};
    fund(alice, imet(1000));
    fund(bob, imet(1000));
    fund(carol, imet(1000));
    StateOverlay o(&state_);
    put_record(o, keys::globals(), Globals{kPool, 0});
    state_.apply(o.changes());
    ctx_.height = 0;
    advance_to(1);
    register_node(alice, node_a, imet(200));
    register_node(alice, node_a2, imet(200));
    register_node(bob, node_b, imet(200));
    register_node(carol, node_c, 0);
  }

  void TearDown() override {
    Globals g = globals();
    EXPECT_EQ(total_coins() + g.pod_pool + g.epoch_reward, minted_ + kPool)
        << "supply not conserved";
  }

  Globals globals() const { return get_record<Globals>(state_, keys::globals()).value().value(); }
  static Hash block_hash(uint64_t h) {
    return crypto::blake2b_256(util::to_bytes("block " + std::to_string(h)));
  }
  uint64_t epoch() const { return params_.pod.epoch_of(ctx_.height); }

  // Runs the per-block steps (recent hashes, payouts, block reward) up to `height`.
  void advance_to(uint64_t height) {
    chain_.params = params_;
    while (ctx_.height < height) {
      ctx_.height++;
      ctx_.time_ms += 1000;
      StateOverlay o(&state_);
      ASSERT_TRUE(begin_block(o, ctx_.height, block_hash(ctx_.height - 1), params_).ok());
      ASSERT_TRUE(pay_block_reward(o, ctx_.producer, ctx_.height, ctx_.time_ms, chain_).ok());
      state_.apply(o.changes());
    }
  }

  void register_node(const crypto::SigningKey& owner, const crypto::SigningKey& node,
                     Amount stake) {
    RegisterNode r;
    r.node_key = node.public_key();
    r.info = NodeInfo{NodeClass::kNormalCloud, {"tcp://198.51.100.1:7645"}, "eu", 1000};
    r.stake = stake;
    r.node_signature = node.sign(node_ownership_message(chain_id_, owner.public_key()));
    ASSERT_FALSE(send(owner, r));
  }

  // A receipt for the current epoch, entropy = the parent block's hash, signed by `receiver`.
  PodReceipt receipt(const crypto::SigningKey& relayer, const crypto::SigningKey& receiver,
                     uint8_t tier, uint64_t bytes) {
    PodReceipt r;
    r.relayer = relayer.public_key();
    r.epoch = params_.pod.epoch_of(ctx_.height - 1);
    r.tier = tier;
    r.message_count = 3;
    r.bytes = bytes;
    r.batch_root = crypto::blake2b_256(util::to_bytes("batch " + std::to_string(bytes)));
    r.chain_entropy = block_hash(ctx_.height - 1);
    sign_receipt(r, chain_id_, receiver);
    return r;
  }

  void expect_reject(TxResult r, Reject reason, const std::string& fragment) {
    ASSERT_TRUE(r.has_value()) << "expected " << reject_name(reason);
    EXPECT_EQ(r->reason, reason) << reject_name(r->reason) << ": " << r->message;
    EXPECT_NE(r->message.find(fragment), std::string::npos) << r->message;
  }
  void expect_ok(TxResult r) {
    EXPECT_FALSE(r.has_value()) << reject_name(r->reason) << ": " << r->message;
  }

  std::optional<EpochRecord> epoch_record(uint64_t e) const {
    return get_record<EpochRecord>(state_, keys::pod_epoch(e)).value();
  }
  uint64_t weight_of(uint64_t e, const crypto::SigningKey& node) const {
    auto rec = epoch_record(e);
    if (!rec) return 0;
    for (const auto& r : rec->relayers)
      if (r.node == addr_of(node)) return r.weight;
    return 0;
  }

  ChainConfig chain_;
};

TEST_F(PodTest, SettledWeightSharesTheEpochPoolTwoEpochsLater) {
  advance_to(3);
  // alice's node relayed 1,000 tier-1 bytes to bob's node; bob's relayed 3,000 tier-3 bytes back.
  expect_ok(send(alice, PodSettle{{receipt(node_a, node_b, 1, 1000)}}));
  expect_ok(send(bob, PodSettle{{receipt(node_b, node_a, 3, 3000)}}));
  EXPECT_EQ(weight_of(0, node_a), 4000u);  // tier 1 weighs 4 per byte
  EXPECT_EQ(weight_of(0, node_b), 3000u);  // tier 3 weighs 1
  Amount alice_before = account(alice).balance, bob_before = account(bob).balance;
  advance_to(19);  // the last block of epoch 1: nothing is paid yet
  EXPECT_EQ(account(alice).balance, alice_before);
  ASSERT_TRUE(epoch_record(0));
  // Epoch 0 = blocks 1..9, each 5 IMET of which 80 % (4 IMET) goes to the epoch's pool.
  const Amount pool = imet(36);
  EXPECT_EQ(epoch_record(0)->pool, pool);
  Amount pod_pool_before = globals().pod_pool;
  advance_to(20);  // first block of epoch 2: epoch 0 is paid
  EXPECT_FALSE(epoch_record(0)) << "a paid epoch is removed";
  Amount to_alice = pool * 4 / 7, to_bob = pool * 3 / 7;
  EXPECT_EQ(account(alice).balance, alice_before + to_alice);
  EXPECT_EQ(account(bob).balance, bob_before + to_bob);
  // Block 20's reward left the pool (5 IMET), the rounding remainder of epoch 0 came back.
  EXPECT_EQ(globals().pod_pool, pod_pool_before - imet(5) + (pool - to_alice - to_bob));
}

TEST_F(PodTest, AnEpochWithoutReceiptsReturnsItsPoolToThePodPool) {
  advance_to(19);
  Amount pod_pool_before = globals().pod_pool;
  Amount pool = epoch_record(0)->pool;
  advance_to(20);
  EXPECT_EQ(globals().pod_pool, pod_pool_before - imet(5) + pool);
}

TEST_F(PodTest, ReceiptsOfThePreviousEpochStillSettle) {
  advance_to(9);
  PodReceipt late = receipt(node_a, node_b, 2, 500);  // epoch 0 (entropy: block 8)
  advance_to(15);
  expect_ok(send(alice, PodSettle{{late}}));
  EXPECT_EQ(weight_of(0, node_a), 1000u);
}

TEST_F(PodTest, EveryRuleHasItsRejection) {
  advance_to(12);
  const PodReceipt good = receipt(node_a, node_b, 1, 100);
  expect_reject(send(alice, PodSettle{}), Reject::kInvalidField, "no receipts");
  PodReceipt empty = receipt(node_a, node_b, 1, 0);
  expect_reject(send(alice, PodSettle{{empty}}), Reject::kInvalidField, "must be positive");

  PodReceipt future = good;
  future.epoch = 2;
  sign_receipt(future, chain_id_, node_b);
  expect_reject(send(alice, PodSettle{{future}}), Reject::kWrongEpoch, "epoch 2 cannot settle");
  PodReceipt mismatched = good;  // entropy from epoch 1, claims epoch 0
  mismatched.epoch = 0;
  sign_receipt(mismatched, chain_id_, node_b);
  expect_reject(send(alice, PodSettle{{mismatched}}), Reject::kWrongEpoch,
                "does not match its chain_entropy");

  expect_reject(send(alice, PodSettle{{receipt(node_a, node_a, 1, 100)}}), Reject::kSameOwner,
                "the same node");
  expect_reject(send(alice, PodSettle{{receipt(node_a, node_a2, 1, 100)}}), Reject::kSameOwner,
                "both owned by");
  expect_reject(send(alice, PodSettle{{receipt(key_from(99), node_b, 1, 100)}}),
                Reject::kUnknownNode, "relayer");
  expect_reject(send(alice, PodSettle{{receipt(node_a, key_from(99), 1, 100)}}),
                Reject::kUnknownNode, "receiver");
  expect_reject(send(bob, PodSettle{{good}}), Reject::kNotOwner, "not the sender");
  expect_reject(send(carol, PodSettle{{receipt(node_c, node_b, 1, 100)}}), Reject::kNodeStakeTooLow,
                "earning needs at least 100 IMET");

  PodReceipt forged = good;
  forged.bytes = 1'000'000;  // inflated after the receiver signed
  expect_reject(send(alice, PodSettle{{forged}}), Reject::kBadReceiptSignature,
                "receiver_signature");
  PodReceipt wrong_signer = good;
  sign_receipt(wrong_signer, chain_id_, node_a2);  // receiver field becomes node_a2 (alice's)
  wrong_signer.receiver = node_b.public_key();
  expect_reject(send(alice, PodSettle{{wrong_signer}}), Reject::kBadReceiptSignature,
                "receiver_signature");
  PodReceipt other_chain = good;
  other_chain.receiver_signature = node_b.sign(receipt_signing_bytes("imet-main", other_chain));
  expect_reject(send(alice, PodSettle{{other_chain}}), Reject::kBadReceiptSignature,
                "receiver_signature");

  PodReceipt made_up = good;
  made_up.chain_entropy = block_hash(1000);  // a hash no block has had
  sign_receipt(made_up, chain_id_, node_b);
  expect_reject(send(alice, PodSettle{{made_up}}), Reject::kStaleReceipt, "not one of the last 15");

  expect_reject(send(alice, PodSettle{{good, good}}), Reject::kDuplicateReceipt,
                "twice in this transaction");
  expect_ok(send(alice, PodSettle{{good}}));
  expect_reject(send(alice, PodSettle{{good}}), Reject::kDuplicateReceipt, "already settled");
  // A rejected receipt rejects the whole transaction: the valid one before it is not settled.
  PodReceipt fresh = receipt(node_a, node_b, 1, 200);
  expect_reject(send(alice, PodSettle{{fresh, forged}}), Reject::kBadReceiptSignature,
                "receipt 1:");
  expect_ok(send(alice, PodSettle{{fresh}}));
  expect_reject(send(alice, PodSettle{{receipt(node_a, node_b, 1, 300)}}, imet(1) / 1000),
                Reject::kFeeTooLow, "pod_settle minimum 0.01 IMET");
}

TEST_F(PodTest, StaleReceiptsAreRejectedOnceTheirBlockLeavesTheWindow) {
  params_.pod.epoch_blocks = 100;  // one long epoch: only the entropy window matters
  advance_to(10);
  PodReceipt r = receipt(node_a, node_b, 1, 100);  // entropy: block 9
  PodReceipt r2 = receipt(node_a, node_b, 1, 200);
  advance_to(9 + 15);  // block 9's hash is still among the last 15 hashes (9..23)
  expect_ok(send(alice, PodSettle{{r2}}));
  advance_to(9 + 16);  // now it is not
  expect_reject(send(alice, PodSettle{{r}}), Reject::kStaleReceipt, "not one of the last 15");
}

TEST_F(PodTest, OldEpochsCannotSettle) {
  advance_to(5);
  PodReceipt r = receipt(node_a, node_b, 1, 100);  // epoch 0
  params_.pod.entropy_blocks = 100;                // keep the hash recent: only the epoch rule
  advance_to(21);                                  // epoch 2
  expect_reject(send(alice, PodSettle{{r}}), Reject::kWrongEpoch, "epoch 0 cannot settle");
}

TEST_F(PodTest, PairCapStakeCapAndWarmupLimitWhatCounts) {
  advance_to(2);
  params_.pod.pair_cap = 5000;
  expect_ok(send(alice, PodSettle{{receipt(node_a, node_b, 1, 1000)}}));  // 4000
  expect_ok(send(alice, PodSettle{{receipt(node_a, node_b, 1, 1001)}}));  // +4004, capped to 5000
  EXPECT_EQ(weight_of(0, node_a), 5000u);
  expect_ok(send(bob, PodSettle{{receipt(node_b, node_a, 3, 9000)}}));  // its own pair: 5000
  EXPECT_EQ(weight_of(0, node_b), 5000u);

  params_.pod.pair_cap = 1ull << 40;
  params_.pod.weight_per_staked_imet = 30;  // 200 IMET staked → at most 6000 per epoch
  expect_ok(send(alice, PodSettle{{receipt(node_a, node_b, 3, 1500)}}));
  EXPECT_EQ(weight_of(0, node_a), 6000u);
  auto rec = epoch_record(0);
  EXPECT_EQ(rec->total_weight, 11000u);

  // Warm-up: a node registered in epoch 0 earns half while warmup_epochs = 1 covers epoch 0.
  params_.pod.weight_per_staked_imet = 1ull << 30;
  params_.pod.warmup_epochs = 1;
  params_.pod.warmup_pct = 50;
  crypto::SigningKey node_d = key_from(45);
  register_node(carol, node_d, imet(100));
  advance_to(3);
  expect_ok(send(carol, PodSettle{{receipt(node_d, node_b, 2, 1000)}}));  // 2000 → 1000
  EXPECT_EQ(weight_of(0, node_d), 1000u);
  advance_to(11);  // epoch 1: warm-up over
  expect_ok(send(carol, PodSettle{{receipt(node_d, node_b, 2, 1000)}}));
  EXPECT_EQ(weight_of(1, node_d), 2000u);
}

}  // namespace
}  // namespace imet::ledger
