// Host: the P2P peer manager. Listens, dials seeds and learned addresses with backoff, keeps one
// authenticated Link per peer identity, exchanges addresses (GETADDR/ADDR), pings, scores and bans
// misbehaving peers, rate-limits what each peer sends, and offers the application gossip
// (broadcast with duplicate suppression) and direct sends. docs/design/p2p.md has the rules.
//
// Thread-safety: every public method may be called from any thread, including from inside a
// Handler callback. All connection state lives on one strand of the io_context (the "host
// strand"); public methods post to it, except that broadcast() decides synchronously (under mu_)
// whether the message is new, and peers()/stats()/is_banned() read snapshots under mu_. Handler
// methods are called on the host strand, one at a time, never while mu_ is held.
// Lifetime: start() returns a shared_ptr; call stop() before dropping it (pending operations hold
// references until they complete). After stop() no new Handler call begins; one already running
// on another io thread may still finish, so destroy the Handler only after the io_context's
// threads have stopped or joined.
// Invariants: one ready connection per peer identity carries its traffic. A duplicate (both nodes
// dialled each other at once) is resolved the same way on both sides: the connection initiated by
// the lower identity key is kept, and only the node that initiated the other one closes it; its
// responder keeps it unused (a "spare", for at most handshake_timeout_ms) so that the initiator,
// which may still be using it, never sees it closed before the kept one is ready on its side. A
// spare or a replaced connection never surfaces as a disconnect; outbound
// connections + dials in progress <= max_outbound, at most one of them per limited netgroup
// except seeds; inbound connections <= max_inbound (a new one
// beyond it replaces the one select_eviction() picks, or is refused), and from one limited
// netgroup <= max_inbound_per_netgroup; a banned
// identity or IP is refused until its ban expires; on_peer_connected / on_peer_disconnected
// alternate per identity. With a peers file (NetConfig::peers_file), the unexpired bans and the
// node/peer addresses are loaded by start() (a missing file is normal; an unreadable or invalid
// one is logged and ignored) and written atomically when changed, at most every
// peers_save_interval_ms, and by stop(); the addresses written are at most one tick old.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "crypto/ed25519.h"
#include "net/addr_book.h"
#include "net/ban_list.h"
#include "net/config.h"
#include "net/link.h"
#include "net/seen_cache.h"
#include "net/token_bucket.h"
#include "net/types.h"
#include "util/log_throttle.h"
#include "util/result.h"

namespace imet::net {

struct HostStats {
  uint64_t handshakes_ok = 0;
  uint64_t handshakes_failed = 0;  // garbage, timeouts, bad signatures, wrong version
  uint64_t refused_network = 0;    // peer of another network (different genesis)
  uint64_t refused_banned = 0;     // banned identity or IP tried to connect
  uint64_t refused_full = 0;       // inbound refused at max_inbound (nobody evictable)
  uint64_t refused_netgroup = 0;   // inbound refused at max_inbound_per_netgroup
  uint64_t evicted_inbound = 0;    // inbound connections closed to make room for a new one
  uint64_t self_connections = 0;
  uint64_t duplicate_connections = 0;
  uint64_t messages_in = 0;
  uint64_t messages_out = 0;
  uint64_t gossip_duplicates = 0;  // received gossip already seen (not delivered)
  uint64_t rate_limited = 0;       // messages dropped by the per-peer rate limits
  uint64_t violations = 0;         // protocol violations (bad frame, oversize, bad net message)
  uint64_t bans = 0;
  uint64_t slow_peers_dropped = 0;  // write queue overflow or write timeout
  size_t known_addresses = 0;
};

class Host final : public LinkOwner, public std::enable_shared_from_this<Host> {
 public:
  // Validates the config, binds the listener (errors name the address) and starts dialling the
  // seeds. `identity` is copied; `handler` must outlive the host (see Lifetime above).
  static util::Result<std::shared_ptr<Host>> start(boost::asio::io_context& io, NetConfig config,
                                                   const crypto::SigningKey& identity,
                                                   Handler& handler);
  ~Host() override;
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // Sends an application message (type >= 16) to every connected peer except `except` and the
  // peers it came from. False (nothing sent) if this host has already broadcast it, if the type is
  // reserved, or if it exceeds max_message_bytes. Received gossip may be broadcast once (relay).
  bool broadcast(uint8_t type, util::Bytes payload, std::optional<PeerId> except = {});
  // One message to one peer (request/response); not subject to the seen cache. Dropped if the
  // peer is not connected, the type is reserved or the payload too large.
  void send(const PeerId& peer, uint8_t type, util::Bytes payload);
  // Adds misbehaviour points; at ban_threshold the peer is disconnected and banned.
  void penalize(const PeerId& peer, double points, std::string reason);
  // The peer sent something new and valid (a block, vote or transaction this node accepted): the
  // most recently useful inbound peers are protected from eviction.
  void mark_useful(const PeerId& peer);
  // Endpoints ("host:port") the node learned elsewhere (the on-chain node registry). Returns how
  // many parsed; bad ones are logged and skipped.
  size_t add_addresses(const std::vector<std::string>& endpoints);

  std::vector<PeerInfo> peers() const;
  HostStats stats() const;
  bool is_banned(const PeerId& id) const;
  uint16_t port() const { return port_; }
  const PeerId& id() const { return settings_->self_id; }
  // Closes the listener and every connection; idempotent.
  void stop();

  // LinkOwner (host strand only).
  void on_link_ready(const std::shared_ptr<Link>& link) override;
  void on_link_frame(const std::shared_ptr<Link>& link, Frame&& frame) override;
  void on_link_violation(const std::shared_ptr<Link>& link, double points,
                         const std::string& reason) override;
  void on_link_closed(const std::shared_ptr<Link>& link) override;

