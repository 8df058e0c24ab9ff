// store_test_helper: a child process for RocksStore tests that need a second process.
//   store_test_helper crash <db-path> <count>
//     writes <count> keys "sync/<i>" with WriteOptions::sync, <count> keys "nosync/<i>" without,
//     one synced batch "batch/<i>", prints "written", then kills itself with SIGKILL (no close, no
//     flush: recovery must come from the write-ahead log).
//   store_test_helper hold <db-path>
//     opens the database, prints "open", and keeps it open until its stdin reaches EOF.
// Exit codes: 2 usage, 3 open failed, 4 write failed (the Status goes to stderr).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include <signal.h>
#include <unistd.h>

#include "store/rocks_store.h"

namespace {

using imet::store::RocksStore;
using imet::store::WriteBatch;
using imet::store::WriteOptions;
using imet::util::as_bytes;

int fail(int code, const imet::util::Status& status) {
  std::cerr << status.to_string() << std::endl;
  return code;
}

int crash(const std::string& path, int count) {
  auto store = RocksStore::open(path);
  if (!store.ok()) return fail(3, store.status());
  WriteBatch batch;
  for (int i = 0; i < count; ++i) {
    const std::string n = std::to_string(i);
    imet::util::Status s = (*store)->put(as_bytes("sync/" + n), as_bytes("s" + n), {.sync = true});
    if (!s.ok()) return fail(4, s);
    s = (*store)->put(as_bytes("nosync/" + n), as_bytes("n" + n));
    if (!s.ok()) return fail(4, s);
    batch.put(as_bytes("batch/" + n), as_bytes("b" + n));
  }
  imet::util::Status s = (*store)->write(batch, WriteOptions{.sync = true});
  if (!s.ok()) return fail(4, s);
  std::cout << "written" << std::endl;
  ::kill(::getpid(), SIGKILL);
  ::pause();
  return 1;  // not reached
}

int hold(const std::string& path) {
  auto store = RocksStore::open(path);
  if (!store.ok()) return fail(3, store.status());
  std::cout << "open" << std::endl;
  char buffer[64];
  while (::read(STDIN_FILENO, buffer, sizeof buffer) > 0) {
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "crash" && argc == 4) return crash(argv[2], std::atoi(argv[3]));
  if (mode == "hold" && argc == 3) return hold(argv[2]);
  std::cerr << "usage: store_test_helper crash <db-path> <count> | hold <db-path>" << std::endl;
  return 2;
}
