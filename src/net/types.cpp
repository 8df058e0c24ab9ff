// Peer id formatting (types.h).
#include "net/types.h"

#include "util/bytes.h"

namespace imet::net {

std::string peer_id_hex(const PeerId& id) {
  return util::to_hex(id);
}

std::string peer_id_short(const PeerId& id) {
  return util::to_hex(util::ByteSpan(id).first(8));
}

}  // namespace imet::net
