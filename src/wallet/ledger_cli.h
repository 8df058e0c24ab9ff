// The ledger part of the `imet` command line: `tx <kind>|submit`, `query …`, `notarize FILE`,
// `verify FILE`, `verify-proof` and `pod sign-receipt`, added to the caller's CLI::App. Each
// subcommand runs from its CLI11 callback during parsing and stores its outcome in `*result`, so
// main() stays argument parsing only and other commands can share the same App.
// Thread-safety: call from the main thread. Invariants: the returned object owns the option
// storage the callbacks write to: keep it alive until parsing is done.
#pragma once

#include <memory>

#include "util/status.h"
#include "wallet/key_commands.h"

namespace CLI {
class App;
}

namespace imet::wallet {

class LedgerCli {
 public:
  virtual ~LedgerCli() = default;
};

// `ctx` (key dir, passphrase, output) must outlive parsing; `result` receives the status of the
// subcommand that ran (left untouched when none of these ran).
std::unique_ptr<LedgerCli> add_ledger_commands(CLI::App& app, KeyCommandContext& ctx,
                                               util::Status* result);

}  // namespace imet::wallet
