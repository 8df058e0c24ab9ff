// Micro-benchmarks of the store layer: put, get, a batch of 100 puts, a prefix scan of 100 entries,
// and a snapshot followed by a write (MemoryStore's copy-on-write cost), for MemoryStore and
// RocksStore side by side so ratios come from the same run. RocksStore databases live in fresh
// temporary directories (under $TMPDIR) that are removed afterwards.
//   ./build/bench/bench_store --benchmark_filter=store_get
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include "store/kv_store.h"
#include "store/memory_store.h"
#include "store/rocks_store.h"

namespace {

using imet::store::MemoryStore;
using imet::store::RocksStore;
using imet::store::WriteBatch;
using imet::store::WriteOptions;
using imet::util::as_bytes;
using imet::util::ByteSpan;

constexpr size_t kValueBytes = 100;

std::string make_key(size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key/%010zu", i);
  return buf;
}

std::string make_value(size_t i) {
  std::string v(kValueBytes, '\0');
  std::mt19937 rng(static_cast<unsigned>(i));
  for (char& c : v)
    c = static_cast<char>('a' + rng() % 26);
  return v;
}

struct MemoryBackend {
  bool open(benchmark::State&) {
    store = std::make_unique<MemoryStore>();
    return true;
  }
  void flush() {}
  std::unique_ptr<MemoryStore> store;
};

struct RocksBackend {
  RocksBackend() = default;
  RocksBackend(const RocksBackend&) = delete;
  RocksBackend& operator=(const RocksBackend&) = delete;
  ~RocksBackend() {
    store.reset();
    if (!dir.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  }

  bool open(benchmark::State& state) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "imet-store-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      state.SkipWithError("mkdtemp failed");
      return false;
    }
    dir = pattern;
    auto opened = RocksStore::open(dir + "/db", RocksStore::Options{});
    if (!opened.ok()) {
      state.SkipWithError(opened.status().to_string().c_str());
      return false;
    }
    store = std::move(opened).value();
    return true;
  }
  // Moves the memtable into an SST file so reads take the on-disk path (block cache, bloom).
  void flush() {
    imet::util::Status s = store->flush();
    if (!s.ok()) std::fprintf(stderr, "flush: %s\n", s.to_string().c_str());
  }

  std::string dir;
  std::unique_ptr<RocksStore> store;
};

template <typename Backend>
bool load(Backend& backend, size_t n) {
  WriteBatch batch;
  for (size_t i = 0; i < n; ++i) {
    batch.put(as_bytes(make_key(i)), as_bytes(make_value(i)));
    if (batch.size() == 1000 || i + 1 == n) {
      if (!backend.store->write(batch).ok()) return false;
      batch.clear();
    }
  }
  backend.flush();
  return true;
}

