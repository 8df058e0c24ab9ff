#include "ledger/genesis.h"

#include <gtest/gtest.h>

#include "ledger_test_util.h"

namespace imet::ledger {
namespace {

using testing::addr_of;
using testing::key_from;

DefaultAllocation allocation() {
  DefaultAllocation a;
  a.foundation = addr_of(key_from(1));
  a.team = addr_of(key_from(2));
  a.consensus_round = addr_of(key_from(3));
  a.angel_round = addr_of(key_from(4));
  a.delegates = {{addr_of(key_from(5)), "d1"}};
  return a;
}

TEST(Genesis, DefaultAllocationMatchesSpec) {
  const uint64_t t0 = 1'700'000'000'000;
  Genesis g = make_default_genesis(allocation(), t0, "imet-main");
  ASSERT_TRUE(g.validate().ok()) << g.validate().to_string();
  EXPECT_EQ(g.pod_pool, imet(60'000'000));
  EXPECT_EQ(g.accounts[0].balance, imet(10'000'000));  // foundation
  EXPECT_EQ(g.accounts[1].balance, imet(10'000'000));  // team
  EXPECT_EQ(g.accounts[2].balance, imet(6'000'000));
  EXPECT_EQ(g.accounts[3].balance, imet(14'000'000));
  // Locked 2 years, then linear over 2 years.
  const LockSchedule& lock = *g.accounts[0].lock;
  const uint64_t day = 86'400'000;
  EXPECT_EQ(lock.locked_at(t0), imet(10'000'000));
  EXPECT_EQ(lock.locked_at(t0 + 730 * day - 1), imet(10'000'000));
  EXPECT_EQ(lock.locked_at(t0 + 730 * day + 365 * day), imet(5'000'000));
  EXPECT_EQ(lock.locked_at(t0 + 4 * 365 * day), 0u);
  EXPECT_FALSE(g.accounts[2].lock);
}

TEST(Genesis, JsonRoundTripAndHash) {
  Genesis g = make_default_genesis(allocation(), 1'700'000'000'000, "imet-main");
  std::string text = genesis_to_json(g);
  auto back = parse_genesis_json(text);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, g);
  EXPECT_EQ(back->hash(), g.hash());
  Genesis other = g;
  other.params.slot_ms = 500;
  EXPECT_NE(other.hash(), g.hash());  // every parameter is in the hash
  EXPECT_NE(text.find("\"transfer\": \"0.5\""), std::string::npos);
}

TEST(Genesis, TestnetStakeAndVotesRoundTripThroughJson) {
  std::vector<Address> w = {addr_of(key_from(1)), addr_of(key_from(2)), addr_of(key_from(3))};
  Genesis g = make_testnet_genesis(w, 5000, "imet-testnet", 250, imet(777));
  ASSERT_TRUE(g.validate().ok()) << g.validate().to_string();
  ASSERT_EQ(g.accounts.size(), 3u);
  EXPECT_EQ(g.accounts[1].stake, imet(777));
  EXPECT_EQ(g.accounts[1].votes, std::vector<Address>{w[1]});
  EXPECT_EQ(g.params.n_min, 3u);
  EXPECT_EQ(g.params.n_max, 3u);
  EXPECT_EQ(g.params.max_block_txs, 2'500u);  // 10 per slot millisecond
  EXPECT_EQ(make_testnet_genesis(w, 5000, "t", 50).params.max_block_txs, 1'000u);
  EXPECT_EQ(make_testnet_genesis(w, 5000, "t", 10'000).params.max_block_txs, 10'000u);
  std::string text = genesis_to_json(g);
  EXPECT_NE(text.find("\"stake\": \"777\""), std::string::npos) << text;
  auto back = parse_genesis_json(text);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, g);
  // Stake counts in the supply; a lock may cover balance and stake, not more.
  Genesis more = g;
  more.accounts[0].stake += 1;
  EXPECT_NE(more.validate().message().find("must sum to exactly"), std::string::npos);
  Genesis locked = g;
  locked.accounts[0].lock =
      LockSchedule{g.accounts[0].balance + g.accounts[0].stake, 10'000, 20'000};
  EXPECT_TRUE(locked.validate().ok());
  locked.accounts[0].lock->total += 1;
  EXPECT_NE(locked.validate().message().find("locks more than its balance and stake"),
            std::string::npos);
}

TEST(Genesis, ApplyWritesInitialStateWithFullSupply) {
  Genesis g = make_dev_genesis(addr_of(key_from(9)), 1000);
  ASSERT_TRUE(g.validate().ok());
  MemoryState state;
  StateOverlay o(&state);
  g.apply(o);
  state.apply(o.changes());
  auto acc = get_record<Account>(state, keys::account(addr_of(key_from(9)))).value();
  ASSERT_TRUE(acc);
  auto globals = get_record<Globals>(state, keys::globals()).value();
  EXPECT_EQ(acc->balance + globals->pod_pool, kTotalSupply);
  EXPECT_TRUE(get_record<Delegate>(state, keys::delegate(addr_of(key_from(9)))).value());
}

void expect_bad(const std::string& text, const std::string& fragment) {
  auto r = parse_genesis_json(text);
  ASSERT_FALSE(r.ok()) << text.substr(0, 200);
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

TEST(Genesis, MalformedFilesAreRejectedWithReasons) {
  Genesis g = make_dev_genesis(addr_of(key_from(9)), 1000);
  std::string good = genesis_to_json(g);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = good;
    size_t p = t.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    return t.replace(p, from.size(), to);
  };
  expect_bad("", "not valid JSON");
  expect_bad(good.substr(0, good.size() / 2), "not valid JSON");
  expect_bad(with("\"chain_id\": \"imet-dev\"", "\"chain_id\": \"Bad Id\""), "chain_id 'Bad Id'");
  expect_bad(with("\"pod_pool\": \"60000000\"", "\"pod_pool\": \"60000001\""),
             "must sum to exactly 100000000 IMET");
  expect_bad(with("\"pod_pool\": \"60000000\"", "\"pod_pool\": 60000000"),
             "must be a decimal string");
  expect_bad(with("\"chain_id\"", "\"chainid\""), "unknown field 'chainid'");
  expect_bad(with("\"n_min\": 1", "\"n_min\": 5"), "n_min <= n_max");
  expect_bad(with("\"name\": \"dev\"", "\"name\": \"DEV!\""), "delegate name");
  std::string addr = crypto::encode_address(addr_of(key_from(9)));
  std::string typo = addr;
  typo[10] = typo[10] == 'q' ? 'p' : 'q';
  expect_bad(with("\"address\": \"" + addr + "\"", "\"address\": \"" + typo + "\""),
             "checksum mismatch");
  expect_bad(with("\"transfer\": \"0.5\"", "\"transfer\": \"-1\""), "params.fees.transfer");
}

}  // namespace
}  // namespace imet::ledger
