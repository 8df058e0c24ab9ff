// Host's connections (host.h): accepting inbound sockets (IP bans, the per-netgroup cap, and when
// full the eviction of the connection select_eviction() picks, or a refusal), keeping the outbound
// count at max_outbound by dialling due addresses (resolve, IP-ban check, connect, timeout), and
// what happens when a handshake ends: a new peer, a duplicate connection resolved by the
// lower-key rule (or kept as a spare), a refusal or failure counted and fed to the address book's
// backoff, a disconnect reported to the application.
// Thread-safety: every function here runs on the host strand; stats_ and bans_ are read and
// written under mu_.
// Invariants: see host.h (one connection in use per identity, spares never surface as
// disconnects, outbound + dials <= max_outbound, inbound <= max_inbound).
#include <algorithm>
#include <chrono>
#include <memory>

#include <boost/asio/connect.hpp>

#include "crypto/hash.h"
#include "net/eviction.h"
#include "net/host.h"
#include "net/netgroup.h"
#include "util/clock.h"
#include "util/log.h"

namespace imet::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr std::chrono::milliseconds kAcceptRetry(100);

bool is_loopback(const std::string& ip) {
  error_code ec;
  const auto a = asio::ip::make_address(ip, ec);
  return !ec && a.is_loopback();
}
}  // namespace

void Host::accept() {
  if (stopped_) return;
  acceptor_.async_accept(
      strand_, [self = shared_from_this()](const error_code& ec, tcp::socket socket) {
        if (self->stopped_) return;
        if (ec) {
          if (ec == asio::error::operation_aborted) return;
          // Out of file descriptors and the like: the pending connection stays in the backlog,
          // so retrying at once would spin. Retry after a pause, and log once per interval.
          if (const auto held = self->accept_failure_log_.admit())
            util::log::warn("p2p accept failed",
                            {{"error", ec.message()}, {"failures_not_logged", *held}});
          auto retry = std::make_shared<asio::steady_timer>(self->strand_, kAcceptRetry);
          retry->async_wait([self, retry](const error_code&) { self->accept(); });
          return;
        }
        error_code rec;
        const std::string ip = socket.remote_endpoint(rec).address().to_string();
        bool banned;
        {
          std::lock_guard lock(self->mu_);
          banned = self->ip_bannable(ip) && self->bans_.ip_banned(ip, steady_now_ms());
          if (banned) ++self->stats_.refused_banned;
        }
        if (banned) {
          util::log::info("p2p refused inbound connection", {{"ip", ip}, {"reason", "ip banned"}});
          socket.close(rec);
        } else if (const NetGroup g = netgroup_of(ip, self->config_.limit_local_netgroups);
                   g.limited &&
                   self->inbound_in_netgroup(g.key) >= self->config_.max_inbound_per_netgroup) {
          {
            std::lock_guard lock(self->mu_);
            ++self->stats_.refused_netgroup;
          }
          util::log::debug(
              "p2p refused inbound connection",
              {{"ip", ip}, {"netgroup", g.key}, {"reason", "max_inbound_per_netgroup reached"}});
          socket.close(rec);
        } else if (self->inbound_links() >= self->config_.max_inbound &&
                   !self->evict_inbound(ip, steady_now_ms())) {
          {
            std::lock_guard lock(self->mu_);
            ++self->stats_.refused_full;
          }
          util::log::debug("p2p refused inbound connection",
                           {{"ip", ip}, {"reason", "max_inbound reached, nobody evictable"}});
          socket.close(rec);
        } else {
          auto link =
              std::make_shared<Link>(self, self->settings_, std::move(socket), false, std::nullopt);
          self->links_.insert(link);
          link->start();
        }
        self->accept();
      });
}

size_t Host::outbound_in_use() const {
  size_t n = dials_.size();
  for (const auto& l : links_) {
    if (l->outbound() && !l->closed()) ++n;
  }
  return n;
}

size_t Host::inbound_links() const {
  size_t n = 0;
  for (const auto& l : links_) {
    if (!l->outbound() && !l->closed()) ++n;
  }
  return n;
}

size_t Host::inbound_in_netgroup(const std::string& key) const {
  size_t n = 0;
  for (const auto& l : links_) {
    if (!l->outbound() && !l->closed() &&
        netgroup_of(l->remote_ip(), config_.limit_local_netgroups).key == key) {
      ++n;
    }
  }
  return n;
}

uint64_t Host::netgroup_rank(const std::string& key) const {
  crypto::Blake2b256 h;
  h.update(netgroup_key_);
  h.update(util::as_bytes(key));
  const crypto::Hash256 d = h.finish();
  uint64_t rank = 0;
  for (int i = 0; i < 8; ++i)
    rank = (rank << 8) | d[static_cast<size_t>(i)];
  return rank;
}

