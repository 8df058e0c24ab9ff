// RocksStore-only behaviour: persistence across reopen, the exclusive LOCK (same process and
// another process), open errors, crash recovery from the write-ahead log, corruption reporting.
// The KvStore contract itself is tested for RocksStore in kv_store_suite_test.cpp.
#include "store/rocks_store.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "temp_dir.h"

extern char** environ;

namespace imet::store {
namespace {

namespace fs = std::filesystem;
using util::as_bytes;
using util::StatusCode;

std::unique_ptr<RocksStore> open_ok(const std::string& path,
                                    const RocksStore::Options& options = {}) {
  auto store = RocksStore::open(path, options);
  EXPECT_TRUE(store.ok()) << store.status().to_string();
  return store.ok() ? std::move(store).value() : nullptr;
}

std::optional<std::string> kv_get(const KvReader& reader, const std::string& key) {
  auto r = reader.get(as_bytes(key));
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  if (!r.ok() || !r->has_value()) return std::nullopt;
  return util::to_string(**r);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---- a child process running store_test_helper ----

class Child {
 public:
  explicit Child(const std::vector<std::string>& args) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2 failed";
      return;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    std::vector<char*> argv;
    std::vector<std::string> storage = args;
    storage.insert(storage.begin(), IMET_STORE_TEST_HELPER);
    for (std::string& a : storage)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, storage[0].c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn(" << storage[0] << ") failed: " << rc;
      pid_ = -1;
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    close_stdin();
    if (stdout_ >= 0) ::close(stdout_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }

  bool started() const { return pid_ > 0; }

  // The next line the child printed (without '\n'), or what it printed before EOF.
  std::string read_line() {
    std::string line;
    char c;
    while (::read(stdout_, &c, 1) == 1 && c != '\n')
      line.push_back(c);
    return line;
  }

  void close_stdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }

  // Waits for the child to end; returns the waitpid status.
  int wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
};

// ---- tests ----

TEST(RocksStore, DataPersistsAcrossCloseAndReopen) {
  testing::TempDir dir;
  const std::string path = dir.sub("db");
  {
    auto store = open_ok(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->put(as_bytes("a"), as_bytes("1")).ok());
    ASSERT_TRUE(store->put(as_bytes("gone"), as_bytes("x")).ok());
    ASSERT_TRUE(store->flush().ok());  // part of the data in an SST file, part only in the WAL
    WriteBatch batch;
    batch.put(as_bytes("b"), as_bytes("2"));
    batch.del(as_bytes("gone"));
    batch.put(as_bytes(std::string("\xff\x00", 2)), as_bytes(""));
    ASSERT_TRUE(store->write(batch).ok());
    EXPECT_EQ(store->path(), path);
  }
  auto store = open_ok(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(kv_get(*store, "a"), "1");
  EXPECT_EQ(kv_get(*store, "b"), "2");
  EXPECT_EQ(kv_get(*store, "gone"), std::nullopt);
  EXPECT_EQ(kv_get(*store, std::string("\xff\x00", 2)), "");
  auto all = scan_prefix_all(*store, as_bytes(""));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
}

TEST(RocksStore, SecondOpenOfSamePathFailsAsUnavailable) {
  testing::TempDir dir;
  const std::string path = dir.sub("db");
  auto first = open_ok(path);
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->put(as_bytes("k"), as_bytes("v")).ok());

  auto second = RocksStore::open(path, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable) << second.status().to_string();
  EXPECT_TRUE(contains(second.status().message(), "'" + path + "'")) << second.status().message();
  EXPECT_TRUE(contains(second.status().message(), "in use")) << second.status().message();
  // The failed open did not disturb the first handle.
  EXPECT_EQ(kv_get(*first, "k"), "v");

  first.reset();
  auto third = open_ok(path);
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(kv_get(*third, "k"), "v");
}

TEST(RocksStore, OpenWhileAnotherProcessHoldsTheStoreFailsAsUnavailable) {
  testing::TempDir dir;
  const std::string path = dir.sub("db");
  Child holder({"hold", path});
  ASSERT_TRUE(holder.started());
  ASSERT_EQ(holder.read_line(), "open");

  auto second = RocksStore::open(path, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable) << second.status().to_string();
  EXPECT_TRUE(contains(second.status().message(), path)) << second.status().message();
  EXPECT_TRUE(contains(second.status().message(), "another process")) << second.status().message();

  holder.close_stdin();
  int status = holder.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(open_ok(path), nullptr);
}

TEST(RocksStore, SnapshotKeepsTheDatabaseOpenAfterTheStoreIsDestroyed) {
  testing::TempDir dir;
  const std::string path = dir.sub("db");
  auto store = open_ok(path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->put(as_bytes("k"), as_bytes("v")).ok());
  std::unique_ptr<KvSnapshot> snap = store->snapshot();
  store.reset();

  EXPECT_EQ(kv_get(*snap, "k"), "v");
  auto reopened = RocksStore::open(path, {});
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), StatusCode::kUnavailable);

