// Host's addresses (host.h): answering GETADDR with a sample of the address book, taking the one
// ADDR answer per connection, addresses from the node registry (add_addresses), and the peers
// file (net/peer_file.h) that keeps bans and addresses across restarts.
// Thread-safety: handle_getaddr/handle_addr and load_peers_file run on the host strand (the
// latter before it starts); add_addresses posts to it; save_peers_file may run on any thread: it
// takes file_mu_ and then mu_, and reads only state guarded by mu_.
// Invariants: one ADDR is used per GETADDR sent, unsolicited ones are ignored; a ban loaded from
// the file ends at most ban_seconds after the load; a file write replaces the old file atomically
// and files are written in the order their contents were taken.
#include <algorithm>
#include <optional>

#include <boost/asio/post.hpp>

#include "net/host.h"
#include "net/peer_file.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"

namespace imet::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

void Host::handle_getaddr(Peer& p, const Frame& frame) {
  if (!frame.payload.empty()) return protocol_violation(p, "getaddr carries a payload");
  if (p.getaddr_answered) return;  // one answer per connection
  p.getaddr_answered = true;
  const auto sample = book_.sample(config_.max_addr_per_message, rng_);
  send_to(p, static_cast<uint8_t>(NetMessage::kAddr), 0, encode_addr(sample));
}

void Host::handle_addr(Peer& p, const Frame& frame) {
  auto addrs = decode_addr(frame.payload);
  if (!addrs.ok()) return protocol_violation(p, addrs.status().message());
  if (addrs->size() > config_.max_addr_per_message) {
    return protocol_violation(p, "addr with " + std::to_string(addrs->size()) + " entries, above " +
                                     std::to_string(config_.max_addr_per_message));
  }
  if (!p.getaddr_sent || p.addr_received) return;  // unsolicited: ignored
  p.addr_received = true;
  size_t added = 0;
  const NetGroup from = netgroup_of(p.link->remote_ip(), config_.limit_local_netgroups);
  for (const auto& e : *addrs)
    added += book_.add(e, AddrSource::kPeer, from) ? 1 : 0;
  util::log::debug("p2p learned addresses", {{"peer", peer_id_short(p.info.id)},
                                             {"received", static_cast<int>(addrs->size())},
                                             {"new", static_cast<int>(added)}});
}

size_t Host::add_addresses(const std::vector<std::string>& endpoints) {
  std::vector<Endpoint> parsed;
  for (const auto& s : endpoints) {
    auto e = parse_endpoint(s);
    if (!e.ok()) {
      util::log::warn("p2p ignored a node address", {{"error", e.status().message()}});
      continue;
    }
    parsed.push_back(std::move(*e));
  }
  const size_t n = parsed.size();
  asio::post(strand_, [self = shared_from_this(), parsed = std::move(parsed)] {
    for (const auto& e : parsed)
      self->book_.add(e, AddrSource::kNode);
  });
  return n;
}

void Host::load_peers_file() {
  const std::string& path = config_.peers_file;
  if (path.empty()) return;
  auto text = util::read_file(path, kMaxPeerFileBytes);
  if (!text.ok()) {
    if (text.status().code() != util::StatusCode::kNotFound) {
      util::log::warn("p2p peers file ignored: cannot read it",
                      {{"path", path}, {"error", text.status().message()}});
    }
    return;
  }
  auto data = decode_peer_file(*text);
  if (!data.ok()) {
    util::log::warn("p2p peers file ignored: not a valid peers file (it is rewritten)",
                    {{"path", path}, {"error", data.status().message()}});
    return;
  }
  // On disk: wall-clock expiry. In memory: monotonic. A ban never lasts longer than ban_seconds
  // from now (the clock may have been set back, or the file edited).
  const int64_t now = steady_now_ms(), now_unix = util::SystemClock::instance().now_unix_ms();
  const int64_t max_left = config_.ban_seconds * 1000;
  size_t bans = 0, expired = 0, addresses = 0;
  {
    std::lock_guard lock(mu_);
    // The monotonic expiry of a ban saved until `until_unix`; nullopt if it has expired.
    auto restore = [&](int64_t until_unix) -> std::optional<int64_t> {
      const int64_t left = until_unix - now_unix;
      if (left <= 0) {
        ++expired;
        return std::nullopt;
      }
      ++bans;
      return now + std::min(left, max_left);
    };
    for (const auto& ban : data->banned_ids) {
      if (auto at = restore(ban.second)) bans_.ban_id(ban.first, *at);
    }
    for (const auto& ban : data->banned_ips) {
      if (auto at = restore(ban.second)) bans_.ban_ip(ban.first, *at);
    }
  }
  for (const AddrBook::Saved& a : data->addresses)
    addresses += book_.restore(a) ? 1 : 0;
  {
    std::lock_guard lock(mu_);  // a stop() before the first tick must not write an empty list
    saved_book_version_ = book_.version();
    addr_snapshot_ = book_.saved();
  }
  util::log::info("p2p peers file loaded", {{"path", path},
                                            {"bans", static_cast<uint64_t>(bans)},
                                            {"expired_bans", static_cast<uint64_t>(expired)},
                                            {"addresses", static_cast<uint64_t>(addresses)}});
}

void Host::save_peers_file(bool force) {
  const std::string& path = config_.peers_file;
  if (path.empty()) return;
  std::lock_guard file_lock(file_mu_);
  std::string text;
  {
    std::lock_guard lock(mu_);
    if (!peers_dirty_ && !force) return;
    peers_dirty_ = false;
    const int64_t now = steady_now_ms(), now_unix = util::SystemClock::instance().now_unix_ms();
    PeerFileData d;
    for (const auto& [id, until] : bans_.ids()) {
      if (until > now) d.banned_ids.emplace_back(id, now_unix + (until - now));
    }
    for (const auto& [ip, until] : bans_.ips()) {
      if (until > now) d.banned_ips.emplace_back(ip, now_unix + (until - now));
    }
    d.addresses = addr_snapshot_;
    text = encode_peer_file(d);
  }
  util::Status st = util::write_file_replace(path, text, 0600);
  if (st.ok()) {
    last_save_error_.clear();
    return;
  }
  if (st.message() != last_save_error_) {
    util::log::warn("p2p cannot save the peers file", {{"path", path}, {"error", st.message()}});
    last_save_error_ = st.message();
  }
  std::lock_guard lock(mu_);
  peers_dirty_ = true;  // try again later
}

}  // namespace imet::net
