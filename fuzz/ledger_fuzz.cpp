// Fuzz target: transaction, block and PoD receipt decoding (the ledger's untrusted input from
// clients and peers). The first input byte picks the type (mod 3: 0 transaction, 1 block,
// 2 receipt); any accepted input must re-encode to exactly the same bytes (canonical encoding), and
// computing ids, signing bytes and stateless checks on it must not crash. A decoded transaction is
// also applied to a small state (funded sender, one registered node, recent block hashes) with its
// signature ignored, so every kind's validation, pod_settle included, runs on arbitrary input: it
// must not crash, and a rejected transaction must change nothing.
#include <cstdint>
#include <cstdlib>

#include "ledger/apply.h"
#include "ledger/block.h"
#include "ledger/pod.h"

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  util::ByteSpan input(data + 1, size - 1);
  static const ledger::ChainParams params;
  if (data[0] % 3 == 0) {
    auto tx = codec::decode<ledger::Transaction>(input);
    if (!tx.ok()) return 0;
    check_canonical(input, *tx);
    (void)tx->id();
    (void)ledger::check_stateless(*tx, params, "imet-fuzz", /*verify_signature=*/true);
    apply_to_state(*tx, params);
  } else if (data[0] % 3 == 2) {
    auto receipt = codec::decode<ledger::PodReceipt>(input);
    if (!receipt.ok()) return 0;
    check_canonical(input, *receipt);
    (void)ledger::receipt_id("imet-fuzz", *receipt);
  } else {
    auto block = codec::decode<ledger::Block>(input);
    if (!block.ok()) return 0;
    check_canonical(input, *block);
    (void)block->header.hash();
    (void)ledger::tx_root(block->txs);
  }
  return 0;
}