// One put per iteration of a new key with a 100-byte value.
template <typename Backend>
void store_put(benchmark::State& state) {
  Backend backend;
  if (!backend.open(state)) return;
  const std::string value = make_value(0);
  size_t i = 0;
  for (auto _ : state) {
    const std::string key = make_key(i++);
    if (!backend.store->put(as_bytes(key), as_bytes(value)).ok()) {
      state.SkipWithError("put failed");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// Random gets of present keys in a store of state.range(0) keys.
template <typename Backend>
void store_get(benchmark::State& state) {
  Backend backend;
  const size_t n = static_cast<size_t>(state.range(0));
  if (!backend.open(state)) return;
  if (!load(backend, n)) {
    state.SkipWithError("load failed");
    return;
  }
  std::vector<std::string> keys;
  std::mt19937_64 rng(1);
  for (size_t i = 0; i < 4096; ++i)
    keys.push_back(make_key(rng() % n));
  size_t i = 0;
  for (auto _ : state) {
    auto value = backend.store->get(as_bytes(keys[i++ % keys.size()]));
    if (!value.ok() || !value->has_value()) {
      state.SkipWithError("get failed");
      break;
    }
    benchmark::DoNotOptimize(value);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// One write() of a batch of 100 puts per iteration (batch built outside the timed region).
template <typename Backend>
void store_write_batch_100(benchmark::State& state) {
  Backend backend;
  if (!backend.open(state)) return;
  const std::string value = make_value(0);
  size_t next = 0;
  WriteBatch batch;
  for (auto _ : state) {
    state.PauseTiming();
    batch.clear();
    for (int j = 0; j < 100; ++j)
      batch.put(as_bytes(make_key(next++)), as_bytes(value));
    state.ResumeTiming();
    if (!backend.store->write(batch).ok()) {
      state.SkipWithError("write failed");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 100);
}

// scan_prefix over 100 consecutive entries of a store with 100 such prefixes (10,000 keys).
template <typename Backend>
void store_prefix_scan_100(benchmark::State& state) {
  Backend backend;
  if (!backend.open(state)) return;
  WriteBatch batch;
  const std::string value = make_value(0);
  for (int p = 0; p < 100; ++p) {
    for (int k = 0; k < 100; ++k) {
      batch.put(as_bytes("p" + std::to_string(1000 + p) + "/" + std::to_string(1000 + k)),
                as_bytes(value));
    }
  }
  if (!backend.store->write(batch).ok()) {
    state.SkipWithError("load failed");
    return;
  }
  backend.flush();
  std::mt19937 rng(3);
  for (auto _ : state) {
    const std::string prefix = "p" + std::to_string(1000 + rng() % 100) + "/";
    size_t entries = 0;
    imet::util::Status s =
        imet::store::scan_prefix(*backend.store, as_bytes(prefix), [&](ByteSpan k, ByteSpan v) {
          benchmark::DoNotOptimize(k.data());
          benchmark::DoNotOptimize(v.data());
          ++entries;
          return true;
        });
    if (!s.ok() || entries != 100) {
      state.SkipWithError("scan failed");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 100);
}

// snapshot() then one put while the snapshot is alive, in a store of state.range(0) keys. For
// MemoryStore this pays the O(n) copy-on-write; RocksStore snapshots are O(1).
template <typename Backend>
void store_snapshot_then_put(benchmark::State& state) {
  Backend backend;
  const size_t n = static_cast<size_t>(state.range(0));
  if (!backend.open(state)) return;
  if (!load(backend, n)) {
    state.SkipWithError("load failed");
    return;
  }
  const std::string value = make_value(0);
  size_t i = 0;
  for (auto _ : state) {
    std::unique_ptr<imet::store::KvSnapshot> snap = backend.store->snapshot();
    if (!backend.store->put(as_bytes(make_key(i++ % n)), as_bytes(value)).ok()) {
      state.SkipWithError("put failed");
      break;
    }
    benchmark::DoNotOptimize(snap);
  }
}

// Synced puts (fsync of the WAL per write): the cost of WriteOptions::sync on this disk.
void rocks_put_sync(benchmark::State& state) {
  RocksBackend backend;
  if (!backend.open(state)) return;
  const std::string value = make_value(0);
  size_t i = 0;
  for (auto _ : state) {
    if (!backend.store->put(as_bytes(make_key(i++)), as_bytes(value), WriteOptions{.sync = true})
             .ok()) {
      state.SkipWithError("put failed");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK_TEMPLATE(store_put, MemoryBackend);
BENCHMARK_TEMPLATE(store_put, RocksBackend);
BENCHMARK_TEMPLATE(store_get, MemoryBackend)->Arg(100'000);
BENCHMARK_TEMPLATE(store_get, RocksBackend)->Arg(100'000);
BENCHMARK_TEMPLATE(store_write_batch_100, MemoryBackend);
BENCHMARK_TEMPLATE(store_write_batch_100, RocksBackend);
BENCHMARK_TEMPLATE(store_prefix_scan_100, MemoryBackend);
BENCHMARK_TEMPLATE(store_prefix_scan_100, RocksBackend);
BENCHMARK_TEMPLATE(store_snapshot_then_put, MemoryBackend)->Arg(1'000)->Arg(100'000);
BENCHMARK_TEMPLATE(store_snapshot_then_put, RocksBackend)->Arg(1'000)->Arg(100'000);
BENCHMARK(rocks_put_sync)->Iterations(200);

}  // namespace
