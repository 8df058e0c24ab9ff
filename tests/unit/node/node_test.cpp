#include "node/node.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <unistd.h>

#include "node/node_key.h"
#include "store/rocks_store.h"
#include "util/fs.h"

namespace imet::node {
namespace {

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("imet_node_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
    ::unsetenv("IMET_PASSPHRASE");
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    ::unsetenv("IMET_PASSPHRASE");
  }
  NodeConfig dev_config() const {
    NodeConfig c;
    c.dev = true;
    c.data_dir = dir_;
    c.io_threads = 2;
    c.log_level = util::log::Level::kWarn;
    return c;
  }
  std::string dir_;
};

TEST_F(NodeTest, DataDirIsExclusive) {
  auto a = DataDir::open(dir_);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  auto b = DataDir::open(dir_);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), util::StatusCode::kUnavailable);
  EXPECT_NE(b.status().message().find("is in use by another imetd (pid " +
                                      std::to_string(::getpid()) + ")"),
            std::string::npos)
      << b.status().message();
}

TEST_F(NodeTest, DataDirThatIsAFileFails) {
  ASSERT_TRUE(util::write_file_new(dir_, "x").ok());
  auto a = DataDir::open(dir_);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("is not a directory"), std::string::npos);
}

TEST_F(NodeTest, StartStopKeepsIdentityAndRefusesSecondInstance) {
  crypto::PublicKey first{};
  {
    Node node(dev_config());
    ASSERT_TRUE(node.start().ok());
    first = node.context().node_key->public_key();
    Node second(dev_config());
    auto st = second.start();
    EXPECT_EQ(st.code(), util::StatusCode::kUnavailable) << st.to_string();
    node.request_stop();
    EXPECT_EQ(node.wait(), 0);
    node.stop();
  }
  Node again(dev_config());
  ASSERT_TRUE(again.start().ok());
  EXPECT_EQ(again.context().node_key->public_key(), first);
  again.stop();
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/node_key.json"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/db"));
}

TEST_F(NodeTest, EncryptedNodeKeyNeedsTheRightPassphrase) {
  NodeConfig c = dev_config();
  c.dev = false;
  c.data_dir = dir_;
  c.finalize();
  std::filesystem::create_directories(dir_);
  std::string key_path = dir_ + "/node_key.json";
  auto no_pass = load_or_create_node_key(key_path, c);
  ASSERT_FALSE(no_pass.ok());
  EXPECT_NE(no_pass.status().message().find("needs a passphrase"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(key_path));

  ::setenv("IMET_PASSPHRASE", "node secret", 1);
  auto created = load_or_create_node_key(key_path, c);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  EXPECT_TRUE(created->created);
  auto loaded = load_or_create_node_key(key_path, c);
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->created);
  EXPECT_EQ(loaded->key.public_key(), created->key.public_key());

  ::setenv("IMET_PASSPHRASE", "wrong", 1);
  auto wrong = load_or_create_node_key(key_path, c);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), util::StatusCode::kPermissionDenied);
  EXPECT_NE(wrong.status().message().find("cannot open node key"), std::string::npos);
}

TEST_F(NodeTest, DamagedNodeKeyStopsStartupWithoutOverwriting) {
  std::filesystem::create_directories(dir_);
  ASSERT_TRUE(util::write_file_new(dir_ + "/node_key.json", "{\"imet_key_file\": 1").ok());
  Node node(dev_config());
  auto st = node.start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("node key '" + dir_ + "/node_key.json' is damaged"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(util::read_file(dir_ + "/node_key.json").value(), "{\"imet_key_file\": 1");
  node.stop();
  // The failed start released the lock.
  EXPECT_TRUE(DataDir::open(dir_).ok());
}

TEST_F(NodeTest, RefusesDatabaseFromNewerFormat) {
  {
    auto db = store::RocksStore::open(dir_ + "/db", {}).value();
    ASSERT_TRUE(db->put(util::as_bytes("meta/db_format"), util::as_bytes("99")).ok());
  }
  Node node(dev_config());
  auto st = node.start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("has format 99"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace imet::node
