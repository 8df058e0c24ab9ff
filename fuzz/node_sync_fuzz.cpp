// Fuzz target: the node's P2P application messages for chain status and block sync
// (node/p2p_protocol.h), which arrive from untrusted peers. The first byte picks the type
// (mod 3: StatusMsg, GetBlocksMsg, BlocksMsg); an accepted input must re-encode to the same bytes
// (canonical codec), and a decoded BlocksMsg must hold consecutive heights.
#include <cstdint>
#include <cstdlib>

#include "node/p2p_protocol.h"

using namespace imet;

namespace {

template <typename T>
void roundtrip(util::ByteSpan input) {
  auto decoded = codec::decode<T>(input);
  if (!decoded.ok()) return;
  util::Bytes again = codec::encode(*decoded);
  if (again.size() != input.size() || !std::equal(again.begin(), again.end(), input.begin())) {
    std::abort();
  }
  if constexpr (std::is_same_v<T, node::p2p::BlocksMsg>) {
    const auto& b = decoded->blocks;
    for (size_t i = 1; i < b.size(); ++i) {
      if (b[i].block.header.height != b[i - 1].block.header.height + 1) std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  util::ByteSpan input(data + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      roundtrip<node::p2p::StatusMsg>(input);
      break;
    case 1:
      roundtrip<node::p2p::GetBlocksMsg>(input);
      break;
    case 2:
      roundtrip<node::p2p::TxsMsg>(input);
      break;
    case 3:
      roundtrip<node::p2p::TxIdsMsg>(input);
      break;
    case 4:
      roundtrip<node::p2p::RepeatMsg>(input);
      break;
    default:
      roundtrip<node::p2p::BlocksMsg>(input);
      break;
  }
  return 0;
}
