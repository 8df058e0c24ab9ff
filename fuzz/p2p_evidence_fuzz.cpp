// Fuzz target: the node's P2P equivocation evidence message (node/p2p_protocol.h kEvidence, a
// canonical ledger::Evidence from an untrusted peer) through what the node does with it: decode,
// then consensus::Engine::on_evidence over a real node::Chain (4-witness testnet genesis over
// store::MemoryStore, witness keys from fixed seeds 1..4, so the seed corpus can hold validly
// signed evidence). Properties: an accepted input re-encodes to the same bytes; the engine accepts
// only evidence that passes Evidence::check, and reports (for gossip) exactly what it accepted;
// the pending pool never exceeds its bound.
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "consensus/engine.h"
#include "ledger/genesis.h"
#include "node/chain.h"
#include "node/p2p_protocol.h"
#include "store/memory_store.h"

using namespace imet;

namespace {

constexpr const char* kChainId = "imet-fuzz";

struct World {
  store::MemoryStore db;
  consensus::DirectChecker checker;
  std::unique_ptr<node::Chain> chain;
  std::unique_ptr<consensus::Engine> engine;
  World() {
    std::vector<ledger::Address> witnesses;
    for (uint8_t i = 1; i <= 4; ++i) {
      crypto::Seed s{};
      s.fill(i);
      witnesses.push_back(crypto::address_bytes_of(crypto::SigningKey::from_seed(s).public_key()));
    }
    ledger::Genesis g = ledger::make_testnet_genesis(witnesses, 1'000, kChainId, 500);
    chain = node::Chain::open(db, g, {.serial_verifier = true}).value();
    engine = std::make_unique<consensus::Engine>(*chain, std::nullopt, checker);
    (void)engine->start(1'000);
  }
};

World& world() {
  static World w;
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  util::ByteSpan input(data, size);
  auto ev = codec::decode<ledger::Evidence>(input);
  if (!ev.ok()) return 0;
  util::Bytes again = codec::encode(*ev);
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  World& w = world();
  consensus::Output out = w.engine->on_evidence(*ev, 1'000);
  if (out.verdict == consensus::Verdict::kAccepted) {
    if (!ev->check(kChainId).ok()) std::abort();
    if (out.evidence.size() != 1 || !(out.evidence[0] == *ev)) std::abort();
  } else if (!out.evidence.empty()) {
    std::abort();
  }
  if (w.engine->pending_evidence().size() > consensus::EngineOptions{}.max_pending_evidence) {
    std::abort();
  }
  return 0;
}
