// The peers file: a host's bans and known addresses, kept across restarts (compare Bitcoin Core's
// banlist.json and peers.dat). JSON, written by the host to NetConfig::peers_file; the format is
// in docs/running-a-network.md:
//   {"version": 1,
//    "banned_ids": [{"id": "<64 hex>", "until_unix_ms": N}, ...],
//    "banned_ips": [{"ip": "203.0.113.5", "until_unix_ms": N}, ...],
//    "addresses": [{"address": "host:port", "source": "peer" | "node", "failures": N,
//                   "tried": true | false (optional, default false)}, ...]}
// Ban expiries are wall-clock (Unix ms) on disk, since the host's own are monotonic and mean
// nothing after a restart. Pure: encoding and decoding only; the host does the file I/O.
// Thread-safety: plain values and pure functions.
// Invariants: decode_peer_file(encode_peer_file(d)) == d for every d whose entries are valid;
// decode_peer_file() accepts only that shape (unknown keys ignored) and otherwise returns an error
// naming the first bad field, never a partial result; at most kMaxPeerFileEntries entries per list.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/addr_book.h"
#include "net/types.h"
#include "util/result.h"

namespace imet::net {

inline constexpr size_t kMaxPeerFileEntries = 100'000;
inline constexpr size_t kMaxPeerFileBytes = size_t{16} << 20;

struct PeerFileData {
  std::vector<std::pair<PeerId, int64_t>> banned_ids;       // until, Unix ms
  std::vector<std::pair<std::string, int64_t>> banned_ips;  // until, Unix ms
  std::vector<AddrBook::Saved> addresses;
};

std::string encode_peer_file(const PeerFileData& data);
// E.g. "banned_ids[3].id: not 64 hex digits", "not JSON: syntax error at byte 17".
util::Result<PeerFileData> decode_peer_file(std::string_view text);

}  // namespace imet::net
