#include "util/fs.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace imet::util {

namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

Status write_all(int fd, std::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(errno_text(errno));
    }
    off += static_cast<size_t>(n);
  }
  return {};
}

std::string parent_dir(const std::string& path) {
  std::filesystem::path p(path);
  auto parent = p.parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

Result<std::string> read_file(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return not_found("'" + path + "' does not exist");
    if (err == EACCES) return permission_denied("cannot read '" + path + "': permission denied");
    return io_error("cannot open '" + path + "': " + errno_text(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return io_error("'" + path + "' is not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return invalid_argument("'" + path + "' is too large (" + std::to_string(st.st_size) +
                            " bytes, limit " + std::to_string(max_bytes) + ")");
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return io_error("cannot read '" + path + "': " + errno_text(err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return invalid_argument("'" + path + "' is too large");
    }
  }
  ::close(fd);
  return out;
}

namespace {

// Writes `contents` to a new temporary file next to `path` with `mode`, fsynced; returns its name.
Result<std::string> write_temp(const std::string& path, std::string_view contents, mode_t mode) {
  std::random_device rd;
  std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return io_error("cannot create '" + tmp + "': " + errno_text(errno));
  Status st = write_all(fd, contents);
  if (st.ok() && ::fchmod(fd, mode) != 0) st = io_error(errno_text(errno));
  if (st.ok() && ::fsync(fd) != 0) st = io_error(errno_text(errno));
  ::close(fd);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st.with_context("cannot write '" + path + "'");
  }
  return tmp;
}

void fsync_dir_of(const std::string& path) {
  int dfd = ::open(parent_dir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace

Status write_file_new(const std::string& path, std::string_view contents, mode_t mode) {
  IMET_ASSIGN_OR_RETURN(std::string tmp, write_temp(path, contents, mode));
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    if (err == EEXIST) return already_exists("'" + path + "' already exists; not overwriting it");
    return io_error("cannot create '" + path + "': " + errno_text(err));
  }
  ::unlink(tmp.c_str());
  fsync_dir_of(path);
  return {};
}

Status write_file_replace(const std::string& path, std::string_view contents, mode_t mode) {
  IMET_ASSIGN_OR_RETURN(std::string tmp, write_temp(path, contents, mode));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return io_error("cannot replace '" + path + "': " + errno_text(err));
  }
  fsync_dir_of(path);
  return {};
}

Status ensure_dir(const std::string& path, mode_t mode) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (std::filesystem::exists(status)) {
    if (!std::filesystem::is_directory(status)) {
      return failed_precondition("'" + path + "' exists and is not a directory");
    }
    return {};
  }
  std::filesystem::path p(path);
  if (p.has_parent_path() && p.parent_path() != p) {
    IMET_TRY(ensure_dir(p.parent_path().string(), mode));
  }
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return io_error("cannot create directory '" + path + "': " + errno_text(errno));
  }
  return {};
}

Result<FileLock> FileLock::acquire(const std::string& path, std::string* holder_pid) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot open lock file '" + path + "': " + errno_text(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EWOULDBLOCK) {
      if (holder_pid != nullptr) {
        char buf[32] = {};
        ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
        *holder_pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
        while (!holder_pid->empty() && (holder_pid->back() == '\n' || holder_pid->back() == ' ')) {
          holder_pid->pop_back();
        }
      }
      ::close(fd);
      return unavailable("'" + path + "' is locked by another process");
    }
    ::close(fd);
    return io_error("cannot lock '" + path + "': " + errno_text(err));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    (void)::pwrite(fd, pid.data(), pid.size(), 0);
    ::fsync(fd);
  }
  return FileLock(fd);
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace imet::util