  snap.reset();
  EXPECT_NE(open_ok(path), nullptr);
}

TEST(RocksStore, OpeningARegularFileFailsCleanly) {
  testing::TempDir dir;
  const std::string path = dir.sub("file");
  { std::ofstream(path) << "not a database"; }
  auto store = RocksStore::open(path, {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument) << store.status().to_string();
  EXPECT_TRUE(contains(store.status().message(), "'" + path + "'")) << store.status().message();
  EXPECT_TRUE(contains(store.status().message(), "not a directory")) << store.status().message();
  // The file is untouched.
  std::ifstream in(path);
  std::string contents;
  std::getline(in, contents);
  EXPECT_EQ(contents, "not a database");

  // A path below a regular file cannot be created either.
  auto below = RocksStore::open(path + "/db", {});
  ASSERT_FALSE(below.ok());
  EXPECT_TRUE(contains(below.status().message(), path + "/db")) << below.status().message();
}

TEST(RocksStore, MissingDatabaseWithoutCreateIfMissingIsNotFound) {
  testing::TempDir dir;
  RocksStore::Options options;
  options.create_if_missing = false;

  auto missing_dir = RocksStore::open(dir.sub("nothing"), options);
  ASSERT_FALSE(missing_dir.ok());
  EXPECT_EQ(missing_dir.status().code(), StatusCode::kNotFound) << missing_dir.status().to_string();
  EXPECT_TRUE(contains(missing_dir.status().message(), dir.sub("nothing")));
  EXPECT_FALSE(fs::exists(dir.sub("nothing")));

  // An existing but empty directory holds no database either.
  fs::create_directory(dir.sub("empty"));
  auto empty_dir = RocksStore::open(dir.sub("empty"), options);
  ASSERT_FALSE(empty_dir.ok());
  EXPECT_EQ(empty_dir.status().code(), StatusCode::kNotFound) << empty_dir.status().to_string();
  EXPECT_TRUE(contains(empty_dir.status().message(), dir.sub("empty")));
}

TEST(RocksStore, ErrorIfExistsRefusesAnExistingDatabase) {
  testing::TempDir dir;
  const std::string path = dir.sub("db");
  ASSERT_NE(open_ok(path), nullptr);
  RocksStore::Options options;
  options.error_if_exists = true;
  auto again = RocksStore::open(path, options);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists) << again.status().to_string();
}

TEST(RocksStore, CreatesMissingParentDirectories) {
  testing::TempDir dir;
  const std::string path = dir.sub("a/b/c/db");
  auto store = open_ok(path);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(fs::is_regular_file(path + "/CURRENT"));
}

