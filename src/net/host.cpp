// The P2P peer manager (host.h): start and stop, the housekeeping tick, and the public API the
// application calls from any thread (broadcast, send, penalize, mark_useful, snapshots). The other
// parts of Host are in host_connect.cpp (dialling, accepting, handshake outcomes, duplicates,
// disconnects), host_peers.cpp (traffic from connected peers, scoring and bans) and host_addr.cpp
// (address exchange and the peers file). Thread-safety and invariants: see host.h. Here: start()
// runs before the strand does; tick() runs on the strand; the public methods post to it or read
// under mu_.
#include "net/host.h"

#include <algorithm>
#include <chrono>

#include <boost/asio/post.hpp>

#include "crypto/sodium.h"
#include "util/clock.h"
#include "util/log.h"

namespace imet::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

util::Result<std::shared_ptr<Host>> Host::start(asio::io_context& io, NetConfig config,
                                                const crypto::SigningKey& identity,
                                                Handler& handler) {
  IMET_TRY(config.validate());
  auto settings = std::make_shared<LinkSettings>();
  settings->config = std::move(config);
  settings->noise_static = crypto::X25519KeyPair::generate();
  settings->self_id = identity.public_key();
  std::shared_ptr<Host> host(new Host(io, settings, handler));
  IMET_TRY(host->listen());
  // The Hello carries the bound port, known only now.
  settings->hello = encode_hello(make_hello(identity, settings->config.network_id,
                                            settings->noise_static.public_key, host->port_,
                                            settings->config.software_version));
  for (const auto& s : settings->config.seeds) {
    host->book_.add(*parse_endpoint(s), AddrSource::kSeed);
  }
  host->load_peers_file();
  util::log::info("p2p listening", {{"address", settings->config.listen_host},
                                    {"port", static_cast<int>(host->port_)},
                                    {"id", peer_id_hex(settings->self_id)},
                                    {"seeds", static_cast<int>(settings->config.seeds.size())}});
  asio::post(host->strand_, [host] {
    host->accept();
    host->tick();
  });
  return host;
}

Host::Host(asio::io_context& io, std::shared_ptr<const LinkSettings> settings, Handler& handler)
    : strand_(asio::make_strand(io)),
      settings_(std::move(settings)),
      config_(settings_->config),
      handler_(handler),
      acceptor_(strand_),
      timer_(strand_),
      book_(settings_->config.max_addresses, settings_->config.dial_backoff_min_ms,
            settings_->config.dial_backoff_max_ms, settings_->config.limit_local_netgroups),
      rng_(std::random_device{}()),
      seen_(settings_->config.seen_cache_entries) {
  crypto::random_bytes(netgroup_key_);
}

Host::~Host() = default;

util::Status Host::listen() {
  const std::string where = config_.listen_host + ":" + std::to_string(config_.listen_port);
  error_code ec;
  const auto addr = asio::ip::make_address(config_.listen_host, ec);
  if (ec) {
    return util::invalid_argument("p2p listen_host '" + config_.listen_host +
                                  "' is not an IP address");
  }
  const tcp::endpoint ep(addr, config_.listen_port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return util::unavailable("p2p cannot listen on " + where + ": " + ec.message());
  port_ = acceptor_.local_endpoint(ec).port();
  return util::Status::ok_status();
}

void Host::stop() {
  if (stopped_.exchange(true)) return;
  // Here, not on the strand: the io_context may be stopped before a posted handler runs.
  save_peers_file(true);
  asio::post(strand_, [self = shared_from_this()] {
    error_code ec;
    self->acceptor_.close(ec);
    self->timer_.cancel();
    for (auto& d : self->dials_) {
      d->resolver->cancel();
      d->socket->close(ec);
    }
    const auto links = self->links_;
    for (const auto& l : links)
      l->close("host stopping");
    self->peers_.clear();
    std::lock_guard lock(self->mu_);
    self->snapshot_.clear();
  });
}

void Host::arm_timer() {
  if (stopped_) return;
  timer_.expires_after(std::chrono::milliseconds(config_.tick_ms));
  timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->stopped_) return;
    self->tick();
  });
}

