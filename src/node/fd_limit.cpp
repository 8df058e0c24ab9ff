#include "node/fd_limit.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>

#include <sys/resource.h>

namespace imet::node {

namespace {

uint64_t as_u64(rlim_t v) {
  return v == RLIM_INFINITY ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(v);
}

// /proc/sys/fs/nr_open: the most RLIMIT_NOFILE may be set to (1,048,576 by default).
rlim_t nr_open() {
  std::ifstream f("/proc/sys/fs/nr_open");
  uint64_t v = 0;
  if (f >> v && v > 0) return static_cast<rlim_t>(v);
  return 1'048'576;
}

}  // namespace

util::Result<FdLimit> raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    return util::internal_error(std::string("getrlimit(RLIMIT_NOFILE) failed: ") +
                                std::strerror(errno));
  }
  FdLimit out;
  out.soft_before = as_u64(rl.rlim_cur);
  out.hard = as_u64(rl.rlim_max);
  const rlim_t target = rl.rlim_max == RLIM_INFINITY ? nr_open() : rl.rlim_max;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < target) {
    rlimit raised = rl;
    raised.rlim_cur = target;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  out.soft = as_u64(rl.rlim_cur);
  return out;
}

}  // namespace imet::node
