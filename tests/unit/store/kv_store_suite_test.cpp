// The KvStore contract, run against every implementation (typed test suite): MemoryStore and
// RocksStore (a fresh database in its own temporary directory per test).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "store/kv_store.h"
#include "store/memory_store.h"
#include "store/rocks_store.h"
#include "temp_dir.h"

namespace imet::store {
namespace {

using namespace std::string_view_literals;
using util::Bytes;
using util::ByteSpan;
using Entries = std::vector<std::pair<std::string, std::string>>;

// ---- store environments: how each implementation is opened for a test ----

struct MemoryEnv {
  static constexpr const char* kName = "MemoryStore";
  util::Result<std::unique_ptr<KvStore>> open() {
    return std::unique_ptr<KvStore>(std::make_unique<MemoryStore>());
  }
  // Nothing to flush in memory.
  void flush(KvStore&) {}
};

struct RocksEnv {
  static constexpr const char* kName = "RocksStore";
  testing::TempDir dir;
  util::Result<std::unique_ptr<KvStore>> open() {
    auto store = RocksStore::open(dir.sub("db"), RocksStore::Options{});
    if (!store.ok()) return store.status();
    return std::unique_ptr<KvStore>(std::move(store).value());
  }
  // Moves the memtable into an SST file, so reads exercise both paths.
  void flush(KvStore& store) {
    util::Status s = static_cast<RocksStore&>(store).flush();
    EXPECT_TRUE(s.ok()) << s.to_string();
  }
};

template <typename Env>
class KvStoreSuite : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = env_.open();
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
  }

  KvStore& store() { return *store_; }

  void put(std::string_view key, std::string_view value, WriteOptions options = {}) {
    util::Status s = store_->put(util::as_bytes(key), util::as_bytes(value), options);
    ASSERT_TRUE(s.ok()) << s.to_string();
  }
  void del(std::string_view key) {
    util::Status s = store_->del(util::as_bytes(key));
    ASSERT_TRUE(s.ok()) << s.to_string();
  }
  void write(const WriteBatch& batch, WriteOptions options = {}) {
    util::Status s = store_->write(batch, options);
    ASSERT_TRUE(s.ok()) << s.to_string();
  }

  Env env_;  // declared first: outlives the store (RocksEnv removes the directory last)
  std::unique_ptr<KvStore> store_;
};

