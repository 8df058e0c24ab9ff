// CachedReader over a real MemoryStore: cached keys follow note_written(), other keys always read
// the store, the map is bounded, and a value read while a write lands is not cached.
#include "store/cached_reader.h"

#include <gtest/gtest.h>

#include "store/memory_store.h"

namespace imet::store {
namespace {

util::Bytes b(std::string_view s) {
  return util::to_bytes(s);
}
bool starts_with_c(util::ByteSpan k) {
  return !k.empty() && k[0] == 'c';
}

TEST(CachedReaderTest, CachedKeysFollowNotedWritesOthersReadTheStore) {
  MemoryStore kv;
  ASSERT_TRUE(kv.put(b("c1"), b("one")).ok());
  ASSERT_TRUE(kv.put(b("x1"), b("ex")).ok());
  CachedReader r(kv, 100, starts_with_c);
  EXPECT_EQ(r.get(b("c1")).value(), b("one"));
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(r.get(b("x1")).value(), b("ex"));
  EXPECT_EQ(r.size(), 1u);                          // not cacheable
  EXPECT_EQ(r.get(b("c2")).value(), std::nullopt);  // absence is cached too
  EXPECT_EQ(r.size(), 2u);

  WriteBatch wb;
  wb.put(b("c1"), b("uno"));
  wb.put(b("c2"), b("two"));
  wb.put(b("x1"), b("ex2"));
  ASSERT_TRUE(kv.write(wb).ok());
  r.note_written(wb);
  EXPECT_EQ(r.get(b("c1")).value(), b("uno"));
  EXPECT_EQ(r.get(b("c2")).value(), b("two"));
  EXPECT_EQ(r.get(b("x1")).value(), b("ex2"));

  WriteBatch del;
  del.del(b("c1"));
  ASSERT_TRUE(kv.write(del).ok());
  r.note_written(del);
  EXPECT_EQ(r.get(b("c1")).value(), std::nullopt);
}

TEST(CachedReaderTest, TheMapIsBounded) {
  MemoryStore kv;
  CachedReader r(kv, 8, starts_with_c);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(kv.put(b("c" + std::to_string(i)), b(std::to_string(i))).ok());
    EXPECT_EQ(r.get(b("c" + std::to_string(i))).value(), b(std::to_string(i)));
    EXPECT_LE(r.size(), 8u);
  }
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(r.get(b("c" + std::to_string(i))).value(), b(std::to_string(i)));
}

// A store whose get() lets a write land (and be noted) between reading and returning: the value
// read is then stale and must not be cached.
class RacingStore final : public KvReader {
 public:
  RacingStore(MemoryStore& kv) : kv_(kv) {}
  CachedReader* reader = nullptr;
  util::Result<std::optional<util::Bytes>> get(util::ByteSpan key) const override {
    auto got = kv_.get(key);
    if (race) {
      race = false;
      WriteBatch wb;
      wb.put(b("c1"), b("new"));
      EXPECT_TRUE(kv_.write(wb).ok());
      reader->note_written(wb);
    }
    return got;
  }
  std::unique_ptr<KvIterator> iterator() const override { return kv_.iterator(); }
  mutable bool race = false;

 private:
  MemoryStore& kv_;
};

TEST(CachedReaderTest, AValueReadWhileAWriteLandsIsNotCached) {
  MemoryStore kv;
  ASSERT_TRUE(kv.put(b("c1"), b("old")).ok());
  RacingStore racing(kv);
  CachedReader r(racing, 100, starts_with_c);
  racing.reader = &r;
  racing.race = true;
  EXPECT_EQ(r.get(b("c1")).value(), b("old"));  // read before the write: fine to return
  EXPECT_EQ(r.get(b("c1")).value(), b("new"));  // but not cached over the write's value
}

}  // namespace
}  // namespace imet::store
