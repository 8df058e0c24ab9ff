// SignatureChecker: how the consensus engine verifies Ed25519 signatures on proposals, votes and
// finality certificates. The node uses DirectChecker (libsodium, every call); the deterministic
// simulation (tests/sim) injects a process-wide memo so that one vote delivered to 108 simulated
// nodes is verified once (docs/consensus.md, "Simulation"). verify_certificate() is
// ledger::FinalityCertificate::verify with its signature checks routed through a checker.
// Thread-safety: DirectChecker is stateless and may be shared; other implementations document
// their own. Invariants: verify() answers exactly as crypto::verify() would for the same inputs.
#pragma once

#include <span>
#include <string_view>

#include "ledger/vote.h"
#include "util/status.h"

namespace imet::consensus {

class SignatureChecker {
 public:
  virtual ~SignatureChecker() = default;
  virtual bool verify(const ledger::PublicKey& pk, util::ByteSpan msg,
                      const ledger::Signature& sig) const = 0;
};

class DirectChecker final : public SignatureChecker {
 public:
  bool verify(const ledger::PublicKey& pk, util::ByteSpan msg,
              const ledger::Signature& sig) const override;
};

// Same rules and messages as FinalityCertificate::verify (non-nil hash, quorum(n) commits, sorted
// and unique, every voter a witness, every signature valid), signatures checked with `checker`.
util::Status verify_certificate(const ledger::FinalityCertificate& cert, std::string_view chain_id,
                                std::span<const ledger::Address> witnesses,
                                const SignatureChecker& checker);

}  // namespace imet::consensus
