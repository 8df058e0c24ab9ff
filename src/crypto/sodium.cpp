#include "crypto/sodium.h"

#include <cstdio>
#include <cstdlib>

#include <sodium.h>

namespace imet::crypto {

void ensure_init() {
  // A function-local static is initialised exactly once, with concurrent callers blocked until it
  // is done (C++11 "magic statics").
  static const bool initialised = [] {
    if (sodium_init() < 0) {
      std::fputs("fatal: libsodium could not be initialised (no entropy source?)\n", stderr);
      std::abort();
    }
    return true;
  }();
  (void)initialised;
}

void random_bytes(std::span<uint8_t> out) {
  ensure_init();
  if (!out.empty()) randombytes_buf(out.data(), out.size());
}

}  // namespace imet::crypto
