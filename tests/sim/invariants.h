// Invariants the simulation checks on one node's chain after every block it commits (tests/sim,
// docs/consensus.md "Simulation"): supply conservation, and the DEC bounds on the active witness
// set. Each returns an empty string when the invariant holds, else what is wrong.
// Thread-safety: pure functions over the chain's store (read only); not for concurrent use with a
// writer. Invariants: none of their own.
#pragma once

#include <string>

#include "node/chain.h"

namespace imet::sim {

// The sum of every coin (accounts' balance, stake and unbonding, node stakes, the PoD pool and the
// undistributed epoch rewards) equals ledger::kTotalSupply.
std::string supply_error(node::Chain& chain);

// When the next height starts a round: its schedule has n_min <= N_active <= n_max witnesses, or
// fewer than n_min only when exactly that many delegates are eligible (not jailed). `size` gets
// N_active of that round (0 when no round starts next).
std::string dec_error(node::Chain& chain, uint32_t& size);

}  // namespace imet::sim