bool Host::evict_inbound(const std::string& new_ip, int64_t now) {
  // The peers whose connection in use is inbound; any other inbound link is still in its
  // handshake, or a spare duplicate.
  std::map<const Link*, const Peer*> in_use;
  for (const auto& [id, p] : peers_) {
    if (!p.link->outbound() && !p.link->closed()) in_use.emplace(p.link.get(), &p);
  }
  std::vector<std::shared_ptr<Link>> inbound;
  std::vector<EvictionCandidate> candidates;
  for (const auto& l : links_) {
    if (l->outbound() || l->closed()) continue;
    EvictionCandidate c;
    c.id = inbound.size();
    c.netgroup = netgroup_of(l->remote_ip(), config_.limit_local_netgroups).key;
    c.netgroup_rank = netgroup_rank(c.netgroup);
    c.connected_ms = l->started_ms();
    if (auto it = in_use.find(l.get()); it != in_use.end()) {
      const Peer& p = *it->second;
      c.connected_ms = p.connected_ms;
      c.min_rtt_ms = p.min_rtt_ms;
      c.last_useful_ms = p.last_useful_ms;
      c.score = p.info.score;
    } else {
      c.in_use = false;
    }
    inbound.push_back(l);
    candidates.push_back(std::move(c));
  }
  const auto chosen = select_eviction(std::move(candidates));
  if (!chosen) return false;
  const std::shared_ptr<Link> victim = inbound[chosen->id];
  {
    std::lock_guard lock(mu_);
    ++stats_.evicted_inbound;
  }
  const std::string reason = "evicted for a new inbound connection: " + chosen->reason;
  auto it = in_use.find(victim.get());
  util::log::info("p2p evicted an inbound connection",
                  {{"peer", it != in_use.end() ? peer_id_short(it->second->info.id) : "-"},
                   {"address", victim->remote_address()},
                   {"netgroup", chosen->netgroup},
                   {"connected_s", (now - victim->started_ms()) / 1000},
                   {"new_ip", new_ip},
                   {"reason", chosen->reason}});
  if (it != in_use.end()) {
    close_peer(peers_.at(it->second->info.id), reason);
  } else {
    victim->close(reason);
  }
  return true;
}

std::set<std::string> Host::outbound_groups(const Dial* except) const {
  std::set<std::string> groups;
  for (const auto& l : links_) {
    if (!l->outbound() || l->closed()) continue;
    if (const NetGroup g = netgroup_of(l->remote_ip(), config_.limit_local_netgroups); g.limited) {
      groups.insert(g.key);
    }
  }
  for (const auto& d : dials_) {
    if (d.get() != except && !d->group.empty()) groups.insert(d->group);
  }
  return groups;
}

void Host::maintain_outbound(int64_t now) {
  const size_t used = outbound_in_use();
  if (used >= config_.max_outbound) return;
  for (const Endpoint& e : book_.due(now, config_.max_outbound - used, rng_, outbound_groups()))
    dial(e, now);
}

void Host::dial(const Endpoint& e, int64_t now) {
  book_.attempt(e);
  auto d = std::make_shared<Dial>();
  d->endpoint = e;
  d->seed = std::any_of(config_.seeds.begin(), config_.seeds.end(), [&](const std::string& s) {
    auto seed = parse_endpoint(s);
    return seed.ok() && *seed == e;
  });
  if (const NetGroup g = book_.group_of(e); g.limited) d->group = g.key;
  d->started_ms = now;
  d->socket = std::make_shared<tcp::socket>(strand_);
  d->resolver = std::make_shared<tcp::resolver>(strand_);
  dials_.push_back(d);
  util::log::debug("p2p dialling", {{"address", e.to_string()}});
  d->resolver->async_resolve(
      e.host, std::to_string(e.port),
      [self = shared_from_this(), d](const error_code& ec, tcp::resolver::results_type results) {
        if (ec || self->stopped_) {
          self->dial_done(d, ec ? ec : asio::error::operation_aborted);
          return;
        }
        // Refuse to dial a banned IP.
        for (const auto& r : results) {
          const std::string ip = r.endpoint().address().to_string();
          bool banned;
          {
            std::lock_guard lock(self->mu_);
            banned = self->ip_bannable(ip) && self->bans_.ip_banned(ip, steady_now_ms());
          }
          if (banned) {
            self->dial_done(d, asio::error::access_denied);
            return;
          }
        }
        // A host name may resolve into a netgroup that already has an outbound peer: only the
        // addresses outside those are tried (seeds: all).
        std::vector<tcp::endpoint> targets;
        const std::set<std::string> in_use = self->outbound_groups(d.get());
        for (const auto& r : results) {
          const NetGroup g =
              netgroup_of(r.endpoint().address().to_string(), self->config_.limit_local_netgroups);
          if (d->seed || !g.limited || !in_use.contains(g.key)) {
            if (targets.empty() && g.limited) d->group = g.key;
            targets.push_back(r.endpoint());
          }
        }
        if (targets.empty()) {
          util::log::debug("p2p dial skipped: its netgroup already has an outbound peer",
                           {{"address", d->endpoint.to_string()}});
          self->dials_.remove(d);
          self->book_.skipped(d->endpoint, steady_now_ms());
          return;
        }
        asio::async_connect(
            *d->socket, targets,
            [self, d](const error_code& cec, const tcp::endpoint&) { self->dial_done(d, cec); });
      });
}

