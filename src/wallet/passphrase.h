// Where a passphrase comes from, in order: --passphrase-file FILE (first line), the IMET_PASSPHRASE
// environment variable, else an interactive prompt on the controlling terminal with echo off.
// Thread-safety: not thread-safe (touches the terminal); call from the main thread.
// Invariants: never returns an empty passphrase (empty means "none given" and is an error), and a
// new passphrase typed interactively must be typed twice identically.
#pragma once

#include <string>

#include "util/result.h"

namespace imet::wallet {

struct PassphraseOptions {
  std::string file;  // --passphrase-file
  bool allow_env = true;
};

// `confirm`: ask twice on a terminal (for a new key). `prompt` is shown on the terminal.
util::Result<std::string> get_passphrase(const PassphraseOptions& opts, const std::string& prompt,
                                         bool confirm);

}  // namespace imet::wallet