struct EnvNames {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

using StoreEnvs = ::testing::Types<MemoryEnv, RocksEnv>;
TYPED_TEST_SUITE(KvStoreSuite, StoreEnvs, EnvNames);

// ---- helpers ----

std::optional<std::string> get(const KvReader& reader, std::string_view key) {
  auto r = reader.get(util::as_bytes(key));
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  if (!r.ok() || !r->has_value()) return std::nullopt;
  return util::to_string(**r);
}

// Everything the reader holds, in iteration order.
Entries dump(const KvReader& reader) {
  Entries out;
  std::unique_ptr<KvIterator> it = reader.iterator();
  for (it->seek_to_first(); it->valid(); it->next()) {
    out.emplace_back(util::to_string(it->key()), util::to_string(it->value()));
  }
  EXPECT_TRUE(it->status().ok()) << it->status().to_string();
  return out;
}

Entries scan(const KvReader& reader, std::string_view prefix) {
  Entries out;
  util::Status s = scan_prefix(reader, util::as_bytes(prefix), [&](ByteSpan k, ByteSpan v) {
    out.emplace_back(util::to_string(k), util::to_string(v));
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.to_string();
  return out;
}

std::vector<std::string> keys_of(const Entries& entries) {
  std::vector<std::string> out;
  for (const auto& [k, v] : entries)
    out.push_back(k);
  return out;
}

std::string key_at(const KvIterator& it) {
  return util::to_string(it.key());
}

// string_views (which may hold NUL bytes) to strings.
std::vector<std::string> strs(std::initializer_list<std::string_view> views) {
  return std::vector<std::string>(views.begin(), views.end());
}

// ---- basic operations ----

TYPED_TEST(KvStoreSuite, GetMissingKeyReturnsNullopt) {
  EXPECT_EQ(get(this->store(), "absent"), std::nullopt);
  EXPECT_EQ(get(this->store(), ""), std::nullopt);
  this->put("present", "1");
  EXPECT_EQ(get(this->store(), "presen"), std::nullopt);
  EXPECT_EQ(get(this->store(), "present\0"sv), std::nullopt);
}

TYPED_TEST(KvStoreSuite, PutGetOverwrite) {
  this->put("alpha", "one");
  this->put("beta", "two");
  EXPECT_EQ(get(this->store(), "alpha"), "one");
  EXPECT_EQ(get(this->store(), "beta"), "two");
  this->put("alpha", "a much longer replacement value");
  EXPECT_EQ(get(this->store(), "alpha"), "a much longer replacement value");
  this->put("alpha", "x");
  EXPECT_EQ(get(this->store(), "alpha"), "x");
  EXPECT_EQ(get(this->store(), "beta"), "two");
  EXPECT_EQ(dump(this->store()), (Entries{{"alpha", "x"}, {"beta", "two"}}));
}

TYPED_TEST(KvStoreSuite, DeleteRemovesOnlyThatKeyAndIsIdempotent) {
  this->put("a", "1");
  this->put("b", "2");
  this->del("a");
  EXPECT_EQ(get(this->store(), "a"), std::nullopt);
  EXPECT_EQ(get(this->store(), "b"), "2");
  this->del("a");            // already gone
  this->del("never-there");  // never existed
  EXPECT_EQ(dump(this->store()), (Entries{{"b", "2"}}));
  this->put("a", "again");
  EXPECT_EQ(get(this->store(), "a"), "again");
}

TYPED_TEST(KvStoreSuite, EmptyKeyAndEmptyValue) {
  this->put("", "value of the empty key");
  this->put("k", "");
  EXPECT_EQ(get(this->store(), ""), "value of the empty key");
  // An empty value is present, not absent.
  EXPECT_EQ(get(this->store(), "k"), "");
  EXPECT_EQ(dump(this->store()), (Entries{{"", "value of the empty key"}, {"k", ""}}));
  this->del("");
  EXPECT_EQ(get(this->store(), ""), std::nullopt);
  EXPECT_EQ(get(this->store(), "k"), "");
}

TYPED_TEST(KvStoreSuite, BinaryKeysAndValues) {
  const std::vector<std::string_view> keys = {"\0"sv,   "\0\0"sv, "a"sv,        "a\0"sv,
                                              "a\0b"sv, "\xff"sv, "\xff\xff"sv, "\xff\0"sv,
                                              "\x80"sv, "\x7f"sv};
  std::string all_bytes;
  for (int i = 0; i < 256; ++i)
    all_bytes.push_back(static_cast<char>(i));
  for (size_t i = 0; i < keys.size(); ++i) {
    this->put(keys[i], all_bytes + std::to_string(i));
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(get(this->store(), keys[i]), all_bytes + std::to_string(i)) << "key #" << i;
  }
  EXPECT_EQ(dump(this->store()).size(), keys.size());
}

TYPED_TEST(KvStoreSuite, LargeValueRoundTrips) {
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>((i * 131) >> 3);
  this->put("big", big);
  this->env_.flush(this->store());
  EXPECT_EQ(get(this->store(), "big"), big);
}

// ---- ordering and iteration ----

TYPED_TEST(KvStoreSuite, IteratesInUnsignedBytewiseOrder) {
  // Listed in the order the contract promises: unsigned bytes, a prefix before its extensions.
  const std::vector<std::string> expected =
      strs({""sv, "\x00"sv, "\x00\x00"sv, "\x01"sv, "\x01\x02"sv, "A"sv, "a"sv, "\x7f"sv, "\x80"sv,
            "\xfe\xff"sv, "\xff"sv, "\xff\x00"sv, "\xff\xff"sv});
  std::vector<std::string> shuffled = expected;
  std::mt19937 rng(42);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  for (const std::string& k : shuffled)
    this->put(k, "v" + k);
  EXPECT_EQ(keys_of(dump(this->store())), expected);
  this->env_.flush(this->store());
  EXPECT_EQ(keys_of(dump(this->store())), expected);
  for (const auto& [k, v] : dump(this->store()))
    EXPECT_EQ(v, "v" + k);
}

TYPED_TEST(KvStoreSuite, NewIteratorIsUnpositionedAndEmptyStoreHasNoEntries) {
  std::unique_ptr<KvIterator> it = this->store().iterator();
  EXPECT_FALSE(it->valid());
  it->seek_to_first();
  EXPECT_FALSE(it->valid());
  it->seek(util::as_bytes(""));
  EXPECT_FALSE(it->valid());
  EXPECT_TRUE(it->status().ok());
}

TYPED_TEST(KvStoreSuite, SeekFindsFirstKeyAtOrAfterTarget) {
  for (std::string_view k : {"b"sv, "d"sv, "d\x00"sv, "f"sv})
    this->put(k, "v");
  std::unique_ptr<KvIterator> it = this->store().iterator();
  const std::vector<std::pair<std::string_view, std::optional<std::string>>> cases = {
      {""sv, "b"},
      {"a"sv, "b"},
      {"b"sv, "b"},
      {"b\x00"sv, "d"},
      {"c\xff\xff"sv, "d"},
      {"d"sv, "d"},
      {"d\x00"sv, std::string("d\x00"sv)},
      {"d\x00\x00"sv, "f"},
      {"e"sv, "f"},
      {"f"sv, "f"},
      {"f\x00"sv, std::nullopt},
      {"\xff"sv, std::nullopt}};
  for (const auto& [target, want] : cases) {
    it->seek(util::as_bytes(target));
    if (want) {
      ASSERT_TRUE(it->valid()) << "seek(" << util::to_hex(util::as_bytes(target)) << ")";
      EXPECT_EQ(key_at(*it), *want) << "seek(" << util::to_hex(util::as_bytes(target)) << ")";
    } else {
      EXPECT_FALSE(it->valid()) << "seek(" << util::to_hex(util::as_bytes(target)) << ")";
      EXPECT_TRUE(it->status().ok());
    }
  }
  // Seeking repositions after the end was reached, and next() walks on from the sought key.
  it->seek(util::as_bytes("c"));
  ASSERT_TRUE(it->valid());
  EXPECT_EQ(key_at(*it), "d");
  it->next();
  ASSERT_TRUE(it->valid());
  EXPECT_EQ(key_at(*it), std::string("d\x00"sv));
  it->next();
  ASSERT_TRUE(it->valid());
  EXPECT_EQ(key_at(*it), "f");
  it->next();
  EXPECT_FALSE(it->valid());
  EXPECT_TRUE(it->status().ok());
  it->seek_to_first();
  ASSERT_TRUE(it->valid());
  EXPECT_EQ(key_at(*it), "b");
}

// ---- prefix scans ----

TYPED_TEST(KvStoreSuite, ScanPrefixVisitsExactlyTheKeysWithThatPrefixInOrder) {
  const std::vector<std::string> all =
      strs({""sv, "a"sv, "ab"sv, "ab\x00"sv, "abc"sv, "abd"sv, "ac"sv, "b"sv, "\xfe\xff"sv,
            "\xff"sv, "\xff\x00"sv, "\xff\xff"sv, "\xff\xff\x01"sv});
  for (const std::string& k : all)
    this->put(k, "v" + k);

  EXPECT_EQ(keys_of(scan(this->store(), "ab")), strs({"ab"sv, "ab\x00"sv, "abc"sv, "abd"sv}));
  EXPECT_EQ(keys_of(scan(this->store(), "a")),
            strs({"a"sv, "ab"sv, "ab\x00"sv, "abc"sv, "abd"sv, "ac"sv}));
  EXPECT_EQ(keys_of(scan(this->store(), "abc")), strs({"abc"sv}));
  EXPECT_EQ(keys_of(scan(this->store(), "zz")), std::vector<std::string>{});
  // A prefix ending in 0xff: no "increment the last byte" shortcut may drop or add keys.
  EXPECT_EQ(keys_of(scan(this->store(), "\xff"sv)),
            strs({"\xff"sv, "\xff\x00"sv, "\xff\xff"sv, "\xff\xff\x01"sv}));
  EXPECT_EQ(keys_of(scan(this->store(), "\xff\xff"sv)), strs({"\xff\xff"sv, "\xff\xff\x01"sv}));
  EXPECT_EQ(keys_of(scan(this->store(), "\xfe"sv)), strs({"\xfe\xff"sv}));
  // The empty prefix matches every key, including the empty one.
  EXPECT_EQ(keys_of(scan(this->store(), "")), all);
  for (const auto& [k, v] : scan(this->store(), ""))
    EXPECT_EQ(v, "v" + k);
}

TYPED_TEST(KvStoreSuite, ScanPrefixStopsWhenCallbackReturnsFalse) {
  for (std::string_view k : {"p/1"sv, "p/2"sv, "p/3"sv, "p/4"sv, "q"sv})
    this->put(k, "v");
  std::vector<std::string> seen;
  util::Status s = scan_prefix(this->store(), util::as_bytes("p/"), [&](ByteSpan k, ByteSpan) {
    seen.push_back(util::to_string(k));
    return seen.size() < 2;
  });
  EXPECT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(seen, strs({"p/1"sv, "p/2"sv}));
}

TYPED_TEST(KvStoreSuite, ScanPrefixAllHonoursLimit) {
  for (std::string_view k : {"p/1"sv, "p/2"sv, "p/3"sv, "q"sv})
    this->put(k, std::string(k) + "!");
  auto all = scan_prefix_all(this->store(), util::as_bytes("p/"));
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ(util::to_string((*all)[0].first), "p/1");
  EXPECT_EQ(util::to_string((*all)[0].second), "p/1!");
  EXPECT_EQ(util::to_string((*all)[2].first), "p/3");

  auto two = scan_prefix_all(this->store(), util::as_bytes("p/"), 2);
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ(util::to_string((*two)[1].first), "p/2");

  auto none = scan_prefix_all(this->store(), util::as_bytes("p/"), 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  auto everything = scan_prefix_all(this->store(), util::as_bytes(""), 100);
  ASSERT_TRUE(everything.ok());
  EXPECT_EQ(everything->size(), 4u);
}

// ---- write batches ----

TYPED_TEST(KvStoreSuite, WriteBatchAppliesOpsInOrderLaterOpsWin) {
  this->put("old", "1");
  this->put("keep", "k");
  WriteBatch batch;
  batch.put(util::as_bytes("a"), util::as_bytes("first"));
  batch.put(util::as_bytes("b"), util::as_bytes("b1"));
  batch.put(util::as_bytes("a"), util::as_bytes("second"));  // later put of the same key wins
  batch.del(util::as_bytes("b"));                            // delete of a key put earlier
  batch.del(util::as_bytes("c"));
  batch.put(util::as_bytes("c"), util::as_bytes("after-delete"));  // put after delete wins
  batch.del(util::as_bytes("old"));                                // delete of a stored key
  batch.put(util::as_bytes(""), util::as_bytes(""));
  EXPECT_EQ(batch.size(), 8u);
  EXPECT_FALSE(batch.empty());

  this->write(batch);
  EXPECT_EQ(dump(this->store()),
            (Entries{{"", ""}, {"a", "second"}, {"c", "after-delete"}, {"keep", "k"}}));
  // The batch is unchanged by writing it, and can be cleared and reused.
  EXPECT_EQ(batch.size(), 8u);
  batch.clear();
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(batch.size(), 0u);
  EXPECT_EQ(batch.payload_bytes(), 0u);
  this->write(batch);  // empty batch: no-op
  EXPECT_EQ(dump(this->store()).size(), 4u);
  batch.put(util::as_bytes("z"), util::as_bytes("zz"));
  this->write(batch, WriteOptions{.sync = true});
  EXPECT_EQ(get(this->store(), "z"), "zz");
}

TYPED_TEST(KvStoreSuite, WriteBatchIsInvisibleUntilWrittenAndThenFullyVisible) {
  WriteBatch batch;
  for (int i = 0; i < 100; ++i) {
    batch.put(util::as_bytes("k" + std::to_string(1000 + i)), util::as_bytes(std::to_string(i)));
  }
  EXPECT_TRUE(dump(this->store()).empty());
  std::unique_ptr<KvSnapshot> before = this->store().snapshot();
  this->write(batch);
  std::unique_ptr<KvSnapshot> after = this->store().snapshot();
  EXPECT_TRUE(dump(*before).empty());
  EXPECT_EQ(dump(*after).size(), 100u);
  EXPECT_EQ(get(*after, "k1042"), "42");
}

// ---- snapshots ----

TYPED_TEST(KvStoreSuite, SnapshotIsUnchangedByLaterPutsDeletesAndBatches) {
  this->put("a", "1");
  this->put("b", "2");
  std::unique_ptr<KvSnapshot> snap1 = this->store().snapshot();

  this->put("a", "10");
  this->del("b");
  this->put("c", "3");
  WriteBatch batch;
  batch.put(util::as_bytes("d"), util::as_bytes("4"));
  batch.del(util::as_bytes("a"));
  this->write(batch);
  std::unique_ptr<KvSnapshot> snap2 = this->store().snapshot();
  this->put("e", "5");
  this->env_.flush(this->store());

  EXPECT_EQ(get(*snap1, "a"), "1");
  EXPECT_EQ(get(*snap1, "b"), "2");
  EXPECT_EQ(get(*snap1, "c"), std::nullopt);
  EXPECT_EQ(get(*snap1, "d"), std::nullopt);
  EXPECT_EQ(dump(*snap1), (Entries{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(dump(*snap2), (Entries{{"c", "3"}, {"d", "4"}}));
  EXPECT_EQ(dump(this->store()), (Entries{{"c", "3"}, {"d", "4"}, {"e", "5"}}));
  EXPECT_EQ(keys_of(scan(*snap1, "")), strs({"a"sv, "b"sv}));
}

TYPED_TEST(KvStoreSuite, SnapshotIteratorKeepsSnapshotViewWhileStoreIsWritten) {
  for (std::string_view k : {"k1"sv, "k2"sv, "k3"sv})
    this->put(k, "old");
  std::unique_ptr<KvSnapshot> snap = this->store().snapshot();
  this->put("k2", "new");
  std::unique_ptr<KvIterator> it = snap->iterator();
  it->seek_to_first();
  ASSERT_TRUE(it->valid());
  this->del("k3");
  this->put("k1a", "inserted");
  Entries seen;
  for (; it->valid(); it->next())
    seen.emplace_back(key_at(*it), util::to_string(it->value()));
  EXPECT_TRUE(it->status().ok());
  EXPECT_EQ(seen, (Entries{{"k1", "old"}, {"k2", "old"}, {"k3", "old"}}));
}

TYPED_TEST(KvStoreSuite, SnapshotsAndIteratorsOutliveTheStore) {
  this->put("a", "1");
  this->put("b", "2");
  std::unique_ptr<KvSnapshot> snap = this->store().snapshot();
  std::unique_ptr<KvIterator> live_it = this->store().iterator();
  this->put("c", "3");
  this->store_.reset();
  EXPECT_EQ(get(*snap, "a"), "1");
  EXPECT_EQ(dump(*snap), (Entries{{"a", "1"}, {"b", "2"}}));
  live_it->seek(util::as_bytes("b"));
  ASSERT_TRUE(live_it->valid());
  EXPECT_EQ(key_at(*live_it), "b");
  live_it->next();
  EXPECT_FALSE(live_it->valid());
  // An iterator of the snapshot outlives the snapshot as well.
  std::unique_ptr<KvIterator> snap_it = snap->iterator();
  snap.reset();
  snap_it->seek_to_first();
  ASSERT_TRUE(snap_it->valid());
  EXPECT_EQ(key_at(*snap_it), "a");
}

// ---- iterators over the live store ----

TYPED_TEST(KvStoreSuite, LiveIteratorSeesTheViewFromItsCreation) {
  for (std::string_view k : {"k1"sv, "k2"sv, "k3"sv, "k4"sv, "k5"sv})
    this->put(k, "orig");
  std::unique_ptr<KvIterator> it = this->store().iterator();
  it->seek_to_first();
  ASSERT_TRUE(it->valid());
  EXPECT_EQ(key_at(*it), "k1");

  this->put("k1a", "inserted ahead");
  this->del("k3");
  this->put("k4", "changed");
  this->put("k9", "appended");
  WriteBatch batch;
  batch.del(util::as_bytes("k5"));
  this->write(batch);
  this->env_.flush(this->store());

  Entries rest;
  for (it->next(); it->valid(); it->next())
    rest.emplace_back(key_at(*it), util::to_string(it->value()));
  EXPECT_TRUE(it->status().ok());
  EXPECT_EQ(rest, (Entries{{"k2", "orig"}, {"k3", "orig"}, {"k4", "orig"}, {"k5", "orig"}}));
  // Seeking again stays within the old view.
  it->seek(util::as_bytes("k6"));
  EXPECT_FALSE(it->valid());

  // A new iterator sees the new state.
  EXPECT_EQ(keys_of(dump(this->store())), strs({"k1"sv, "k1a"sv, "k2"sv, "k4"sv, "k9"sv}));
  EXPECT_EQ(get(this->store(), "k4"), "changed");
}

// ---- a model check against std::map ----

// std::map<std::string, ...> orders keys with char_traits<char>::compare, which compares as
// unsigned char: the same order KvStore promises.
using Oracle = std::map<std::string, std::string>;

Entries oracle_entries(const Oracle& oracle) {
  return Entries(oracle.begin(), oracle.end());
}

Entries oracle_prefix(const Oracle& oracle, const std::string& prefix) {
  Entries out;
  for (auto it = oracle.lower_bound(prefix); it != oracle.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    out.emplace_back(*it);
  }
  return out;
}

class ModelRun {
 public:
  explicit ModelRun(uint64_t seed) : rng_(seed) {}

  std::string random_key() {
    // A small alphabet with the boundary bytes makes collisions, prefixes and 0x00/0xff common.
    static constexpr char kAlphabet[] = {'\x00', '\x01', 'a', '\x7f', '\x80', '\xff'};
    std::string key;
    size_t len = rng_() % 4;
    for (size_t i = 0; i < len; ++i)
      key.push_back(kAlphabet[rng_() % sizeof(kAlphabet)]);
    return key;
  }
  std::string random_value() {
    std::string value;
    size_t len = rng_() % 9;
    for (size_t i = 0; i < len; ++i)
      value.push_back(static_cast<char>(rng_() % 256));
    return value;
  }
  uint64_t next(uint64_t bound) { return rng_() % bound; }

 private:
  std::mt19937_64 rng_;
};

void expect_matches(const KvReader& reader, const Oracle& oracle, ModelRun& run,
                    const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(dump(reader), oracle_entries(oracle));
  for (int i = 0; i < 20; ++i) {
    std::string k = run.random_key();
    auto found = oracle.find(k);
    EXPECT_EQ(get(reader, k),
              found == oracle.end() ? std::nullopt : std::optional<std::string>(found->second))
        << "key " << util::to_hex(util::as_bytes(k));
  }
}

TYPED_TEST(KvStoreSuite, RandomizedOperationsMatchStdMapOracle) {
  constexpr uint64_t kSeed = 0x1be7'5eed;
  constexpr int kOps = 2000;
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  ModelRun run(kSeed);
  Oracle oracle;
  std::vector<std::pair<std::unique_ptr<KvSnapshot>, Oracle>> snapshots;
  KvStore& store = this->store();

  for (int op = 0; op < kOps; ++op) {
    SCOPED_TRACE("op " + std::to_string(op));
    const uint64_t dice = run.next(100);
    if (dice < 35) {
      std::string k = run.random_key(), v = run.random_value();
      this->put(k, v);
      oracle[k] = v;
    } else if (dice < 50) {
      std::string k = run.random_key();
      this->del(k);
      oracle.erase(k);
    } else if (dice < 60) {
      WriteBatch batch;
      Oracle next = oracle;
      const uint64_t n = 1 + run.next(8);
      for (uint64_t i = 0; i < n; ++i) {
        std::string k = run.random_key();
        if (run.next(3) == 0) {
          batch.del(util::as_bytes(k));
          next.erase(k);
        } else {
          std::string v = run.random_value();
          batch.put(util::as_bytes(k), util::as_bytes(v));
          next[k] = v;
        }
      }
      this->write(batch);
      oracle = std::move(next);
    } else if (dice < 75) {
      std::string k = run.random_key();
      auto found = oracle.find(k);
      EXPECT_EQ(get(store, k),
                found == oracle.end() ? std::nullopt : std::optional<std::string>(found->second));
    } else if (dice < 88) {
      std::string k = run.random_key();
      std::unique_ptr<KvIterator> it = store.iterator();
      it->seek(util::as_bytes(k));
      auto want = oracle.lower_bound(k);
      for (int step = 0; step < 3; ++step, ++want) {
        if (want == oracle.end()) {
          EXPECT_FALSE(it->valid());
          break;
        }
        ASSERT_TRUE(it->valid());
        EXPECT_EQ(key_at(*it), want->first);
        EXPECT_EQ(util::to_string(it->value()), want->second);
        it->next();
      }
      EXPECT_TRUE(it->status().ok());
    } else if (dice < 94) {
      std::string prefix = run.random_key().substr(0, 2);
      EXPECT_EQ(scan(store, prefix), oracle_prefix(oracle, prefix));
    } else if (dice < 98) {
      snapshots.emplace_back(store.snapshot(), oracle);
      if (snapshots.size() > 6) snapshots.erase(snapshots.begin() + static_cast<long>(run.next(6)));
    } else {
      this->env_.flush(store);
    }
    if (op == kOps / 2) snapshots.emplace_back(store.snapshot(), oracle);
    if (op % 400 == 399) {
      expect_matches(store, oracle, run, "live store");
      for (size_t i = 0; i < snapshots.size(); ++i) {
        expect_matches(*snapshots[i].first, snapshots[i].second, run,
                       "snapshot #" + std::to_string(i));
      }
    }
    if (::testing::Test::HasFailure()) return;  // one divergence is enough to debug
  }
  expect_matches(store, oracle, run, "live store at end");
  ASSERT_FALSE(snapshots.empty());
  for (size_t i = 0; i < snapshots.size(); ++i) {
    expect_matches(*snapshots[i].first, snapshots[i].second, run,
                   "snapshot #" + std::to_string(i) + " at end");
  }
  EXPECT_GT(oracle.size(), 20u);  // the run exercised a non-trivial state
}

// ---- concurrency ----

// The writer commits batches that keep an invariant: entries a/<i> and b/<i> for i in [0, n) and
// "count" = n - 1. Every consistent view (snapshot or iterator) must satisfy it; a torn batch or an
// inconsistent view breaks it.
std::string pad(int i) {
  std::string s = std::to_string(i);
  return std::string(6 - s.size(), '0') + s;
}

// Returns an empty string if `view` satisfies the invariant, otherwise what is wrong.
std::string check_invariant(const Entries& view) {
  size_t a = 0, b = 0;
  std::optional<std::string> count;
  for (const auto& [k, v] : view) {
    if (k.rfind("a/", 0) == 0) {
      if (k != "a/" + pad(static_cast<int>(a)) || v != k.substr(2)) return "bad entry " + k;
      ++a;
    } else if (k.rfind("b/", 0) == 0) {
      if (k != "b/" + pad(static_cast<int>(b))) return "bad entry " + k;
      ++b;
    } else if (k == "count") {
      count = v;
    }
  }
  if (a != b) return "a=" + std::to_string(a) + " b=" + std::to_string(b);
  if (a == 0) return count ? "count without entries" : "";
  if (count != pad(static_cast<int>(a) - 1))
    return "count " + count.value_or("<none>") + " a=" + std::to_string(a);
  return "";
}

TYPED_TEST(KvStoreSuite, ConcurrentReadersAndOneWriter) {
  constexpr int kBatches = 400;
  constexpr int kReaders = 3;
  KvStore& store = this->store();
  std::atomic<bool> done{false};
  std::atomic<int> write_failures{0};
  std::atomic<long> checks{0};

  std::thread writer([&] {
    for (int i = 0; i < kBatches; ++i) {
      WriteBatch batch;
      batch.put(util::as_bytes("a/" + pad(i)), util::as_bytes(pad(i)));
      batch.put(util::as_bytes("b/" + pad(i)), util::as_bytes(pad(i)));
      batch.put(util::as_bytes("count"), util::as_bytes(pad(i)));
      if (!store.write(batch).ok()) ++write_failures;
      // Unrelated single writes interleaved with the batches.
      if (!store.put(util::as_bytes("z/" + std::to_string(i % 7)), util::as_bytes(pad(i))).ok()) {
        ++write_failures;
      }
      if (i % 3 == 0 && !store.del(util::as_bytes("z/" + std::to_string(i % 5))).ok()) {
        ++write_failures;
      }
    }
    done = true;
  });

  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      std::string last_count;
      int rounds = 0;
      // Keep reading until the writer is done, and for a few rounds at least.
      while (!done.load() || rounds < 5) {
        ++rounds;
        std::string problem;
        switch ((rounds + r) % 3) {
          case 0: {  // a snapshot, read twice: both reads agree and satisfy the invariant
            std::unique_ptr<KvSnapshot> snap = store.snapshot();
            Entries first = dump(*snap);
            problem = check_invariant(first);
            if (problem.empty() && dump(*snap) != first) problem = "snapshot changed";
            break;
          }
          case 1:  // a live iterator over everything
            problem = check_invariant(dump(store));
            break;
          default: {  // point reads: count never goes backwards, its entries exist
            auto count = get(store, "count");
            if (count) {
              if (*count < last_count) problem = "count went back from " + last_count;
              last_count = *count;
              if (!get(store, "a/" + *count) || !get(store, "b/" + *count)) {
                problem = "entries of count " + *count + " missing";
              }
            }
            break;
          }
        }
        ++checks;
        EXPECT_EQ(problem, "") << "reader " << r << " round " << rounds;
        if (!problem.empty()) return;
      }
    });
  }
  writer.join();
  for (std::thread& t : readers)
    t.join();
  EXPECT_EQ(write_failures.load(), 0);
  EXPECT_GE(checks.load(), kReaders * 5);
  EXPECT_EQ(check_invariant(dump(store)), "");
  EXPECT_EQ(get(store, "count"), pad(kBatches - 1));
}

}  // namespace
}  // namespace imet::store