void Host::dial_done(const std::shared_ptr<Dial>& d, const error_code& ec) {
  dials_.remove(d);
  if (stopped_) return;
  if (ec) {
    util::log::debug("p2p dial failed",
                     {{"address", d->endpoint.to_string()}, {"error", ec.message()}});
    book_.failed(d->endpoint, steady_now_ms());
    return;
  }
  auto link = std::make_shared<Link>(shared_from_this(), settings_, std::move(*d->socket), true,
                                     d->endpoint);
  links_.insert(link);
  link->start();
}

bool Host::ip_bannable(const std::string& ip) const {
  return config_.ban_loopback_ips || !is_loopback(ip);
}

void Host::on_link_ready(const std::shared_ptr<Link>& link) {
  if (stopped_) {
    link->close("host stopping");
    return;
  }
  const PeerId id = link->id();
  const int64_t now = steady_now_ms();
  bool banned;
  {
    std::lock_guard lock(mu_);
    ++stats_.handshakes_ok;
    banned = bans_.id_banned(id, now);
    if (banned) ++stats_.refused_banned;
  }
  if (banned) {
    util::log::info("p2p refused a banned peer",
                    {{"peer", peer_id_short(id)}, {"address", link->remote_address()}});
    link->close("identity is banned");
    return;
  }
  auto it = peers_.find(id);
  if (it != peers_.end()) {
    {
      std::lock_guard lock(mu_);
      ++stats_.duplicate_connections;
    }
    if (link->dialed()) {
      book_.connected(*link->dialed());
      it->second.endpoints.push_back(*link->dialed());
    }
    on_duplicate_ready(it->second, link, now);
    return;
  }
  Peer p{link,
         {},
         PeerInfo{},
         TokenBucket(config_.rate_messages_per_second, config_.rate_messages_burst, now),
         TokenBucket(config_.rate_bytes_per_second, config_.rate_bytes_burst, now),
         {},
         netgroup_of(link->remote_ip(), config_.limit_local_netgroups).key,
         now,
         0,
         -1,
         now,
         0,
         now,
         0,
         false,
         false,
         false};
  p.info.id = id;
  p.info.remote_address = link->remote_address();
  p.info.listen_port = link->hello().listen_port;
  p.info.outbound = link->outbound();
  p.info.protocol_version = link->hello().protocol_version;
  p.info.software_version = link->hello().software_version;
  p.info.connected_unix_ms = util::SystemClock::instance().now_unix_ms();
  if (link->dialed()) {
    book_.connected(*link->dialed());
    p.endpoints.push_back(*link->dialed());
  } else if (p.info.listen_port != 0) {
    // An inbound peer that listens: its address is worth sharing, and not worth dialling now.
    const Endpoint listen{link->remote_ip(), p.info.listen_port};
    book_.add(listen, AddrSource::kPeer);
    book_.set_in_use(listen, true);
    p.endpoints.push_back(listen);
  }
  auto& inserted = peers_.emplace(id, std::move(p)).first->second;
  publish_snapshot(inserted);
  util::log::info("p2p peer connected", {{"peer", peer_id_short(id)},
                                         {"address", inserted.info.remote_address},
                                         {"outbound", inserted.info.outbound},
                                         {"version", inserted.info.software_version}});
  if (inserted.info.outbound) {
    inserted.getaddr_sent = true;
    send_to(inserted, static_cast<uint8_t>(NetMessage::kGetAddr), 0, {});
  }
  const PeerInfo info = inserted.info;
  handler_.on_peer_connected(id, info);
}