void Host::tick() {
  if (stopped_) return;
  const int64_t now = steady_now_ms();
  {
    std::lock_guard lock(mu_);
    bans_.expire(now);
  }
  // Handshake / write timeouts (copy: close() posts, but be robust to later changes).
  const auto links = links_;
  for (const auto& l : links) {
    const bool was_writing = l->queued_bytes() > 0;
    l->tick(now);
    if (l->closed() && l->ready() && was_writing) {
      std::lock_guard lock(mu_);
      ++stats_.slow_peers_dropped;
    }
  }
  for (auto& [id, p] : peers_) {
    if (p.link->closed()) continue;
    if (now - p.link->last_rx_ms() > config_.idle_timeout_ms) {
      close_peer(p,
                 "idle: nothing received for " + std::to_string(config_.idle_timeout_ms) + " ms");
      continue;
    }
    for (const auto& s : p.spares) {
      if (now > s.deadline_ms) s.link->close("duplicate connection the peer did not close");
    }
    if (now - p.last_ping_ms >= config_.ping_interval_ms) {
      p.last_ping_ms = now;
      p.ping_nonce = rng_();
      const util::Bytes ping = encode_ping(p.ping_nonce);
      send_to(p, static_cast<uint8_t>(NetMessage::kPing), 0, ping);
    }
    if (config_.score_decay_per_minute > 0 && p.info.score > 0) {
      const double forgiven =
          config_.score_decay_per_minute * static_cast<double>(now - p.last_decay_ms) / 60000.0;
      p.info.score = std::max(0.0, p.info.score - forgiven);
    }
    p.last_decay_ms = now;
    p.info.bytes_in = p.link->bytes_in();
    p.info.bytes_out = p.link->bytes_out();
    publish_snapshot(p);
  }
  // Dials that hang (black-holed address): give up after the handshake timeout.
  for (auto& d : dials_) {
    if (now - d->started_ms > config_.handshake_timeout_ms) {
      error_code ec;
      d->resolver->cancel();
      d->socket->close(ec);
    }
  }
  maintain_outbound(now);
  {
    std::lock_guard lock(mu_);
    stats_.known_addresses = book_.size();
    if (!config_.peers_file.empty() && book_.version() != saved_book_version_) {
      saved_book_version_ = book_.version();
      addr_snapshot_ = book_.saved();
      peers_dirty_ = true;
    }
  }
  if (!config_.peers_file.empty() && now - last_save_ms_ >= config_.peers_save_interval_ms) {
    last_save_ms_ = now;
    save_peers_file(false);
  }
  arm_timer();
}

bool Host::broadcast(uint8_t type, util::Bytes payload, std::optional<PeerId> except) {
  if (type < kFirstAppMessageType || payload.size() > config_.max_message_bytes || stopped_) {
    return false;
  }
  std::vector<PeerId> holders;
  {
    std::lock_guard lock(mu_);
    if (!seen_.on_broadcast(SeenCache::key(type, payload), &holders)) return false;
  }
  if (except) holders.push_back(*except);
  auto shared = std::make_shared<const util::Bytes>(std::move(payload));
  asio::post(strand_, [self = shared_from_this(), type, shared, holders = std::move(holders)] {
    if (self->stopped_) return;
    for (auto& [id, p] : self->peers_) {
      if (std::find(holders.begin(), holders.end(), id) != holders.end()) continue;
      self->send_to(p, type, kFlagGossip, *shared);
    }
  });
  return true;
}

void Host::send(const PeerId& peer, uint8_t type, util::Bytes payload) {
  if (type < kFirstAppMessageType || payload.size() > config_.max_message_bytes || stopped_) {
    util::log::error("p2p send refused", {{"peer", peer_id_short(peer)},
                                          {"type", static_cast<int>(type)},
                                          {"bytes", payload.size()}});
    return;
  }
  asio::post(strand_, [self = shared_from_this(), peer, type, payload = std::move(payload)] {
    if (self->stopped_) return;
    auto it = self->peers_.find(peer);
    if (it == self->peers_.end()) return;
    self->send_to(it->second, type, 0, payload);
  });
}

void Host::penalize(const PeerId& peer, double points, std::string reason) {
  asio::post(strand_, [self = shared_from_this(), peer, points, reason = std::move(reason)] {
    if (self->stopped_) return;
    auto it = self->peers_.find(peer);
    if (it == self->peers_.end()) return;
    self->penalize_peer(it->second, points, reason);
  });
}

void Host::mark_useful(const PeerId& peer) {
  asio::post(strand_, [self = shared_from_this(), peer] {
    if (self->stopped_) return;
    auto it = self->peers_.find(peer);
    if (it != self->peers_.end()) it->second.last_useful_ms = steady_now_ms();
  });
}

std::vector<PeerInfo> Host::peers() const {
  std::lock_guard lock(mu_);
  std::vector<PeerInfo> out;
  out.reserve(snapshot_.size());
  for (const auto& [id, info] : snapshot_)
    out.push_back(info);
  return out;
}

HostStats Host::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

bool Host::is_banned(const PeerId& id) const {
  std::lock_guard lock(mu_);
  return bans_.id_banned(id, steady_now_ms());
}

}  // namespace imet::net
