// Fuzz target: transaction, block, PoD receipt, finality certificate and evidence decoding (the
// ledger's untrusted input from clients and peers). The first input byte picks the type (mod 5:
// 0 transaction, 1 block, 2 receipt, 3 certificate, 4 evidence); any accepted input must re-encode
// to exactly the same bytes (canonical encoding), and computing ids, roots, signing bytes and
// stateless checks on it must not crash. A decoded transaction is also applied to a small state
// (funded sender, one registered node, recent block hashes) with its signature ignored, so every
// kind's validation, pod_settle included, runs on arbitrary input: it must not crash, and a
// rejected transaction must change nothing. A decoded block also runs the consensus rules
// (schedule, producer, parent certificate, evidence) over a 4-witness testnet genesis state, and a
// certificate is verified against that witness set: errors are fine, crashes are not, and a
// refused block changes nothing.
#include <cstdint>
#include <cstdlib>

#include "ledger/apply.h"
#include "ledger/block.h"
#include "ledger/block_apply.h"
#include "ledger/consensus_apply.h"
#include "ledger/genesis.h"
#include "ledger/pod.h"
#include "ledger/schedule.h"

using namespace imet;

namespace {

template <typename T>
void check_canonical(util::ByteSpan input, const T& decoded) {
  util::Bytes again = codec::encode(decoded);
  if (again.size() != input.size() || !std::equal(again.begin(), again.end(), input.begin())) {
    std::abort();  // non-canonical input accepted
  }
}

// Applies `tx` to a fresh small state; aborts if a rejection left changes behind.
void apply_to_state(const ledger::Transaction& tx, const ledger::ChainParams& params) {
  ledger::MemoryState base;
  ledger::StateOverlay setup(&base);
  ledger::Account sender;
  sender.balance = ledger::imet(1'000'000);
  sender.nonce = tx.nonce;  // let execution go past the nonce check
  ledger::put_record(setup, ledger::keys::account(tx.sender_address()), sender);
  ledger::put_record(setup, ledger::keys::globals(), ledger::Globals{ledger::imet(1000), 0});
  ledger::NodeRecord node;
  node.node_key = tx.sender;
  node.owner = tx.sender_address();
  node.stake = ledger::imet(500);
  ledger::put_record(setup, ledger::keys::node(tx.sender_address()), node);
  for (uint64_t h = 1; h <= 5; ++h) {
    ledger::Hash prev{};
    prev[0] = static_cast<uint8_t>(h);
    (void)ledger::begin_block(setup, h, prev, params);
  }
  base.apply(setup.changes());
  ledger::BlockContext ctx{&params, tx.chain_id, 5, 1'000'000, {}};
  ledger::StateOverlay block(&base);
  if (ledger::apply_transaction(block, tx, ctx) && !block.changes().empty()) std::abort();
}

// A 4-witness testnet genesis state (built once).
struct Testnet {
  ledger::Genesis genesis;
  ledger::ChainConfig chain;
  ledger::MemoryState state;
  std::vector<ledger::Address> witnesses;
  Testnet() {
    for (uint8_t i = 1; i <= 4; ++i) {
      crypto::Seed seed{};
      seed.fill(i);
      witnesses.push_back(
          crypto::address_bytes_of(crypto::SigningKey::from_seed(seed).public_key()));
    }
    genesis = ledger::make_testnet_genesis(witnesses, 1000, "imet-fuzz");
    chain = {genesis.chain_id, genesis.genesis_time_ms, genesis.params};
    ledger::StateOverlay o(&state);
    genesis.apply(o);
    state.apply(o.changes());
  }
};

const Testnet& testnet() {
  static const Testnet t;
  return t;
}

void run_consensus_rules(const ledger::Block& block) {
  const Testnet& t = testnet();
  const ledger::ChainTip parent{block.header.height == 0 ? 0 : block.header.height - 1,
                                block.header.prev_hash, 0};
  (void)ledger::check_header(block, parent, t.chain);
  ledger::StateOverlay o(&t.state);
  util::Status st = ledger::begin_consensus(o, block, parent, t.chain, /*check_producer=*/true);
  if (st.ok()) st = ledger::end_consensus(o, block, t.chain);
  ledger::StateOverlay whole(&t.state);
  if (ledger::apply_block(whole, block, parent, t.chain, ledger::SerialVerifier()) &&
      !whole.changes().empty()) {
    std::abort();  // a refused block left changes behind
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  util::ByteSpan input(data + 1, size - 1);
  static const ledger::ChainParams params;
  const uint8_t kind = data[0] % 5;
  if (kind == 0) {
    auto tx = codec::decode<ledger::Transaction>(input);
    if (!tx.ok()) return 0;
    check_canonical(input, *tx);
    (void)tx->id();
    (void)ledger::check_stateless(*tx, params, "imet-fuzz", /*verify_signature=*/true);
    apply_to_state(*tx, params);
  } else if (kind == 2) {
    auto receipt = codec::decode<ledger::PodReceipt>(input);
    if (!receipt.ok()) return 0;
    check_canonical(input, *receipt);
    (void)ledger::receipt_id("imet-fuzz", *receipt);
  } else if (kind == 3) {
    auto cert = codec::decode<ledger::FinalityCertificate>(input);
    if (!cert.ok()) return 0;
    check_canonical(input, *cert);
    (void)cert->verify("imet-fuzz", testnet().witnesses);
  } else if (kind == 4) {
    auto ev = codec::decode<ledger::Evidence>(input);
    if (!ev.ok()) return 0;
    check_canonical(input, *ev);
    (void)ev->offence_id();
    (void)ev->check("imet-fuzz");
  } else {
    auto block = codec::decode<ledger::Block>(input);
    if (!block.ok()) return 0;
    check_canonical(input, *block);
    (void)block->header.hash();
    (void)ledger::tx_root(block->txs);
    (void)ledger::consensus_root(block->last_cert, block->evidence);
    run_consensus_rules(*block);
  }
  return 0;
}
