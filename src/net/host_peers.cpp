// Host's traffic with connected peers (host.h): per-peer rate limits on what arrives, gossip
// duplicate suppression on receipt, the net messages PING/PONG (and dispatch of GETADDR/ADDR to
// host_addr.cpp), protocol violations, scoring and bans, and sends with their accounting.
// Thread-safety: every function here runs on the host strand; the seen cache, bans, stats and
// peer snapshots are touched under mu_ only.
// Invariants: a peer at or above ban_threshold is banned (identity, and IP unless loopback is
// exempt) and closed once; net messages are taken only from the connection in use; a protocol
// violation always closes the peer.
#include <algorithm>

#include "net/host.h"
#include "util/log.h"

namespace imet::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

void Host::on_link_violation(const std::shared_ptr<Link>& link, double points,
                             const std::string& reason) {
  {
    std::lock_guard lock(mu_);
    ++stats_.violations;
  }
  auto it = peers_.find(link->id());
  if (it == peers_.end() || !is_peer_link(it->second, link)) return;
  penalize_peer(it->second, points, reason);
}

void Host::on_link_frame(const std::shared_ptr<Link>& link, Frame&& frame) {
  if (stopped_) return;
  auto it = peers_.find(link->id());
  if (it == peers_.end() || !is_peer_link(it->second, link)) return;
  Peer& p = it->second;
  // A spare still carries what the peer sent before it moved to the kept connection; net
  // messages are per connection and only taken from the one in use.
  if (link != p.link && frame.type < kFirstAppMessageType) return;
  const int64_t now = steady_now_ms();
  const double size = static_cast<double>(frame.payload.size() + kFrameHeaderBytes);
  if (!p.messages.take(1, now) || !p.bytes.take(size, now)) {
    {
      std::lock_guard lock(mu_);
      ++stats_.rate_limited;
    }
    if (now - p.last_rate_log_ms >= 1000) {
      p.last_rate_log_ms = now;
      util::log::warn("p2p peer over its rate limit, dropping messages",
                      {{"peer", peer_id_short(p.info.id)}, {"type", static_cast<int>(frame.type)}});
    }
    penalize_peer(p, config_.penalty_rate_limited, "rate limit exceeded");
    return;
  }
  ++p.info.messages_in;
  {
    std::lock_guard lock(mu_);
    ++stats_.messages_in;
  }
  if (frame.type < kFirstAppMessageType) {
    handle_net_message(p, frame);
    return;
  }
  if ((frame.flags & kFlagGossip) != 0) {
    const auto key = SeenCache::key(frame.type, frame.payload);
    bool fresh;
    {
      std::lock_guard lock(mu_);
      fresh = seen_.on_received(key, p.info.id);
      if (!fresh) ++stats_.gossip_duplicates;
    }
    if (!fresh) return;
  }
  const PeerId from = p.info.id;  // p may be erased by the time the handler returns
  handler_.on_message(from, frame.type, frame.payload);
}

void Host::protocol_violation(Peer& p, const std::string& why) {
  {
    std::lock_guard lock(mu_);
    ++stats_.violations;
  }
  penalize_peer(p, config_.penalty_protocol_violation, why);
  close_peer(p, "protocol violation: " + why);
}

void Host::handle_net_message(Peer& p, Frame& frame) {
  switch (static_cast<NetMessage>(frame.type)) {
    case NetMessage::kPing: {
      auto nonce = decode_ping(frame.payload);
      if (!nonce.ok()) return protocol_violation(p, nonce.status().message());
      const util::Bytes pong = encode_ping(*nonce);
      send_to(p, static_cast<uint8_t>(NetMessage::kPong), 0, pong);
      return;
    }
    case NetMessage::kPong: {
      auto nonce = decode_ping(frame.payload);
      if (!nonce.ok()) return protocol_violation(p, nonce.status().message());
      if (*nonce == p.ping_nonce && p.last_ping_ms != 0) {
        p.info.rtt_ms = steady_now_ms() - p.last_ping_ms;
        if (p.min_rtt_ms < 0 || p.info.rtt_ms < p.min_rtt_ms) p.min_rtt_ms = p.info.rtt_ms;
        publish_snapshot(p);
      }
      return;
    }
    case NetMessage::kGetAddr:
      return handle_getaddr(p, frame);
    case NetMessage::kAddr:
      return handle_addr(p, frame);
  }
  protocol_violation(p, "unknown net message type " + std::to_string(frame.type));
}

void Host::penalize_peer(Peer& p, double points, const std::string& reason) {
  if (p.link->closed() && p.info.score >= config_.ban_threshold) return;  // already banned
  p.info.score += points;
  publish_snapshot(p);
  util::log::debug("p2p peer penalized", {{"peer", peer_id_short(p.info.id)},
                                          {"points", points},
                                          {"score", p.info.score},
                                          {"reason", reason}});
  if (p.info.score < config_.ban_threshold) return;
  const int64_t until = steady_now_ms() + config_.ban_seconds * 1000;
  const std::string ip = p.link->remote_ip();
  const bool ban_ip = ip_bannable(ip);
  {
    std::lock_guard lock(mu_);
    bans_.ban_id(p.info.id, until);
    if (ban_ip) bans_.ban_ip(ip, until);
    ++stats_.bans;
    peers_dirty_ = true;
  }
  util::log::warn("p2p peer banned", {{"peer", peer_id_hex(p.info.id)},
                                      {"ip", ip},
                                      {"ip_banned", ban_ip},
                                      {"seconds", config_.ban_seconds},
                                      {"score", p.info.score},
                                      {"reason", reason}});
  close_peer(p, "banned: " + reason);
}

void Host::send_to(Peer& p, uint8_t type, uint8_t flags, util::ByteSpan payload) {
  const bool was_open = !p.link->closed();
  p.link->send_frame(type, flags, payload);
  if (was_open && p.link->closed()) {
    std::lock_guard lock(mu_);
    ++stats_.slow_peers_dropped;
    return;
  }
  ++p.info.messages_out;
  std::lock_guard lock(mu_);
  ++stats_.messages_out;
}

void Host::publish_snapshot(const Peer& p) {
  std::lock_guard lock(mu_);
  snapshot_[p.info.id] = p.info;
}

}  // namespace imet::net
