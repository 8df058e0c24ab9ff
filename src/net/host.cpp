// The P2P peer manager (host.h).
#include "net/host.h"

#include <algorithm>
#include <chrono>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>

#include "net/peer_file.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"

namespace imet::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {
bool is_loopback(const std::string& ip) {
  error_code ec;
  const auto a = asio::ip::make_address(ip, ec);
  return !ec && a.is_loopback();
}
}  // namespace

std::string peer_id_hex(const PeerId& id) {
  return util::to_hex(id);
}
std::string peer_id_short(const PeerId& id) {
  return util::to_hex(util::ByteSpan(id).first(8));
}

util::Status NetConfig::validate() const {
  auto positive = [](double v, const char* name) -> util::Status {
    if (!(v > 0))
      return util::invalid_argument(std::string("p2p config: ") + name + " must be > 0");
    return util::Status::ok_status();
  };
  if (max_outbound == 0 && seeds.size() > 0) {
    return util::invalid_argument("p2p config: max_outbound is 0 but seeds are configured");
  }
  if (max_message_bytes == 0 || max_message_bytes > kMaxFramePayloadLimit) {
    return util::invalid_argument("p2p config: max_message_bytes must be 1.." +
                                  std::to_string(kMaxFramePayloadLimit));
  }
  const size_t chunks = (kFrameHeaderBytes + max_message_bytes + Link::kMaxNoisePlaintext - 1) /
                        Link::kMaxNoisePlaintext;
  const size_t wire = kFrameHeaderBytes + max_message_bytes + chunks * 18;
  if (max_write_queue_bytes < wire) {
    return util::invalid_argument(
        "p2p config: max_write_queue_bytes (" + std::to_string(max_write_queue_bytes) +
        ") must hold one maximum-size message (" + std::to_string(wire) + " bytes on the wire)");
  }
  if (rate_bytes_burst < static_cast<double>(max_message_bytes + kFrameHeaderBytes)) {
    return util::invalid_argument(
        "p2p config: rate_bytes_burst must be at least max_message_bytes + 6, or no maximum-size "
        "message could ever pass");
  }
  IMET_TRY(positive(ban_threshold, "ban_threshold"));
  IMET_TRY(positive(rate_messages_per_second, "rate_messages_per_second"));
  IMET_TRY(positive(rate_messages_burst, "rate_messages_burst"));
  IMET_TRY(positive(rate_bytes_per_second, "rate_bytes_per_second"));
  IMET_TRY(positive(static_cast<double>(handshake_timeout_ms), "handshake_timeout_ms"));
  IMET_TRY(positive(static_cast<double>(ping_interval_ms), "ping_interval_ms"));
  IMET_TRY(positive(static_cast<double>(idle_timeout_ms), "idle_timeout_ms"));
  IMET_TRY(positive(static_cast<double>(write_timeout_ms), "write_timeout_ms"));
  IMET_TRY(positive(static_cast<double>(dial_backoff_min_ms), "dial_backoff_min_ms"));
  IMET_TRY(positive(static_cast<double>(tick_ms), "tick_ms"));
  IMET_TRY(positive(static_cast<double>(peers_save_interval_ms), "peers_save_interval_ms"));
  if (dial_backoff_max_ms < dial_backoff_min_ms) {
    return util::invalid_argument("p2p config: dial_backoff_max_ms is below dial_backoff_min_ms");
  }
  if (ban_seconds < 0 || score_decay_per_minute < 0 || penalty_protocol_violation < 0 ||
      penalty_rate_limited < 0) {
    return util::invalid_argument(
        "p2p config: ban_seconds, score_decay_per_minute and penalties must not be negative");
  }
  if (software_version.size() > kMaxSoftwareVersionBytes) {
    return util::invalid_argument("p2p config: software_version is longer than 64 bytes");
  }
  for (const auto& s : seeds) {
    auto e = parse_endpoint(s);
    if (!e.ok()) return e.status().with_context("p2p config: seed");
  }
  return util::Status::ok_status();
}

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
            settings_->config.dial_backoff_max_ms),
      rng_(std::random_device{}()),
      seen_(settings_->config.seen_cache_entries) {}

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

void Host::accept() {
  if (stopped_) return;
  acceptor_.async_accept(
      strand_, [self = shared_from_this()](const error_code& ec, tcp::socket socket) {
        if (self->stopped_) return;
        if (ec) {
          if (ec == asio::error::operation_aborted) return;
          util::log::warn("p2p accept failed", {{"error", ec.message()}});
          self->accept();
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
        } else if (self->inbound_links() >= self->config_.max_inbound) {
          {
            std::lock_guard lock(self->mu_);
            ++self->stats_.refused_full;
          }
          util::log::debug("p2p refused inbound connection",
                           {{"ip", ip}, {"reason", "max_inbound reached"}});
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

void Host::maintain_outbound(int64_t now) {
  const size_t used = outbound_in_use();
  if (used >= config_.max_outbound) return;
  for (const Endpoint& e : book_.due(now, config_.max_outbound - used, rng_))
    dial(e, now);
}

void Host::dial(const Endpoint& e, int64_t now) {
  book_.attempt(e);
  auto d = std::make_shared<Dial>();
  d->endpoint = e;
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
        asio::async_connect(
            *d->socket, results,
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
         now,
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

void Host::handle_net_message(Peer& p, Frame& frame) {
  auto violation = [&](const std::string& why) {
    {
      std::lock_guard lock(mu_);
      ++stats_.violations;
    }
    penalize_peer(p, config_.penalty_protocol_violation, why);
    close_peer(p, "protocol violation: " + why);
  };
  switch (static_cast<NetMessage>(frame.type)) {
    case NetMessage::kPing: {
      auto nonce = decode_ping(frame.payload);
      if (!nonce.ok()) return violation(nonce.status().message());
      const util::Bytes pong = encode_ping(*nonce);
      send_to(p, static_cast<uint8_t>(NetMessage::kPong), 0, pong);
      return;
    }
    case NetMessage::kPong: {
      auto nonce = decode_ping(frame.payload);
      if (!nonce.ok()) return violation(nonce.status().message());
      if (*nonce == p.ping_nonce && p.last_ping_ms != 0) {
        p.info.rtt_ms = steady_now_ms() - p.last_ping_ms;
        publish_snapshot(p);
      }
      return;
    }
    case NetMessage::kGetAddr: {
      if (!frame.payload.empty()) return violation("getaddr carries a payload");
      if (p.getaddr_answered) return;  // one answer per connection
      p.getaddr_answered = true;
      const auto sample = book_.sample(config_.max_addr_per_message, rng_);
      send_to(p, static_cast<uint8_t>(NetMessage::kAddr), 0, encode_addr(sample));
      return;
    }
    case NetMessage::kAddr: {
      auto addrs = decode_addr(frame.payload);
      if (!addrs.ok()) return violation(addrs.status().message());
      if (addrs->size() > config_.max_addr_per_message) {
        return violation("addr with " + std::to_string(addrs->size()) + " entries, above " +
                         std::to_string(config_.max_addr_per_message));
      }
      if (!p.getaddr_sent || p.addr_received) return;  // unsolicited: ignored
      p.addr_received = true;
      size_t added = 0;
      for (const auto& e : *addrs)
        added += book_.add(e, AddrSource::kPeer) ? 1 : 0;
      util::log::debug("p2p learned addresses", {{"peer", peer_id_short(p.info.id)},
                                                 {"received", static_cast<int>(addrs->size())},
                                                 {"new", static_cast<int>(added)}});
      return;
    }
  }
  violation("unknown net message type " + std::to_string(frame.type));
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
