// SignatureChecker: how the consensus engine verifies Ed25519 signatures on proposals, votes and
// finality certificates. The interface lives in the ledger layer (ledger/vote.h), because the
// ledger checks certificates too (node::Chain::commit and a block's parent certificate) and must
// not depend on consensus; these names are the consensus layer's view of it. The node uses
// DirectChecker (libsodium, every call); the deterministic simulation (tests/sim) injects a
// process-wide memo, into both the engines and node::Chain::Options, so that one vote delivered to
// 108 simulated nodes is verified once (docs/consensus.md, "Simulation").
// Thread-safety: DirectChecker is stateless and may be shared; other implementations document
// their own. Invariants: verify() answers exactly as crypto::verify() would for the same inputs.
#pragma once

#include <span>
#include <string_view>

#include "ledger/vote.h"
#include "util/status.h"

namespace imet::consensus {

using SignatureChecker = ledger::SignatureChecker;
using DirectChecker = ledger::DirectSignatureChecker;

// FinalityCertificate::verify (non-nil hash, quorum(n) commits, sorted and unique, every voter a
// witness, every signature valid) with its signatures checked by `checker`.
util::Status verify_certificate(const ledger::FinalityCertificate& cert, std::string_view chain_id,
                                std::span<const ledger::Address> witnesses,
                                const SignatureChecker& checker);

}  // namespace imet::consensus
