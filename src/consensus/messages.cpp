#include "consensus/messages.h"

namespace imet::consensus {

util::Bytes Proposal::signing_bytes() const {
  util::Bytes out = util::to_bytes("IMET/proposal/v1");
  out.push_back(0);
  codec::Writer w(out);
  std::string chain_id = block.header.chain_id;
  uint64_t h = block.header.height;
  uint32_t a = attempt;
  int64_t va = valid_attempt;
  ledger::Hash hash = block_hash();
  ledger::PublicKey pk = proposer;
  w.string(chain_id, ledger::kMaxChainId, "chain_id");
  w.u64(h, "height");
  w.u32(a, "attempt");
  w.i64(va, "valid_attempt");
  w.fixed(hash, "block_hash");
  w.fixed(pk, "proposer");
  return out;
}

void Proposal::sign(const crypto::SigningKey& key) {
  proposer = key.public_key();
  signature = key.sign(signing_bytes());
}

bool Proposal::signature_valid() const {
  return crypto::verify(proposer, signing_bytes(), signature);
}

util::Bytes encode_message(const ConsensusMessage& msg) {
  return codec::encode(msg);
}

util::Result<ConsensusMessage> decode_message(util::ByteSpan bytes) {
  return codec::decode<ConsensusMessage>(bytes, codec::Limits{kMaxMessageBytes});
}

}  // namespace imet::consensus
