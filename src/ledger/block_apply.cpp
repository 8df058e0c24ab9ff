#include "ledger/block_apply.h"

#include "ledger/consensus_apply.h"
#include "ledger/delegates.h"

namespace imet::ledger {

namespace {
BlockError block_error(std::string m) {
  return BlockError{std::move(m), std::nullopt, std::nullopt};
}
}  // namespace

std::vector<bool> SerialVerifier::verify(std::span<const Transaction> txs) const {
  std::vector<bool> out(txs.size());
  for (size_t i = 0; i < txs.size(); ++i)
    out[i] = checker_.verify(txs[i].sender, txs[i].signing_bytes(), txs[i].signature);
  return out;
}

BlockResult check_header(const Block& block, const ChainTip& parent, const ChainConfig& chain,
                         const SignatureChecker& sigs) {
  const BlockHeader& h = block.header;
  if (h.chain_id != chain.chain_id) {
    return block_error("block is for chain '" + h.chain_id + "', this is '" + chain.chain_id + "'");
  }
  if (h.height != parent.height + 1) {
    return block_error("block height " + std::to_string(h.height) + " does not follow " +
                       std::to_string(parent.height));
  }
  if (h.prev_hash != parent.hash) {
    return block_error("block at height " + std::to_string(h.height) +
                       " does not build on the current tip " + util::to_hex(parent.hash));
  }
  if (h.time_ms <= parent.time_ms) {
    return block_error("block time " + std::to_string(h.time_ms) + " is not after its parent's " +
                       std::to_string(parent.time_ms));
  }
  if (block.txs.size() > chain.params.max_block_txs) {
    return block_error("block has " + std::to_string(block.txs.size()) +
                       " transactions; the limit is " + std::to_string(chain.params.max_block_txs));
  }
  if (block.evidence.size() > kMaxBlockEvidence) {
    return block_error("block has " + std::to_string(block.evidence.size()) +
                       " evidence entries; the limit is " + std::to_string(kMaxBlockEvidence));
  }
  if (h.height == 1 && block.last_cert) {
    return block_error("block 1 carries a parent certificate (genesis has none)");
  }
  if (h.height >= 2) {
    if (!block.last_cert) {
      return block_error("block at height " + std::to_string(h.height) +
                         " has no finality certificate of its parent");
    }
    if (block.last_cert->height != parent.height || block.last_cert->block_hash != parent.hash) {
      return block_error("the parent certificate is for height " +
                         std::to_string(block.last_cert->height) + " block " +
                         util::to_hex(block.last_cert->block_hash) + ", not the parent");
    }
  }
  if (!sigs.verify(h.producer, h.signing_bytes(), h.signature)) {
    return block_error("the producer signature does not verify");
  }
  if (tx_root(block.txs) != h.tx_root) {
    return block_error("transaction root does not match the transactions");
  }
  if (consensus_root(block.last_cert, block.evidence) != h.consensus_root) {
    return block_error("consensus root does not match the certificate and evidence");
  }
  return std::nullopt;
}

util::Status pay_block_reward(StateOverlay& state, const Address& producer, uint64_t height,
                              uint64_t time_ms, const ChainConfig& chain) {
  IMET_ASSIGN_OR_RETURN(std::optional<Globals> g, get_record<Globals>(state, keys::globals()));
  if (!g) return util::corruption("state has no globals record");
  uint64_t elapsed = time_ms > chain.genesis_time_ms ? time_ms - chain.genesis_time_ms : 0;
  Amount reward = std::min(chain.params.block_reward(elapsed), g->pod_pool);
  if (reward == 0) return {};
  Amount to_producer = *mul_div(reward, chain.params.producer_share_pct, 100);
  g->pod_pool -= reward;
  g->epoch_reward += reward - to_producer;
  put_record(state, keys::globals(), *g);
  IMET_TRY(add_to_epoch_pool(state, height, reward - to_producer, chain.params));
  IMET_ASSIGN_OR_RETURN(std::optional<Account> acc,
                        get_record<Account>(state, keys::account(producer)));
  Account before = acc.value_or(Account{});
  Account a = before;
  a.balance += to_producer;
  return write_account(state, producer, before, a);
}

BlockResult apply_block(StateOverlay& state, const Block& block, const ChainTip& parent,
                        const ChainConfig& chain, const SignatureVerifier& verifier,
                        const KnownUnjailed* known) {
  if (auto e = check_header(block, parent, chain, verifier.certificates())) return e;
  std::vector<bool> sig_ok = verifier.verify(block.txs);
  BlockContext ctx{&chain.params, chain.chain_id, block.header.height, block.header.time_ms,
                   block.header.producer_address()};
  StateOverlay block_state(&state);
  util::Status cons = begin_consensus(block_state, block, parent, chain, /*check_producer=*/true,
                                      verifier.certificates(), known);
  if (!cons.ok()) return block_error(cons.message());
  util::Status begun =
      begin_block(block_state, block.header.height, block.header.prev_hash, chain.params);
  if (!begun.ok()) return block_error(begun.message());
  for (size_t i = 0; i < block.txs.size(); ++i) {
    const Transaction& tx = block.txs[i];
    TxResult r = sig_ok[i] ? check_stateless(tx, chain.params, chain.chain_id, false)
                           : TxError{Reject::kBadSignature, "the signature does not verify"};
    if (!r) r = apply_transaction(block_state, tx, ctx);
    if (r) {
      return BlockError{"transaction " + std::to_string(i) + " (" + util::to_hex(tx.id()) +
                            ") is invalid: " + reject_name(r->reason) + ": " + r->message,
                        i, r};
    }
  }
  util::Status st =
      pay_block_reward(block_state, ctx.producer, ctx.height, block.header.time_ms, chain);
  if (!st.ok()) return block_error(st.message());
  st = end_consensus(block_state, block, chain);
  if (!st.ok()) return block_error(st.message());
  block_state.merge_into(state);
  return std::nullopt;
}

util::Result<BuiltBlock> build_block(
    StateOverlay& state, const std::vector<Transaction>& candidates, const ChainTip& parent,
    const ChainConfig& chain, const PublicKey& producer, uint64_t time_ms, uint64_t round,
    uint32_t slot, const std::optional<FinalityCertificate>& last_cert,
    const std::vector<Evidence>& evidence, const SignatureChecker& certs) {
  BuiltBlock out;
  out.block.last_cert = last_cert;
  out.block.evidence = evidence;
  BlockHeader& h = out.block.header;
  h.chain_id = chain.chain_id;
  h.height = parent.height + 1;
  h.prev_hash = parent.hash;
  h.time_ms = time_ms;
  h.producer = producer;
  h.round = round;
  h.slot = slot;
  h.consensus_root = consensus_root(last_cert, evidence);
  BlockContext ctx{&chain.params, chain.chain_id, h.height, time_ms,
                   crypto::address_bytes_of(producer)};
  IMET_TRY(begin_consensus(state, out.block, parent, chain, /*check_producer=*/false, certs));
  IMET_TRY(begin_block(state, h.height, h.prev_hash, chain.params));
  for (const Transaction& tx : candidates) {
    if (out.block.txs.size() >= chain.params.max_block_txs) break;
    TxResult r = check_stateless(tx, chain.params, chain.chain_id, /*verify_signature=*/false);
    if (!r) r = apply_transaction(state, tx, ctx);
    if (r) {
      out.rejected.emplace_back(tx.id(), *r);
    } else {
      out.block.txs.push_back(tx);
    }
  }
  IMET_TRY(pay_block_reward(state, ctx.producer, h.height, time_ms, chain));
  IMET_TRY(end_consensus(state, out.block, chain));
  h.tx_root = tx_root(out.block.txs);
  return out;
}

}  // namespace imet::ledger
