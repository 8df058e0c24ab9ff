// Fuzz target: consensus wire messages (consensus/messages.h) as they arrive from peers, and the
// engine's persisted SignerState. The first byte picks the parser (even: ConsensusMessage, odd:
// SignerState); the rest is the input. Properties (abort if broken): an accepted input re-encodes
// to exactly the same bytes; a rejected one is kInvalidArgument; computing signing bytes, hashes
// and checking signatures of an accepted message does not crash.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "consensus/engine.h"
#include "consensus/messages.h"

using namespace imet;

namespace {

void same_bytes(util::ByteSpan input, const util::Bytes& again) {
  if (again.size() != input.size() || !std::equal(again.begin(), again.end(), input.begin())) {
    std::abort();  // non-canonical input accepted
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const util::ByteSpan input(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto msg = consensus::decode_message(input);
    if (!msg.ok()) {
      if (msg.status().code() != util::StatusCode::kInvalidArgument) std::abort();
      return 0;
    }
    same_bytes(input, consensus::encode_message(*msg));
    if (const consensus::Proposal* p = msg->proposal()) {
      if (p->valid_attempt < -1 || p->valid_attempt >= static_cast<int64_t>(p->attempt)) {
        std::abort();
      }
      (void)p->block_hash();
      (void)p->signature_valid();
    } else {
      (void)msg->vote()->signature_valid();
    }
  } else {
    auto st = codec::decode<consensus::SignerState>(input);
    if (!st.ok()) {
      if (st.status().code() != util::StatusCode::kInvalidArgument) std::abort();
      return 0;
    }
    same_bytes(input, codec::encode(*st));
  }
  return 0;
}