 private:
  // A ready duplicate connection the peer initiated and is expected to close (see Invariants).
  struct Spare {
    std::shared_ptr<Link> link;
    int64_t deadline_ms = 0;  // closed by us after this (steady clock)
  };
  struct Peer {
    std::shared_ptr<Link> link;
    std::vector<Spare> spares;
    PeerInfo info;
    TokenBucket messages;
    TokenBucket bytes;
    std::vector<Endpoint> endpoints;  // addresses in the book that lead to this peer
    std::string netgroup;             // netgroup_of(remote ip).key
    int64_t connected_ms = 0;         // steady clock
    int64_t last_useful_ms = 0;       // steady clock; 0: never (see mark_useful)
    int64_t min_rtt_ms = -1;          // best ping round trip; -1 before the first pong
    int64_t last_ping_ms = 0;
    uint64_t ping_nonce = 0;
    int64_t last_decay_ms = 0;
    int64_t last_rate_log_ms = 0;
    bool getaddr_sent = false;
    bool addr_received = false;
    bool getaddr_answered = false;
  };
  struct Dial {
    Endpoint endpoint;
    bool seed = false;  // a configured seed: dialled whatever its netgroup
    std::string group;  // its limited netgroup once known (IP literal or resolved), else ""
    int64_t started_ms = 0;
    std::shared_ptr<boost::asio::ip::tcp::socket> socket;
    std::shared_ptr<boost::asio::ip::tcp::resolver> resolver;
  };
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

  Host(boost::asio::io_context& io, std::shared_ptr<const LinkSettings> settings, Handler& handler);

  util::Status listen();
  void accept();
  // Inbound connections are full: closes the one select_eviction() picks (host_connect.cpp) and
  // returns true, or returns false if none may be evicted.
  bool evict_inbound(const std::string& new_ip, int64_t now);
  // Inbound connections (handshaking included) from the netgroup `key`.
  size_t inbound_in_netgroup(const std::string& key) const;
  // Keyed hash of a netgroup: an order of netgroups peers cannot predict.
  uint64_t netgroup_rank(const std::string& key) const;
  void arm_timer();
  void tick();
  void maintain_outbound(int64_t now);
  void dial(const Endpoint& e, int64_t now);
  void dial_done(const std::shared_ptr<Dial>& d, const boost::system::error_code& ec);
  // A second ready connection to a known peer: decides which one carries the traffic.
  void on_duplicate_ready(Peer& p, const std::shared_ptr<Link>& link, int64_t now);
  // Moves the peer's traffic to `link` (per-connection state starts over).
  void use_link(Peer& p, const std::shared_ptr<Link>& link);
  // The peer's connection in use or one of its spares.
  static bool is_peer_link(const Peer& p, const std::shared_ptr<Link>& link);
  // Closes the peer's connection and its spares (the host decided to drop the peer).
  void close_peer(Peer& p, const std::string& reason);
  void handle_net_message(Peer& p, Frame& frame);
  void handle_getaddr(Peer& p, const Frame& frame);
  void handle_addr(Peer& p, const Frame& frame);
  // Counts the violation, scores the peer (penalty_protocol_violation) and closes it.
  void protocol_violation(Peer& p, const std::string& why);
  void penalize_peer(Peer& p, double points, const std::string& reason);
  void send_to(Peer& p, uint8_t type, uint8_t flags, util::ByteSpan payload);
  void publish_snapshot(const Peer& p);
  // Peers file: load_peers_file() runs in start() before the strand does; save_peers_file()
  // may run on any thread (the strand's tick, stop()) and writes only if something changed since
  // the last write, unless `force`.
  void load_peers_file();
  void save_peers_file(bool force);
  bool ip_bannable(const std::string& ip) const;
  size_t outbound_in_use() const;
  // The limited netgroups of the outbound connections (handshaking included) and of the dials
  // in progress other than `except`.
  std::set<std::string> outbound_groups(const Dial* except = nullptr) const;
  size_t inbound_links() const;

  Strand strand_;
  std::shared_ptr<const LinkSettings> settings_;
  const NetConfig& config_;
  Handler& handler_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer timer_;
  uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};

  // Host strand state.
  std::set<std::shared_ptr<Link>> links_;
  std::map<PeerId, Peer> peers_;
  std::list<std::shared_ptr<Dial>> dials_;
  AddrBook book_;
  std::mt19937_64 rng_;
  util::ByteArray<16> netgroup_key_{};  // secret key of netgroup_rank()
  uint64_t saved_book_version_ = 0;     // book_.version() in addr_snapshot_
  int64_t last_save_ms_ = 0;            // steady clock

  // Shared with callers on other threads.
  mutable std::mutex mu_;
  SeenCache seen_;                              // guarded by mu_
  BanList bans_;                                // guarded by mu_
  std::map<PeerId, PeerInfo> snapshot_;         // guarded by mu_
  HostStats stats_;                             // guarded by mu_
  std::vector<AddrBook::Saved> addr_snapshot_;  // guarded by mu_: what the peers file gets
  bool peers_dirty_ = false;                    // guarded by mu_: bans or addresses changed
  // Serializes writes of the peers file; taken before mu_, so writes land in snapshot order.
  std::mutex file_mu_;
  std::string last_save_error_;  // guarded by file_mu_: logged once until it changes
  util::LogThrottle accept_failure_log_{std::chrono::seconds(10)};
};

}  // namespace imet::net