TEST(RocksStore, EmptyPathIsInvalid) {
  auto store = RocksStore::open("", {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
}

TEST(RocksStore, WritesSurviveAKilledProcess) {
  testing::TempDir dir;
  const std::string path = dir.sub("db");
  constexpr int kCount = 50;
  {
    Child writer({"crash", path, std::to_string(kCount)});
    ASSERT_TRUE(writer.started());
    EXPECT_EQ(writer.read_line(), "written");
    int status = writer.wait();
    ASSERT_TRUE(WIFSIGNALED(status)) << "helper exited with " << WEXITSTATUS(status);
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
  }
  auto store = open_ok(path);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < kCount; ++i) {
    const std::string n = std::to_string(i);
    EXPECT_EQ(kv_get(*store, "sync/" + n), "s" + n);
    // Unsynced writes are in the OS page cache: they survive a process crash (not a power cut).
    EXPECT_EQ(kv_get(*store, "nosync/" + n), "n" + n);
    EXPECT_EQ(kv_get(*store, "batch/" + n), "b" + n);
  }
}

TEST(RocksStore, DamagedCurrentFileIsReportedAsCorruption) {
  testing::TempDir dir;
  const std::string path = dir.sub("db");
  {
    auto store = open_ok(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->put(as_bytes("k"), as_bytes("v")).ok());
  }
  { std::ofstream(path + "/CURRENT", std::ios::trunc) << "MANIFEST-garbage"; }  // no newline
  auto store = RocksStore::open(path, {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kCorruption) << store.status().to_string();
  EXPECT_TRUE(contains(store.status().message(), path)) << store.status().message();
}

TEST(RocksStore, DamagedTableFileIsReportedAsCorruptionNotAsData) {
  testing::TempDir dir;
  const std::string path = dir.sub("db");
  RocksStore::Options options;
  options.compression = false;  // keep the byte layout predictable
  options.block_cache_bytes = 0;
  {
    auto store = open_ok(path, options);
    ASSERT_NE(store, nullptr);
    std::mt19937 rng(7);
    for (int i = 0; i < 200; ++i) {
      std::string value(500, '\0');
      for (char& c : value)
        c = static_cast<char>(rng());
      ASSERT_TRUE(store->put(as_bytes("key" + std::to_string(1000 + i)), as_bytes(value)).ok());
    }
    ASSERT_TRUE(store->flush().ok());
  }
  std::vector<fs::path> tables;
  for (const auto& entry : fs::directory_iterator(path)) {
    if (entry.path().extension() == ".sst") tables.push_back(entry.path());
  }
  ASSERT_EQ(tables.size(), 1u);
  // The flush moved every entry into this table; the write-ahead log has nothing left to replay.
  {
    std::fstream f(tables[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2000);
    const std::string junk(64, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }

  auto store = RocksStore::open(path, options);
  if (!store.ok()) {
    EXPECT_EQ(store.status().code(), StatusCode::kCorruption) << store.status().to_string();
    return;
  }
  std::unique_ptr<KvIterator> it = (*store)->iterator();
  size_t seen = 0;
  for (it->seek_to_first(); it->valid(); it->next())
    ++seen;
  ASSERT_FALSE(it->status().ok()) << "read " << seen << " entries from a damaged table";
  EXPECT_EQ(it->status().code(), StatusCode::kCorruption) << it->status().to_string();
  EXPECT_TRUE(contains(it->status().message(), path)) << it->status().message();
}

TEST(RocksStore, WorksWithoutCacheBloomFilterOrCompression) {
  testing::TempDir dir;
  RocksStore::Options options;
  options.block_cache_bytes = 0;
  options.bloom_bits_per_key = 0;
  options.compression = false;
  options.background_threads = 1;
  auto store = open_ok(dir.sub("db"), options);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(store->put(as_bytes("k" + std::to_string(i)), as_bytes(std::to_string(i))).ok());
  }
  ASSERT_TRUE(store->flush().ok());
  EXPECT_EQ(kv_get(*store, "k42"), "42");
  EXPECT_EQ(kv_get(*store, "k420"), std::nullopt);
}

}  // namespace
}  // namespace imet::store
