#include "node/parallel_verifier.h"

#include <gtest/gtest.h>

namespace imet::node {
namespace {

std::vector<ledger::Transaction> signed_txs(size_t n) {
  std::vector<ledger::Transaction> txs;
  for (size_t i = 0; i < n; ++i) {
    crypto::Seed seed{};
    seed[0] = static_cast<uint8_t>(i);
    seed[1] = static_cast<uint8_t>(i >> 8);
    ledger::Transaction t;
    t.chain_id = "test";
    t.nonce = i;
    t.body = ledger::Stake{1};
    t.sign(crypto::SigningKey::from_seed(seed));
    txs.push_back(t);
  }
  return txs;
}

TEST(ParallelVerifier, MatchesSerialVerificationForEverySize) {
  ParallelVerifier parallel(3);
  ledger::SerialVerifier serial;
  for (size_t n : {0u, 1u, 63u, 64u, 65u, 200u, 1000u}) {
    auto txs = signed_txs(n);
    for (size_t i = 0; i < n; i += 7)
      txs[i].fee++;  // break every 7th signature
    auto expected = serial.verify(txs);
    EXPECT_EQ(parallel.verify(txs), expected) << n;
    size_t bad = std::count(expected.begin(), expected.end(), false);
    EXPECT_EQ(bad, (n + 6) / 7) << n;
  }
}

TEST(ParallelVerifier, DefaultPoolHandlesRepeatedCalls) {
  ParallelVerifier only_caller;
  auto txs = signed_txs(100);
  for (int round = 0; round < 20; ++round) {
    auto r = only_caller.verify(txs);
    EXPECT_EQ(std::count(r.begin(), r.end(), true), 100);
  }
}

}  // namespace
}  // namespace imet::node
