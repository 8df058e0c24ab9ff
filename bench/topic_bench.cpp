// Micro-benchmarks of the mqtt topic logic, the per-PUBLISH hot path of the broker:
//  - SubscriptionTree::match of device topics against trees of 1k and 100k subscriptions laid out
//    like an IoT deployment: every device subscribes to its own "dev/<id>/cmd", back ends subscribe
//    to "dev/+/telemetry" (plain and as a shared group), monitors to "dev/#", admins to "$SYS/#";
//  - subscribe + unsubscribe (insert, erase and pruning of the device's nodes);
//  - validate_topic_name and topic_matches on one topic;
//  - RetainedIndex::find for an exact topic and for "dev/+/state" (visits every device).
// Counters: matches per call; for tree building, heap bytes per subscription (glibc mallinfo2).
//   ./build/bench/bench_topic --benchmark_filter=match
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <malloc.h>

#include "mqtt/topic/matching.h"
#include "mqtt/topic/retained_index.h"
#include "mqtt/topic/subscription_tree.h"
#include "mqtt/topic/validation.h"

namespace {

using imet::mqtt::RetainedIndex;
using imet::mqtt::SubscriptionTree;

struct Options {
  uint8_t qos = 1;
  uint32_t subscription_id = 0;
};
using Tree = SubscriptionTree<uint64_t, Options>;

constexpr size_t kWildcardSubscribers = 5;  // per wildcard filter kind

// 16 hex digits, like a device serial number.
std::string device_id(size_t i) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(i * 0x9E3779B97F4A7C15ULL));
  return buf;
}

size_t heap_in_use() {
  return mallinfo2().uordblks;
}

// `n` subscriptions in total: n - 20 device command subscriptions plus 5 of each wildcard kind.
void build_tree(Tree& tree, size_t n) {
  const size_t devices = n - 4 * kWildcardSubscribers;
  for (size_t i = 0; i < devices; ++i)
    tree.insert("dev/" + device_id(i) + "/cmd", i, {});
  for (uint64_t k = 0; k < kWildcardSubscribers; ++k) {
    const uint64_t key = (1ULL << 40) + k;
    tree.insert("dev/+/telemetry", key, {});
    tree.insert("$share/ingest/dev/+/telemetry", key + 100, {});
    tree.insert("dev/#", key + 200, {});
    tree.insert("$SYS/#", key + 300, {});
  }
}

std::vector<std::string> topics(size_t devices, const char* suffix) {
  std::mt19937_64 rng(42);
  std::vector<std::string> out(4096);
  for (auto& t : out)
    t = "dev/" + device_id(rng() % devices) + suffix;
  return out;
}

void run_match(benchmark::State& state, const char* suffix) {
  const auto n = static_cast<size_t>(state.range(0));
  Tree tree;
  build_tree(tree, n);
  const auto names = topics(n - 4 * kWildcardSubscribers, suffix);
  size_t i = 0;
  size_t hits = 0;
  for (auto _ : state) {
    const std::string& t = names[i++ & 4095];
    tree.match(
        t,
        [&](const uint64_t& key, const Options& o, const Tree::FilterRef&) { hits += key + o.qos; },
        [&](Tree::SharedGroup& g) { hits += g.next_member()->key; });
    benchmark::DoNotOptimize(hits);
  }
  size_t per_call = 0;
  tree.match(
      names[0], [&](const uint64_t&, const Options&, const Tree::FilterRef&) { ++per_call; },
      [&](Tree::SharedGroup&) { ++per_call; });
  state.counters["matches"] = static_cast<double>(per_call);
  state.SetItemsProcessed(state.iterations());
}

// "dev/<id>/telemetry": 5 "dev/+/telemetry" + 5 "dev/#" + 1 shared group.
void match_telemetry(benchmark::State& state) {
  run_match(state, "/telemetry");
}
// "dev/<id>/cmd": the device itself + 5 "dev/#".
void match_command(benchmark::State& state) {
  run_match(state, "/cmd");
}
BENCHMARK(match_telemetry)->Arg(1000)->Arg(100000);
BENCHMARK(match_command)->Arg(1000)->Arg(100000);

void match_sys_and_miss(benchmark::State& state) {
  Tree tree;
  build_tree(tree, static_cast<size_t>(state.range(0)));
  const std::string names[] = {"$SYS/broker/load/messages", "other/building/7/temp"};
  size_t i = 0;
  size_t hits = 0;
  for (auto _ : state) {
    tree.match(
        names[i++ & 1],
        [&](const uint64_t& key, const Options&, const Tree::FilterRef&) { hits += key; },
        [&](Tree::SharedGroup&) { ++hits; });
    benchmark::DoNotOptimize(hits);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(match_sys_and_miss)->Arg(1000)->Arg(100000);

// Subscribe and unsubscribe one device on a tree of n subscriptions (creates and prunes 2 nodes).
void subscribe_unsubscribe(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  Tree tree;
  build_tree(tree, n);
  std::vector<std::string> filters;
  for (size_t i = 0; i < 4096; ++i)
    filters.push_back("dev/" + device_id(n + i) + "/cmd");
  size_t i = 0;
  for (auto _ : state) {
    const std::string& f = filters[i++ & 4095];
    tree.insert(f, 7, {});
    tree.erase(f, 7);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(subscribe_unsubscribe)->Arg(1000)->Arg(100000);

// Building a tree of n subscriptions; reports heap bytes per subscription.
void build(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  double bytes_per_sub = 0;
  for (auto _ : state) {
    const size_t before = heap_in_use();
    auto tree = std::make_unique<Tree>();
    build_tree(*tree, n);
    bytes_per_sub = static_cast<double>(heap_in_use() - before) / static_cast<double>(n);
    state.PauseTiming();
    tree.reset();
    state.ResumeTiming();
  }
  state.counters["bytes_per_sub"] = bytes_per_sub;
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(build)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);

void validate_topic_name(benchmark::State& state) {
  const std::string t = "dev/" + device_id(12345) + "/telemetry";
  for (auto _ : state)
    benchmark::DoNotOptimize(imet::mqtt::validate_topic_name(t));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(validate_topic_name);

void topic_matches(benchmark::State& state) {
  const std::string t = "dev/" + device_id(12345) + "/telemetry";
  for (auto _ : state) {
    benchmark::DoNotOptimize(imet::mqtt::topic_matches("dev/+/telemetry", t));
    benchmark::DoNotOptimize(imet::mqtt::topic_matches("dev/#", t));
  }
  state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK(topic_matches);

// RetainedIndex with one retained "dev/<id>/state" per device.
void retained_find(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const bool wildcard = state.range(1) != 0;
  RetainedIndex<uint64_t> index;
  for (size_t i = 0; i < n; ++i)
    index.set("dev/" + device_id(i) + "/state", i);
  const auto names = topics(n, "/state");
  size_t i = 0;
  size_t hits = 0;
  for (auto _ : state) {
    index.find(wildcard ? std::string_view("dev/+/state") : std::string_view(names[i++ & 4095]),
               [&](std::string_view, const uint64_t& v) { hits += v; });
    benchmark::DoNotOptimize(hits);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(retained_find)->Args({1000, 0})->Args({100000, 0})->Args({1000, 1})->Args({100000, 1});

}  // namespace
