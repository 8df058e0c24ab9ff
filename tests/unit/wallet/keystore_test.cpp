#include "wallet/keystore.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <unistd.h>

namespace imet::wallet {
namespace {

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("imet_keystore_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(KeyStoreTest, AddListReadNoOverwrite) {
  EXPECT_EQ(KeyStore::open(dir_, false).status().code(), util::StatusCode::kNotFound);
  auto store = KeyStore::open(dir_, true).value();
  EXPECT_EQ(std::filesystem::status(dir_).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
  auto a = crypto::SigningKey::generate();
  auto b = crypto::SigningKey::generate();
  ASSERT_TRUE(store.add("bob", plain_key(b)).ok());
  ASSERT_TRUE(store.add("alice", plain_key(a)).ok());
  auto again = store.add("alice", plain_key(b));
  EXPECT_EQ(again.code(), util::StatusCode::kAlreadyExists);
  EXPECT_EQ(store.read("alice").value().public_key, a.public_key());  // unchanged
  auto list = store.list().value();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "alice");
  EXPECT_EQ(list[1].name, "bob");
  EXPECT_EQ(store.read("carol").status().code(), util::StatusCode::kNotFound);
}

TEST_F(KeyStoreTest, RejectsBadNamesAndCorruptFiles) {
  auto store = KeyStore::open(dir_, true).value();
  for (const char* bad : {"", ".hidden", "../x", "a/b", "-x", "a b"}) {
    EXPECT_EQ(KeyStore::validate_name(bad).code(), util::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(KeyStore::validate_name("node-1.backup_2").ok());
  std::string path = store.path_of("broken");
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("{\"imet_key_file\": 1, \"type\": ", f);
  std::fclose(f);
  auto r = store.read("broken");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), util::StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("is corrupted"), std::string::npos);
  EXPECT_FALSE(store.list().ok());  // a damaged file is reported, not hidden
}

}  // namespace
}  // namespace imet::wallet
