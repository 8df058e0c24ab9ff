#include "consensus/signature_check.h"

namespace imet::consensus {

util::Status verify_certificate(const ledger::FinalityCertificate& cert, std::string_view chain_id,
                                std::span<const ledger::Address> witnesses,
                                const SignatureChecker& checker) {
  return cert.verify(chain_id, witnesses, checker);
}

}  // namespace imet::consensus
