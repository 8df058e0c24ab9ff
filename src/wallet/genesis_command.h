// `imet genesis new`: writes a genesis file (JSON, see docs/ledger.md) for a dev chain (one
// delegate holding all non-pool coins) or with SPEC's default allocation.
// Thread-safety: call from the main thread. Invariants: never overwrites an existing file; a file
// it writes passes ledger::parse_genesis_json().
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "util/status.h"

namespace imet::wallet {

struct GenesisOptions {
  std::string out_file;  // must not exist; empty: print to the stream
  std::string chain_id;
  uint64_t genesis_time_ms = 0;  // 0: now
  bool dev = false;
  std::string dev_delegate;                                    // imet1… (dev)
  std::string foundation, team, consensus_round, angel_round;  // imet1… (default allocation)
  std::vector<std::string> delegates;                          // NAME=imet1… (default allocation)
};

util::Status genesis_new(const GenesisOptions& opts, std::ostream& out);

}  // namespace imet::wallet
