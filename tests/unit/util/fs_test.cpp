#include "util/fs.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace imet::util {
namespace {

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("imet_fs_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST_F(FsTest, WriteNewNeverOverwrites) {
  ASSERT_TRUE(write_file_new(path("a"), "first", 0600).ok());
  EXPECT_EQ(read_file(path("a")).value(), "first");
  Status again = write_file_new(path("a"), "second", 0600);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(read_file(path("a")).value(), "first");
  struct stat st {};
  ASSERT_EQ(::stat(path("a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // no temporary files left behind
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir_))
    n += e.is_regular_file();
  EXPECT_EQ(n, 1u);
}

TEST_F(FsTest, ReadErrorsAreSpecific) {
  EXPECT_EQ(read_file(path("missing")).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(write_file_new(path("big"), std::string(100, 'x')).ok());
  auto r = read_file(path("big"), 10);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("too large"), std::string::npos);
  EXPECT_FALSE(read_file(dir_.string()).ok());  // a directory
}

TEST_F(FsTest, EnsureDirCreatesParentsAndRejectsFiles) {
  ASSERT_TRUE(ensure_dir(path("x/y/z")).ok());
  EXPECT_TRUE(std::filesystem::is_directory(path("x/y/z")));
  ASSERT_TRUE(write_file_new(path("f"), "").ok());
  EXPECT_EQ(ensure_dir(path("f")).code(), StatusCode::kFailedPrecondition);
}

TEST_F(FsTest, FileLockIsExclusiveAcrossProcessesAndReleasedOnExit) {
  std::string lock_path = path("LOCK");
  {
    auto lock = FileLock::acquire(lock_path);
    ASSERT_TRUE(lock.ok()) << lock.status().to_string();
    pid_t child = ::fork();
    if (child == 0) {
      std::string holder;
      auto other = FileLock::acquire(lock_path, &holder);
      bool ok = !other.ok() && other.status().code() == StatusCode::kUnavailable &&
                holder == std::to_string(::getppid());
      ::_exit(ok ? 0 : 1);
    }
    int wstatus = 0;
    ::waitpid(child, &wstatus, 0);
    EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
  }
  // released when the holder is destroyed
  EXPECT_TRUE(FileLock::acquire(lock_path).ok());
}

}  // namespace
}  // namespace imet::util
