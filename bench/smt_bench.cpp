// Micro-benchmarks of the ledger's state tree (ledger/smt) over the in-memory MemoryNodeStore,
// for trees of 10k and 1M random keys:
//   smt_apply_1000    apply() of 1,000 updates (half changes of existing keys, half inserts):
//                     the computation a block's state changes cost (reads, hashing, new nodes);
//                     the tree is not modified, so every iteration starts from the same tree.
//   smt_commit_1000   the same, plus writing the new version and pruning the one before it,
//                     one version per iteration (what a node does per block, minus the disk).
//   smt_prove         prove() for an existing key;  smt_verify  verify() of such a proof.
// Building the 1M-key tree takes a few seconds and ~0.75 GB (peak RSS), once per process.
//   ./build/bench/bench_smt --benchmark_filter=smt_apply
#include <cstddef>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "codec/serialize.h"
#include "ledger/smt/memory_node_store.h"
#include "ledger/smt/proof.h"
#include "ledger/smt/tree.h"

namespace {

using namespace imet::ledger::smt;  // NOLINT(google-build-using-namespace)

Hash256 random_hash(std::mt19937_64& rng) {
  Hash256 h;
  for (size_t i = 0; i < h.size(); i += 8) {
    const uint64_t x = rng();
    for (size_t j = 0; j < 8; ++j)
      h[i + j] = static_cast<uint8_t>(x >> (8 * j));
  }
  return h;
}

struct Fixture {
  MemoryNodeStore store;
  std::vector<Key> keys;  // present in the tree
  Version version = 0;
  std::mt19937_64 rng{7};

  explicit Fixture(size_t n) {
    // Built in chunks, pruning as it goes, to bound peak memory.
    constexpr size_t kChunk = 100000;
    keys.reserve(n);
    std::optional<Version> base;
    for (size_t done = 0; done < n;) {
      std::vector<Update> ups;
      for (size_t i = 0; i < kChunk && done < n; ++i, ++done) {
        ups.push_back({random_hash(rng), random_hash(rng)});
        keys.push_back(ups.back().key);
      }
      sort_updates_last_wins(ups);
      commit(base, ups);
      base = version;
    }
  }

  void commit(std::optional<Version> base, const std::vector<Update>& ups) {
    auto r = SparseMerkleTree(store).apply(base, version + 1, ups);
    if (!r.ok() || !store.write(r->batch).ok()) std::abort();
    ++version;
    if (!prune(store, version).ok()) std::abort();
  }

  std::vector<Update> batch(size_t n) {
    std::vector<Update> ups;
    for (size_t i = 0; i < n; ++i) {
      const Key k = i % 2 == 0 ? keys[rng() % keys.size()] : random_hash(rng);
      ups.push_back({k, random_hash(rng)});
    }
    sort_updates_last_wins(ups);
    return ups;
  }
};

Fixture& fixture(size_t n) {
  static std::map<size_t, std::unique_ptr<Fixture>> fixtures;
  auto& f = fixtures[n];
  if (!f) f = std::make_unique<Fixture>(n);
  return *f;
}

void smt_apply_1000(benchmark::State& state) {
  Fixture& f = fixture(static_cast<size_t>(state.range(0)));
  std::vector<std::vector<Update>> batches;
  for (int i = 0; i < 16; ++i)
    batches.push_back(f.batch(1000));
  const SparseMerkleTree tree(f.store);
  size_t i = 0, nodes = 0;
  for (auto _ : state) {
    auto r = tree.apply(f.version, f.version + 1, batches[i++ % batches.size()]);
    if (!r.ok()) {
      state.SkipWithError("apply failed");
      break;
    }
    nodes += r->batch.nodes.size();
    benchmark::DoNotOptimize(r->root_hash);
  }
  state.counters["nodes_written"] =
      benchmark::Counter(static_cast<double>(nodes), benchmark::Counter::kAvgIterations);
  state.SetItemsProcessed(state.iterations() * 1000);
}

void smt_commit_1000(benchmark::State& state) {
  Fixture& f = fixture(static_cast<size_t>(state.range(0)));
  std::vector<std::vector<Update>> batches;
  for (int i = 0; i < 16; ++i)
    batches.push_back(f.batch(1000));
  size_t i = 0;
  for (auto _ : state)
    f.commit(f.version, batches[i++ % batches.size()]);
  state.SetItemsProcessed(state.iterations() * 1000);
}

void smt_prove(benchmark::State& state) {
  Fixture& f = fixture(static_cast<size_t>(state.range(0)));
  const SparseMerkleTree tree(f.store);
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    auto p = tree.prove(f.version, f.keys[(i++ * 7919) % f.keys.size()]);
    if (!p.ok()) {
      state.SkipWithError("prove failed");
      break;
    }
    bytes += imet::codec::encoded_size(p->proof);
    benchmark::DoNotOptimize(p->proof);
  }
  state.counters["proof_bytes"] =
      benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kAvgIterations);
}

void smt_verify(benchmark::State& state) {
  Fixture& f = fixture(static_cast<size_t>(state.range(0)));
  const SparseMerkleTree tree(f.store);
  const Hash256 root = *tree.root_hash(f.version);
  std::vector<std::pair<Key, ProofResult>> proofs;
  for (size_t i = 0; i < 256; ++i) {
    const Key& k = f.keys[(i * 7919) % f.keys.size()];
    proofs.emplace_back(k, *tree.prove(f.version, k));
  }
  size_t i = 0;
  for (auto _ : state) {
    const auto& [k, p] = proofs[i++ % proofs.size()];
    if (!verify(root, k, p.value_hash, p.proof).ok()) state.SkipWithError("verify failed");
  }
}

BENCHMARK(smt_apply_1000)->Arg(10000)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(smt_commit_1000)->Arg(10000)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(smt_prove)->Arg(10000)->Arg(1000000)->Unit(benchmark::kMicrosecond);
BENCHMARK(smt_verify)->Arg(10000)->Arg(1000000)->Unit(benchmark::kMicrosecond);

}  // namespace
