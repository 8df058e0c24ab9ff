// Socket and process helpers of the load generator (see net.h).
#include "net.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace imet::bench::mqtt_load {

uint64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

double process_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

uint64_t process_rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

util::Result<sockaddr_in> ipv4_address(const std::string& host, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    return util::invalid_argument("'" + host + "' is not a dotted IPv4 address (e.g. 127.0.0.1)");
  }
  return a;
}

util::Result<int> start_connect(const sockaddr_in& dst, const sockaddr_in* src) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return util::io_error(std::string("socket(): ") + std::strerror(errno));
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (src != nullptr) {
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd, reinterpret_cast<const sockaddr*>(src), sizeof *src) != 0) {
      const int e = errno;
      close(fd);
      char ip[INET_ADDRSTRLEN] = {};
      inet_ntop(AF_INET, &src->sin_addr, ip, sizeof ip);
      return util::io_error(std::string("bind() to source address ") + ip + ": " +
                            std::strerror(e));
    }
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&dst), sizeof dst) != 0 &&
      errno != EINPROGRESS) {
    const int e = errno;
    close(fd);
    return util::io_error(std::string("connect(): ") + std::strerror(e));
  }
  return fd;
}

int connect_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

util::Status raise_nofile(uint64_t needed) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    return util::io_error(std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
  }
  if (rl.rlim_cur >= needed) return {};
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < needed) {
    return util::failed_precondition(
        "need " + std::to_string(needed) + " file descriptors but the hard RLIMIT_NOFILE is " +
        std::to_string(rl.rlim_max) +
        " (raise it, e.g. in /etc/security/limits.conf, or ask for fewer connections)");
  }
  rl.rlim_cur = needed;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    return util::io_error(std::string("setrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
  }
  return {};
}

}  // namespace imet::bench::mqtt_load
