// Fuzz target: transaction and block decoding (the ledger's untrusted input from clients and
// peers). The first input byte picks the type; any accepted input must re-encode to exactly the
// same bytes (canonical encoding), and computing ids, signing bytes and stateless checks on it
// must not crash.
#include <cstdint>
#include <cstdlib>

#include "ledger/apply.h"
#include "ledger/block.h"

using namespace imet;

namespace {

template <typename T>
void check_canonical(util::ByteSpan input, const T& decoded) {
  util::Bytes again = codec::encode(decoded);
  if (again.size() != input.size() || !std::equal(again.begin(), again.end(), input.begin())) {
    std::abort();  // non-canonical input accepted
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  util::ByteSpan input(data + 1, size - 1);
  static const ledger::ChainParams params;
  if (data[0] % 2 == 0) {
    auto tx = codec::decode<ledger::Transaction>(input);
    if (!tx.ok()) return 0;
    check_canonical(input, *tx);
    (void)tx->id();
    (void)ledger::check_stateless(*tx, params, "imet-fuzz", /*verify_signature=*/true);
  } else {
    auto block = codec::decode<ledger::Block>(input);
    if (!block.ok()) return 0;
    check_canonical(input, *block);
    (void)block->header.hash();
    (void)ledger::tx_root(block->txs);
  }
  return 0;
}
