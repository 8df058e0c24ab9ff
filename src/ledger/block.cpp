#include "ledger/block.h"

#include "crypto/merkle.h"

namespace imet::ledger {

util::Bytes BlockHeader::signing_bytes() const {
  util::Bytes out = util::to_bytes("IMET/block/v1");
  out.push_back(0);
  codec::Writer w(out);
  const_cast<BlockHeader*>(this)->serde_unsigned(w);
  return out;
}

Hash BlockHeader::hash() const {
  return crypto::blake2b_256(codec::encode(*this));
}

void BlockHeader::sign(const crypto::SigningKey& key) {
  producer = key.public_key();
  signature = key.sign(signing_bytes());
}

bool BlockHeader::signature_valid() const {
  return crypto::verify(producer, signing_bytes(), signature);
}

Hash tx_root(const std::vector<Transaction>& txs) {
  std::vector<crypto::Hash256> leaves;
  leaves.reserve(txs.size());
  for (const Transaction& tx : txs) {
    util::Bytes enc = codec::encode(tx);
    leaves.push_back(crypto::merkle_leaf_hash(enc));
  }
  return crypto::merkle_root(leaves);
}

namespace {
// The block body's consensus part, encoded for consensus_root().
struct ConsensusPart {
  std::optional<FinalityCertificate> last_cert;
  std::vector<Evidence> evidence;
  template <typename S>
  void serde(S& s) {
    s.optional(last_cert, "last_cert");
    s.vector(evidence, kMaxBlockEvidence, "evidence");
  }
};
}  // namespace

Hash consensus_root(const std::optional<FinalityCertificate>& last_cert,
                    const std::vector<Evidence>& evidence) {
  util::Bytes buf = util::to_bytes("IMET/consensus/v1");
  buf.push_back(0);
  ConsensusPart part{last_cert, evidence};
  codec::Writer w(buf);
  part.serde(w);
  return crypto::blake2b_256(buf);
}

}  // namespace imet::ledger
