// Property test: random sequences of transactions (valid and invalid: transfers, stake, votes,
// node registration with stake, unregistration, pod_settle, notarize) from a few accounts, some
// with lock-ups; after every transaction: supply conserved, no balance underflow (amounts are
// unsigned, so an underflow would show up as a supply explosion), nonces strictly sequential,
// locked coins never leave an account; every delegate's tally equals the owned coins of the
// accounts voting for it (ledger/delegates.h), whatever changed them.
#include <random>

#include <gtest/gtest.h>

#include "ledger/delegates.h"
#include "ledger/pod.h"
#include "ledger_test_util.h"

namespace imet::ledger {
namespace {

using testing::addr_of;
using testing::key_from;

// Tallies recomputed from every account, and as stored ('T' records), must agree.
void expect_tallies_exact(const MemoryState& state, uint32_t seed, int step) {
  std::map<Address, Amount> want, have;
  for (const auto& [k, v] : state.entries()) {
    if (k[0] == 'a') {
      Account a = codec::decode<Account>(v).value();
      for (const Address& d : a.votes) {
        if (a.owned() > 0) want[d] += a.owned();
      }
    } else if (k[0] == 'T') {
      Address d{};
      std::copy(k.begin() + 1, k.end(), d.begin());
      have[d] = codec::decode<Tally>(v).value().weight;
    }
  }
  ASSERT_EQ(want, have) << "seed " << seed << " step " << step;
}

TEST(ApplyProperty, RandomSequencesConserveSupplyAndRespectLocks) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    testing::LedgerFixture f;
    std::mt19937_64 rng(seed);
    std::vector<crypto::SigningKey> keys;
    for (uint8_t i = 0; i < 5; ++i)
      keys.push_back(key_from(static_cast<uint8_t>(10 + i)));
    const LockSchedule lock{imet(400), 5'000'000, 9'000'000};
    for (size_t i = 0; i < keys.size(); ++i) {
      f.fund(keys[i], imet(500), i == 0 ? std::optional(lock) : std::nullopt);
    }
    f.send(keys[1], RegisterDelegate{"d1"});
    f.send(keys[2], RegisterDelegate{"d2"});
    std::vector<Address> both = {addr_of(keys[1]), addr_of(keys[2])};
    std::sort(both.begin(), both.end());
    std::vector<crypto::SigningKey> node_keys;
    for (uint8_t i = 0; i < 3; ++i)
      node_keys.push_back(key_from(static_cast<uint8_t>(60 + i)));
    int applied = 0, rejected = 0;
    auto pick = [&]() -> const crypto::SigningKey& { return keys[rng() % keys.size()]; };
    for (int step = 0; step < 400; ++step) {
      const crypto::SigningKey& k = pick();
      Amount amount = rng() % 3 == 0 ? rng() % imet(600) : rng() % imet(5);
      TxBody body;
      const crypto::SigningKey& node = node_keys[rng() % node_keys.size()];
      switch (rng() % 9) {
        case 0:
        case 1:
          body = Transfer{addr_of(pick()), amount, {}};
          break;
        case 2:
          body = Stake{amount};
          break;
        case 3:
          body = Unstake{amount};
          break;
        case 4:
          body = rng() % 3 == 0 ? Vote{both} : rng() % 2 == 0 ? Vote{{addr_of(keys[1])}} : Vote{{}};
          break;
        case 5: {
          RegisterNode r;
          r.node_key = node.public_key();
          r.info.endpoints = {"tcp://192.0.2.1:7645"};
          r.stake = amount;
          r.node_signature = node.sign(node_ownership_message(f.chain_id_, k.public_key()));
          body = r;
          break;
        }
        case 6:
          body = UnregisterNode{node.public_key()};  // often unknown or someone else's
          break;
        case 7: {
          PodReceipt receipt;  // never settles here: no recent block hashes in this state
          receipt.relayer = node.public_key();
          receipt.bytes = 1 + rng() % 1000;
          receipt.message_count = 1;
          sign_receipt(receipt, f.chain_id_, node_keys[rng() % node_keys.size()]);
          body = PodSettle{{receipt}};
          break;
        }
        default:
          body = Notarize{crypto::blake2b_256(util::to_bytes(std::to_string(rng() % 50))), 1, {}};
      }
      Account before = f.account(k);
      uint64_t now = f.ctx_.time_ms;
      Transaction tx = f.make(k, body);
      if (rng() % 10 == 0) tx.nonce += 1 + rng() % 2;  // out-of-order / replayed nonces
      if (rng() % 20 == 0) {
        tx.nonce = before.nonce > 0 ? before.nonce - 1 : 0;
      }
      tx.sign(k);
      TxResult r = f.submit(tx);
      Account after = f.account(k);
      ASSERT_EQ(f.total_coins(), f.minted_) << "seed " << seed << " step " << step;
      expect_tallies_exact(f.state_, seed, step);
      (r ? rejected : applied)++;
      if (!r) {
        ASSERT_EQ(after.nonce, before.nonce + 1);
        ASSERT_EQ(tx.nonce, before.nonce);
      } else {
        ASSERT_EQ(after.nonce, before.nonce);
      }
      // Locked coins never leave: owned coins stay >= what the lock still holds.
      if (after.lock) {
        Account released = after;
        released.release_unbonded(now);
        ASSERT_GE(released.owned(), released.lock->locked_at(now)) << "seed " << seed;
      }
      f.ctx_.height++;
      f.ctx_.time_ms += 20'000 + rng() % 40'000;
    }
    EXPECT_GT(applied, 100) << "seed " << seed;  // the sequences exercise both paths
    EXPECT_GT(rejected, 40) << "seed " << seed;
  }
}

}  // namespace
}  // namespace imet::ledger
