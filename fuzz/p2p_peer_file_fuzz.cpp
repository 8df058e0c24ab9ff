// libFuzzer target for the peers file (net/peer_file.h), which a node reads from its data dir at
// start and must survive in any state (truncated by a crash of another tool, edited by hand,
// garbage): decode_peer_file on arbitrary bytes never crashes; an accepted file re-encodes to a
// file that decodes to the same data (the text may differ: whitespace, key order, unknown keys).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/peer_file.h"

using namespace imet;

namespace {

bool same(const net::PeerFileData& a, const net::PeerFileData& b) {
  if (a.banned_ids != b.banned_ids || a.banned_ips != b.banned_ips) return false;
  if (a.addresses.size() != b.addresses.size()) return false;
  for (size_t i = 0; i < a.addresses.size(); ++i) {
    const auto& x = a.addresses[i];
    const auto& y = b.addresses[i];
    if (!(x.endpoint == y.endpoint) || x.source != y.source || x.failures != y.failures) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = net::decode_peer_file(text);
  if (!decoded.ok()) return 0;
  auto again = net::decode_peer_file(net::encode_peer_file(*decoded));
  if (!again.ok() || !same(*decoded, *again)) std::abort();
  return 0;
}