void Host::on_duplicate_ready(Peer& p, const std::shared_ptr<Link>& link, int64_t now) {
  // Both sides compute the same: the connection initiated by the lower identity key is kept.
  auto initiated_by_lower = [&](const Link& l) {
    return l.outbound() ? settings_->self_id < p.info.id : p.info.id < settings_->self_id;
  };
  const bool new_by_lower = initiated_by_lower(*link);
  // Two connections initiated by the same node: its own order decides which one it keeps (the
  // first ready there). As their initiator we keep the first; as their responder we follow the
  // newest (after a restart, the peer's new connection is the live one) and keep the other as a
  // spare until the peer closes one of them.
  const bool keep_new =
      new_by_lower != initiated_by_lower(*p.link) ? new_by_lower : !link->outbound();
  std::shared_ptr<Link> dropped = link;
  if (keep_new) {
    dropped = p.link;
    use_link(p, link);
  }
  util::log::debug("p2p duplicate connection", {{"peer", peer_id_short(p.info.id)},
                                                {"kept", p.link->remote_address()},
                                                {"dropped", dropped->remote_address()},
                                                {"dropped_outbound", dropped->outbound()}});
  if (dropped->outbound()) {
    dropped->close("duplicate connection (kept the one initiated by the lower key)");
  } else {
    // The peer initiated it and may still be using it: closing it now could reach the peer before
    // the connection we kept is ready there, and it would see a disconnect. The peer closes it.
    p.spares.push_back(Spare{dropped, now + config_.handshake_timeout_ms});
  }
}

void Host::use_link(Peer& p, const std::shared_ptr<Link>& link) {
  p.link = link;
  p.info.outbound = link->outbound();
  p.info.remote_address = link->remote_address();
  p.info.bytes_in = link->bytes_in();
  p.info.bytes_out = link->bytes_out();
  // GETADDR and its answer are per connection.
  p.getaddr_answered = false;
  p.getaddr_sent = false;
  publish_snapshot(p);
  if (link->outbound() && !p.addr_received) {
    p.getaddr_sent = true;
    send_to(p, static_cast<uint8_t>(NetMessage::kGetAddr), 0, {});
  }
}

bool Host::is_peer_link(const Peer& p, const std::shared_ptr<Link>& link) {
  return p.link == link || std::any_of(p.spares.begin(), p.spares.end(),
                                       [&](const Spare& s) { return s.link == link; });
}

void Host::close_peer(Peer& p, const std::string& reason) {
  for (const auto& s : p.spares)
    s.link->close(reason);
  p.spares.clear();
  p.link->close(reason);
}

void Host::on_link_closed(const std::shared_ptr<Link>& link) {
  links_.erase(link);
  if (stopped_) return;
  const int64_t now = steady_now_ms();
  if (!link->ready()) {
    {
      std::lock_guard lock(mu_);
      switch (link->refusal()) {
        case LinkRefusal::kNetwork:
          ++stats_.refused_network;
          break;
        case LinkRefusal::kSelf:
          ++stats_.self_connections;
          break;
        default:
          ++stats_.handshakes_failed;
      }
    }
    if (link->refusal() == LinkRefusal::kNetwork) {
      util::log::warn("p2p peer refused: wrong network", {{"address", link->remote_address()},
                                                          {"outbound", link->outbound()},
                                                          {"reason", link->close_reason()}});
    } else if (link->refusal() == LinkRefusal::kSelf) {
      util::log::info("p2p dropped a connection to ourselves",
                      {{"address", link->remote_address()}});
    } else {
      util::log::info("p2p handshake failed", {{"address", link->remote_address()},
                                               {"outbound", link->outbound()},
                                               {"reason", link->close_reason()}});
    }
    if (link->dialed()) {
      if (link->refusal() == LinkRefusal::kSelf) {
        book_.mark_self(*link->dialed());
      } else {
        book_.failed(*link->dialed(), now);
      }
    }
    return;
  }
  auto it = peers_.find(link->id());
  if (it == peers_.end()) return;
  Peer& p = it->second;
  if (p.link != link) {  // a replaced duplicate or a spare
    std::erase_if(p.spares, [&](const Spare& s) { return s.link == link; });
    return;
  }
  // The peer initiated both connections and closed the one we were using: it kept the spare.
  std::erase_if(p.spares, [](const Spare& s) { return s.link->closed(); });
  if (!link->outbound() && !p.spares.empty()) {
    auto next = p.spares.back().link;
    p.spares.pop_back();
    util::log::debug("p2p peer moved to its other connection",
                     {{"peer", peer_id_short(p.info.id)}, {"address", next->remote_address()}});
    use_link(p, next);
    return;
  }
  // Spares left here lost to the connection that just closed; their initiator closes them anyway.
  for (const auto& s : p.spares)
    s.link->close("the peer's kept connection closed");
  // A connection shorter than a handshake timeout counts as a failed dial (backoff grows).
  const bool stable = now - p.connected_ms >= config_.handshake_timeout_ms;
  for (const auto& e : p.endpoints)
    book_.disconnected(e, now, stable);
  util::log::info("p2p peer disconnected", {{"peer", peer_id_short(link->id())},
                                            {"address", link->remote_address()},
                                            {"reason", link->close_reason()}});
  const PeerId id = link->id();
  peers_.erase(it);
  {
    std::lock_guard lock(mu_);
    snapshot_.erase(id);
  }
  handler_.on_peer_disconnected(id);
}

}  // namespace imet::net
