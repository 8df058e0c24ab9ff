// Ledger micro-benchmarks: the Ed25519 verification ceiling of this machine (1 thread and all
// cores), and applying blocks of 1,000 signed transfers with serial and with parallel signature
// verification (node::ParallelVerifier). Run: build/bench/bench_ledger
#include <thread>

#include <benchmark/benchmark.h>

#include "ledger/block_apply.h"
#include "ledger/genesis.h"
#include "node/parallel_verifier.h"

namespace imet::ledger {
namespace {

crypto::SigningKey key(uint32_t i) {
  crypto::Seed s{};
  for (int b = 0; b < 4; ++b)
    s[b] = static_cast<uint8_t>(i >> (8 * b));
  s[31] = 0x77;
  return crypto::SigningKey::from_seed(s);
}

void BM_Ed25519Verify(benchmark::State& state) {
  auto k = key(1);
  util::Bytes msg(200, 7);
  auto sig = k.sign(msg);
  for (auto _ : state)
    benchmark::DoNotOptimize(crypto::verify(k.public_key(), msg, sig));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Verify);

// All cores verifying independent signatures: the ceiling for block application.
void BM_Ed25519VerifyAllCores(benchmark::State& state) {
  unsigned n = std::max(1u, std::thread::hardware_concurrency());
  auto k = key(1);
  util::Bytes msg(200, 7);
  auto sig = k.sign(msg);
  const int per_thread = 2000;
  for (auto _ : state) {
    std::vector<std::thread> ts;
    for (unsigned t = 0; t < n; ++t) {
      ts.emplace_back([&] {
        for (int i = 0; i < per_thread; ++i) {
          benchmark::DoNotOptimize(crypto::verify(k.public_key(), msg, sig));
        }
      });
    }
    for (auto& t : ts)
      t.join();
  }
  state.SetItemsProcessed(state.iterations() * n * per_thread);
  state.counters["threads"] = n;
}
BENCHMARK(BM_Ed25519VerifyAllCores)->UseRealTime();

template <typename Verifier>
void BM_ApplyBlockOfTransfers(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  auto producer = key(0);
  Genesis g = make_dev_genesis(crypto::address_bytes_of(producer.public_key()), 1000, "bench");
  g.params.max_block_txs = static_cast<uint32_t>(n);
  ChainConfig chain{g.chain_id, g.genesis_time_ms, g.params};
  MemoryState base;
  StateOverlay o(&base);
  g.apply(o);
  // Fund n senders directly in the state (setup, not measured).
  std::vector<crypto::SigningKey> senders;
  for (size_t i = 0; i < n; ++i) {
    senders.push_back(key(static_cast<uint32_t>(i + 1)));
    Account a;
    a.balance = imet(100);
    put_record(o, keys::account(crypto::address_bytes_of(senders.back().public_key())), a);
  }
  base.apply(o.changes());
  std::vector<Transaction> txs;
  for (size_t i = 0; i < n; ++i) {
    Transaction t;
    t.chain_id = g.chain_id;
    t.fee = imet(1) / 2;
    t.expiry_height = 10;
    t.body = Transfer{crypto::address_bytes_of(senders[(i + 1) % n].public_key()), imet(1), {}};
    t.sign(senders[i]);
    txs.push_back(std::move(t));
  }
  ChainTip tip{0, g.hash(), g.genesis_time_ms};
  StateOverlay scratch(&base);
  Block block = build_block(scratch, txs, tip, chain, producer.public_key(), 2000, 0, 0)->block;
  block.header.sign(producer);
  Verifier verifier;
  for (auto _ : state) {
    StateOverlay s(&base);
    auto r = apply_block(s, block, tip, chain, verifier);
    if (r) state.SkipWithError(r->message.c_str());
    benchmark::DoNotOptimize(s.changes().size());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_ApplyBlockOfTransfers<SerialVerifier>)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ApplyBlockOfTransfers<node::ParallelVerifier>)
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace imet::ledger
