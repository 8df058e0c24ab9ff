// TempDir: a fresh, uniquely named directory under the system temp dir (mkdtemp), removed with
// everything in it when the object is destroyed. For tests that need a real filesystem.
// Thread-safety: create and destroy from one thread; path() may be read from any thread.
// Invariants: path() names a directory that existed when the constructor returned; the
// constructor throws std::runtime_error (failing the test) if it cannot create one.
#pragma once

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <stdlib.h>

namespace imet::store::testing {

class TempDir {
 public:
  TempDir() {
    const std::string pattern =
        (std::filesystem::temp_directory_path() / "imet-store-test-XXXXXX").string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) == nullptr) {
      throw std::runtime_error("mkdtemp(" + pattern + ") failed: " + std::strerror(errno));
    }
    path_ = buffer.data();
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::string& path() const { return path_; }
  // path()/name
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace imet::store::testing
