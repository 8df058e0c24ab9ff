#include "consensus/signature_check.h"

#include <algorithm>
#include <string>

namespace imet::consensus {

bool DirectChecker::verify(const ledger::PublicKey& pk, util::ByteSpan msg,
                           const ledger::Signature& sig) const {
  return crypto::verify(pk, msg, sig);
}

util::Status verify_certificate(const ledger::FinalityCertificate& cert, std::string_view chain_id,
                                std::span<const ledger::Address> witnesses,
                                const SignatureChecker& checker) {
  const auto n = static_cast<uint32_t>(witnesses.size());
  if (cert.block_hash == ledger::Hash{}) {
    return util::invalid_argument("certificate for a nil block");
  }
  if (cert.commits.size() < ledger::quorum(n)) {
    return util::invalid_argument("certificate for height " + std::to_string(cert.height) +
                                  " has " + std::to_string(cert.commits.size()) +
                                  " commits, quorum is " + std::to_string(ledger::quorum(n)) +
                                  " of " + std::to_string(n));
  }
  for (size_t i = 0; i < cert.commits.size(); ++i) {
    if (i > 0 && !(cert.commits[i - 1].voter < cert.commits[i].voter)) {
      return util::invalid_argument("certificate commits are not sorted and unique (entry " +
                                    std::to_string(i) + ")");
    }
    const ledger::Address who = crypto::address_bytes_of(cert.commits[i].voter);
    if (std::find(witnesses.begin(), witnesses.end(), who) == witnesses.end()) {
      return util::invalid_argument("certificate commit " + std::to_string(i) + " is from " +
                                    crypto::encode_address(who) + ", not a witness");
    }
    const ledger::WitnessVote v = cert.vote_of(chain_id, i);
    if (!checker.verify(v.voter, v.signing_bytes(), v.signature)) {
      return util::invalid_argument("certificate commit " + std::to_string(i) + " from " +
                                    crypto::encode_address(who) + " has a bad signature");
    }
  }
  return {};
}

}  // namespace imet::consensus
