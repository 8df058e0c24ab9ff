// MemoryStore specifics beyond the KvStore contract (kv_store_suite_test.cpp): size(), clone(), and
// chains of copy-on-write versions held by many snapshots and iterators at once.
#include "store/memory_store.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace imet::store {
namespace {

using util::as_bytes;

size_t count(const KvReader& reader) {
  auto all = scan_prefix_all(reader, as_bytes(""));
  EXPECT_TRUE(all.ok());
  return all.ok() ? all->size() : 0;
}

TEST(MemoryStore, SizeCountsKeys) {
  MemoryStore store;
  EXPECT_EQ(store.size(), 0u);
  ASSERT_TRUE(store.put(as_bytes("a"), as_bytes("1")).ok());
  ASSERT_TRUE(store.put(as_bytes("b"), as_bytes("2")).ok());
  ASSERT_TRUE(store.put(as_bytes("a"), as_bytes("3")).ok());
  EXPECT_EQ(store.size(), 2u);
  ASSERT_TRUE(store.del(as_bytes("a")).ok());
  ASSERT_TRUE(store.del(as_bytes("zz")).ok());
  EXPECT_EQ(store.size(), 1u);
}

TEST(MemoryStore, EverySnapshotInAChainKeepsItsOwnVersion) {
  MemoryStore store;
  std::vector<std::pair<std::unique_ptr<KvSnapshot>, size_t>> snapshots;  // snapshot, key count
  std::vector<std::pair<std::unique_ptr<KvIterator>, size_t>> iterators;
  for (size_t i = 0; i < 50; ++i) {
    ASSERT_TRUE(store.put(as_bytes("k" + std::to_string(100 + i)), as_bytes("v")).ok());
    // Several readers of some versions, and some versions whose readers are gone.
    snapshots.emplace_back(store.snapshot(), i + 1);
    if (i % 5 == 0) snapshots.emplace_back(store.snapshot(), i + 1);
    if (i % 7 != 0) iterators.emplace_back(store.iterator(), i + 1);
    if (i % 3 == 0) std::unique_ptr<KvIterator> dropped = store.iterator();
  }
  ASSERT_TRUE(store.del(as_bytes("k100")).ok());
  for (const auto& [snapshot, expected] : snapshots)
    EXPECT_EQ(count(*snapshot), expected);
  for (const auto& [it, expected] : iterators) {
    size_t n = 0;
    for (it->seek_to_first(); it->valid(); it->next())
      ++n;
    EXPECT_EQ(n, expected);
  }
  EXPECT_EQ(store.size(), 49u);
  EXPECT_EQ(count(store), 49u);
}

TEST(MemoryStore, CloneCopiesTheContentsAndIsIndependent) {
  MemoryStore store;
  ASSERT_TRUE(store.put(as_bytes("a"), as_bytes("1")).ok());
  ASSERT_TRUE(store.put(as_bytes("b"), as_bytes("2")).ok());
  auto snapshot = store.snapshot();  // a pinned version is copied like any other
  std::unique_ptr<MemoryStore> copy = store.clone();
  EXPECT_EQ(copy->size(), 2u);
  ASSERT_TRUE(copy->put(as_bytes("a"), as_bytes("9")).ok());
  ASSERT_TRUE(store.del(as_bytes("b")).ok());
  EXPECT_EQ(*store.get(as_bytes("a")), std::optional<util::Bytes>(util::Bytes{'1'}));
  EXPECT_EQ(*copy->get(as_bytes("a")), std::optional<util::Bytes>(util::Bytes{'9'}));
  EXPECT_EQ(*copy->get(as_bytes("b")), std::optional<util::Bytes>(util::Bytes{'2'}));
  EXPECT_EQ(count(*snapshot), 2u);
  EXPECT_EQ(store.size(), 1u);
}

}  // namespace
}  // namespace imet::store
