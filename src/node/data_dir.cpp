#include "node/data_dir.h"

namespace imet::node {

util::Result<DataDir> DataDir::open(const std::string& path) {
  util::Status st = util::ensure_dir(path, 0700);
  if (!st.ok()) return st.with_context("cannot create data dir");
  std::string holder;
  auto lock = util::FileLock::acquire(path + "/imetd.lock", &holder);
  if (!lock.ok()) {
    if (lock.status().code() == util::StatusCode::kUnavailable) {
      return util::unavailable("data dir '" + path + "' is in use by another imetd" +
                               (holder.empty() ? "" : " (pid " + holder + ")") +
                               "; stop that node or choose another --data-dir");
    }
    return lock.status();
  }
  return DataDir(path, std::move(lock).value());
}

}  // namespace imet::node
