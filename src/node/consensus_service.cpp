#include "node/consensus_service.h"

#include <future>

#include <boost/asio/post.hpp>

#include "codec/serialize.h"
#include "crypto/hash.h"
#include "node/tx_admission.h"
#include "util/clock.h"
#include "util/log.h"

namespace imet::node {

namespace log = util::log;

namespace {

const util::Bytes kSignerKey = util::to_bytes("cs/signer");
constexpr size_t kMaxBlocksReplyBytes = size_t{8} << 20;
constexpr uint64_t kRegistryScanEvery = 100;  // blocks

// Penalty points (net::NetConfig::ban_threshold is 100 by default).
constexpr double kPenaltyMalformed = 100;  // undecodable application message
constexpr double kPenaltyInvalid = 25;     // invalid vote/proposal/tx signature
constexpr double kPenaltyBadSync = 100;    // invalid block or certificate in a sync reply
constexpr double kPenaltySyncTimeout = 5;  // a block request unanswered within its timeout
// Per copy of one consensus message beyond kMaxRepeatCopiesPerPeer within a repeat gap: an honest
// peer relays a message about once per slot; a flood of 20 such copies ends in a ban.
constexpr double kPenaltyRepeatFlood = 5;

// Monotonic milliseconds, for timeouts and gaps (the wall clock may jump).
uint64_t steady_ms() {
  return static_cast<uint64_t>(util::SystemClock::instance().now_steady_ns() / 1'000'000);
}

uint64_t height_of(const consensus::ConsensusMessage& msg) {
  if (const ledger::WitnessVote* v = msg.vote()) return v->height;
  return msg.proposal()->height();
}

}  // namespace

ConsensusService::ConsensusService(boost::asio::io_context& io, Chain& chain, std::mutex& chain_mu,
                                   store::KvStore& db, SyncOptions sync)
    : chain_(chain),
      chain_mu_(chain_mu),
      db_(db),
      strand_(boost::asio::make_strand(io)),
      tx_strand_(boost::asio::make_strand(io)),
      timer_(strand_),
      tick_timer_(strand_),
      tx_fetch_timer_(tx_strand_),
      sync_pool_(sync) {}

ConsensusService::~ConsensusService() = default;

util::Result<std::unique_ptr<ConsensusService>> ConsensusService::start(
    boost::asio::io_context& io, Chain& chain, std::mutex& chain_mu, store::KvStore& db,
    const crypto::SigningKey& key, const NodeConfig& config, const ledger::Hash& network_id,
    SyncOptions sync) {
  IMET_TRY(sync.validate());
  std::unique_ptr<ConsensusService> s(new ConsensusService(io, chain, chain_mu, db, sync));
  // The signing state of the last run: never sign against what was signed before a crash.
  std::optional<consensus::SignerState> restored;
  IMET_ASSIGN_OR_RETURN(std::optional<util::Bytes> raw, db.get(kSignerKey));
  if (raw) {
    auto st = codec::decode<consensus::SignerState>(*raw);
    if (!st.ok()) return st.status().with_context("stored consensus signer state is damaged");
    restored = std::move(st).value();
  }
  {
    std::lock_guard lock(chain_mu);
    s->engine_ = std::make_unique<consensus::Engine>(chain, key, s->checker_,
                                                     consensus::EngineOptions{}, restored);
  }
  net::NetConfig nc;
  nc.listen_host = config.p2p.host;
  nc.listen_port = config.p2p.port;
  for (const HostPort& hp : config.p2p_seeds)
    nc.seeds.push_back(hp.to_string());
  std::copy(network_id.begin(), network_id.end(), nc.network_id.begin());
  nc.software_version = std::string("imetd/") + IMET_VERSION;
  nc.max_outbound = config.p2p_max_outbound;
  nc.max_inbound = config.p2p_max_inbound;
  nc.max_inbound_per_netgroup = config.p2p_max_inbound_per_netgroup;
  nc.ban_seconds = config.p2p_ban_seconds;
  // Bans and learned addresses survive a restart (docs/running-a-network.md).
  if (!config.data_dir.empty()) nc.peers_file = config.data_dir + "/p2p_peers.json";
  // The host is started on the strand: it may connect to a peer and call the handlers at once,
  // and their work (posted to the strand) must find host_ set and the engine started.
  std::promise<util::Status> started;
  boost::asio::post(s->strand_, [svc = s.get(), &io, &nc, &key, &started] {
    auto host = net::Host::start(io, nc, key, *svc);
    if (!host.ok()) {
      started.set_value(host.status());
      return;
    }
    svc->host_ = *host;
    svc->repeat_seq_ = svc->now_ms() * 1000;  // repeats of a restarted node are new gossip
    consensus::Output out;
    {
      std::lock_guard lock(svc->chain_mu_);
      out = svc->engine_->start(svc->now_ms());
      log::info("consensus started",
                {{"height", svc->engine_->height()},
                 {"witness", svc->engine_->is_witness()},
                 {"witnesses", static_cast<uint64_t>(svc->engine_->schedule().size())},
                 {"round", svc->engine_->schedule().round}});
    }
    started.set_value({});
    svc->process(std::move(out));
    svc->learn_registry_addresses();
    svc->tick();
  });
  IMET_TRY(started.get_future().get());
  return s;
}

uint64_t ConsensusService::now_ms() const {
  return static_cast<uint64_t>(util::SystemClock::instance().now_unix_ms());
}

void ConsensusService::stop() {
  boost::asio::post(strand_, [this] {
    stopped_ = true;
    timer_.cancel();
    tick_timer_.cancel();
    boost::asio::post(tx_strand_, [this] { tx_fetch_timer_.cancel(); });
  });
  if (host_) host_->stop();
}

uint16_t ConsensusService::p2p_port() const {
  return host_ ? host_->port() : 0;
}

std::vector<net::PeerInfo> ConsensusService::peers() const {
  return host_ ? host_->peers() : std::vector<net::PeerInfo>{};
}

net::HostStats ConsensusService::p2p_stats() const {
  return host_ ? host_->stats() : net::HostStats{};
}

SyncInfo ConsensusService::sync_info() const {
  std::lock_guard lock(info_mu_);
  return info_;
}

void ConsensusService::on_local_txs(std::vector<ledger::Transaction> txs) {
  if (!host_ || txs.empty()) return;
  std::vector<ledger::Hash> ids;
  ids.reserve(txs.size());
  for (const ledger::Transaction& tx : txs)
    ids.push_back(tx.id());
  host_->broadcast(p2p::kTxs, codec::encode(p2p::TxsMsg{std::move(txs)}));
  boost::asio::post(tx_strand_, [this, ids = std::move(ids)] {
    for (const ledger::Hash& id : ids) {
      note_seen(id);
      tx_fetches_.erase(id);
    }
  });
}

bool ConsensusService::note_seen(const ledger::Hash& id) {
  if (!seen_tx_ids_.insert(id).second) return false;
  seen_tx_order_.push_back(id);
  while (seen_tx_order_.size() > kMaxSeenTxIds) {
    seen_tx_ids_.erase(seen_tx_order_.front());
    seen_tx_order_.pop_front();
  }
  return true;
}

void ConsensusService::on_peer_connected(const net::PeerId& id, const net::PeerInfo&) {
  boost::asio::post(strand_, [this, id] {
    if (stopped_) return;
    sync_pool_.set_peer_height(id, 0);
    send_status(id);
    // Evidence is gossiped once: a peer that was not connected then gets the pending pool now.
    for (const ledger::Evidence& e : engine_->pending_evidence())
      host_->send(id, p2p::kEvidence, codec::encode(e));
  });
}

void ConsensusService::on_peer_disconnected(const net::PeerId& id) {
  boost::asio::post(strand_, [this, id] {
    if (stopped_) return;
    sync_pool_.forget_peer(id);  // its requests go to other peers
    sync_step();
  });
}

void ConsensusService::on_message(const net::PeerId& from, uint8_t type, util::ByteSpan payload) {
  util::Bytes data(payload.begin(), payload.end());
  if (type == p2p::kTxs || type == p2p::kTxIds || type == p2p::kGetTxs) {
    // Through strand_ (ordered after start-up, so host_ is set) on to the transaction strand.
    boost::asio::post(strand_, [this, from, type, data = std::move(data)]() mutable {
      boost::asio::post(tx_strand_, [this, from, type, data = std::move(data)] {
        if (stopped_) return;
        if (type == p2p::kTxs) {
          handle_txs(from, data);
        } else if (type == p2p::kTxIds) {
          handle_tx_ids(from, data);
        } else {
          handle_get_txs(from, data);
        }
      });
    });
    return;
  }
  boost::asio::post(strand_, [this, from, type, data = std::move(data)] {
    if (!stopped_) handle(from, type, data);
  });
}

void ConsensusService::handle(const net::PeerId& from, uint8_t type, const util::Bytes& payload) {
  switch (type) {
    case p2p::kConsensus:
      return handle_consensus(from, payload);
    case p2p::kStatus:
      return handle_status(from, payload);
    case p2p::kGetBlocks:
      return handle_get_blocks(from, payload);
    case p2p::kBlocks:
      return handle_blocks(from, payload);
    case p2p::kEvidence:
      return handle_evidence(from, payload);
    case p2p::kRepeat:
      return handle_repeat(from, payload);
    default:
      host_->penalize(from, kPenaltyMalformed, "unknown message type " + std::to_string(type));
  }
}

void ConsensusService::handle_consensus(const net::PeerId& from, const util::Bytes& payload) {
  auto msg = codec::decode<consensus::ConsensusMessage>(payload);
  if (!msg.ok()) {
    host_->penalize(from, kPenaltyMalformed,
                    "malformed consensus message: " + msg.status().message());
    return;
  }
  if (consensus_input(from, *msg) == consensus::Verdict::kAccepted) {
    host_->broadcast(p2p::kConsensus, payload, from);  // gossip onwards
  }
}

void ConsensusService::handle_repeat(const net::PeerId& from, const util::Bytes& payload) {
  auto rep = codec::decode<p2p::RepeatMsg>(payload);
  if (!rep.ok()) {
    host_->penalize(from, kPenaltyMalformed, "malformed repeat: " + rep.status().message());
    return;
  }
  // Each repeat has a fresh seq, so gossip lets any number of copies of one message through:
  // within a gap of about a slot after a message was judged, its copies are dropped unchecked
  // (the signer repeats once per slot), and a peer sending many of them is scored down.
  prune_repeats();
  const uint64_t now = steady_ms();
  const uint64_t gap = chain_.config().params.slot_ms * kRepeatGapPct / 100;
  const ledger::Hash digest = crypto::blake2b_256(rep->message);
  auto seen = repeats_.find(digest);
  if (seen != repeats_.end() && now < seen->second.last_ms + gap) {
    const uint32_t copies = ++seen->second.copies[from];
    if (copies > kMaxRepeatCopiesPerPeer) {
      host_->penalize(from, kPenaltyRepeatFlood,
                      "repeat flood: " + std::to_string(copies) +
                          " copies of one consensus message within a slot");
    }
    return;
  }
  auto msg = codec::decode<consensus::ConsensusMessage>(rep->message);
  if (!msg.ok()) {
    host_->penalize(from, kPenaltyMalformed, "malformed repeat: " + msg.status().message());
    return;
  }
  const consensus::Verdict v = consensus_input(from, *msg);
  // A repeat is relayed when it is current: new to this node, or a duplicate whose signature
  // checks (the engine may have judged it a duplicate without looking at the signature, and an
  // honest relay must never carry a forgery).
  bool relay = v == consensus::Verdict::kAccepted;
  if (v == consensus::Verdict::kDuplicate) {
    if (const ledger::WitnessVote* vote = msg->vote()) {
      relay = checker_.verify(vote->voter, vote->signing_bytes(), vote->signature);
    } else if (const consensus::Proposal* p = msg->proposal()) {
      relay = checker_.verify(p->proposer, p->signing_bytes(), p->signature);
    }
  }
  // Remembered whatever the verdict: the same bytes get the same one until the gap is over.
  if (seen == repeats_.end()) {
    if (repeats_.size() >= kMaxRepeatEntries) {
      repeats_.erase(repeat_order_.front());
      repeat_order_.pop_front();
    }
    seen = repeats_.emplace(digest, RepeatSeen{}).first;
    repeat_order_.push_back(digest);
  }
  seen->second.height = height_of(*msg);
  seen->second.last_ms = now;
  seen->second.copies = {{from, 1}};
  if (relay) host_->broadcast(p2p::kRepeat, payload, from);
}

void ConsensusService::prune_repeats() {
  const uint64_t height = engine_->height();
  if (height == repeats_height_) return;
  repeats_height_ = height;
  std::erase_if(repeats_, [height](const auto& e) { return e.second.height < height; });
  std::erase_if(repeat_order_, [this](const ledger::Hash& d) { return !repeats_.contains(d); });
}

consensus::Verdict ConsensusService::consensus_input(const net::PeerId& from,
                                                     const consensus::ConsensusMessage& msg) {
  consensus::Output out;
  {
    std::lock_guard lock(chain_mu_);
    out = engine_->on_message(msg, now_ms());
  }
  const consensus::Verdict verdict = out.verdict;
  switch (out.verdict) {
    case consensus::Verdict::kBuffered:
      // Next-height messages are buffered before their signatures can be checked against that
      // height's schedule: not relayed, or a peer could spread garbage through every node.
      break;
    case consensus::Verdict::kInvalid:
      log::debug("invalid consensus message",
                 {{"peer", net::peer_id_short(from)}, {"reason", out.reason}});
      host_->penalize(from, kPenaltyInvalid, "invalid consensus message: " + out.reason);
      break;
    case consensus::Verdict::kIgnoredOld:
      send_status(from);  // the sender is behind: tell it how far we are
      break;
    case consensus::Verdict::kAccepted:
      host_->mark_useful(from);  // a new valid vote or proposal: protected from eviction
      break;
    default:
      break;
  }
  process(std::move(out));
  return verdict;
}

void ConsensusService::handle_evidence(const net::PeerId& from, const util::Bytes& payload) {
  auto ev = codec::decode<ledger::Evidence>(payload);
  if (!ev.ok()) {
    host_->penalize(from, kPenaltyMalformed, "malformed evidence: " + ev.status().message());
    return;
  }
  consensus::Output out;
  {
    std::lock_guard lock(chain_mu_);
    out = engine_->on_evidence(*ev, now_ms());
  }
  if (out.verdict == consensus::Verdict::kInvalid) {
    log::debug("invalid evidence", {{"peer", net::peer_id_short(from)}, {"reason", out.reason}});
    host_->penalize(from, kPenaltyInvalid, "invalid evidence: " + out.reason);
  } else if (out.verdict == consensus::Verdict::kAccepted) {
    host_->mark_useful(from);
    log::info("evidence received", {{"peer", net::peer_id_short(from)},
                                    {"witness", crypto::encode_address(ev->offender())},
                                    {"height", ev->a.height},
                                    {"attempt", ev->a.attempt}});
  }
  process(std::move(out));  // gossips accepted evidence onwards (the seen cache skips its senders)
}

void ConsensusService::handle_txs(const net::PeerId& from, const util::Bytes& payload) {
  auto msg = codec::decode<p2p::TxsMsg>(payload);
  if (!msg.ok()) {
    host_->penalize(from, kPenaltyMalformed, "malformed transactions: " + msg.status().message());
    return;
  }
  AdmissionResult r = admit(chain_, chain_mu_, std::move(msg->txs), Origin::kPeer);
  for (const ledger::TxResult& e : r.results) {
    if (e && e->reason == ledger::Reject::kBadSignature) {
      host_->penalize(from, kPenaltyInvalid, "transaction with a bad signature");
      break;
    }
  }
  for (const ledger::Hash& id : r.ids) {
    note_seen(id);
    tx_fetches_.erase(id);  // arrived (its deadline item is skipped when due)
  }
  // Onwards, once, as ids: only what this node had not seen (the rest its peers have had too).
  if (!r.added_ids.empty()) {
    host_->mark_useful(from);  // new valid transactions: protected from eviction
    host_->broadcast(p2p::kTxIds, codec::encode(p2p::TxIdsMsg{std::move(r.added_ids)}), from);
  }
}

void ConsensusService::handle_tx_ids(const net::PeerId& from, const util::Bytes& payload) {
  auto msg = codec::decode<p2p::TxIdsMsg>(payload);
  if (!msg.ok()) {
    host_->penalize(from, kPenaltyMalformed,
                    "malformed transaction ids: " + msg.status().message());
    return;
  }
  const uint64_t deadline = steady_ms() + kTxFetchTimeoutMs;
  p2p::TxIdsMsg want;
  {
    std::lock_guard lock(chain_mu_);
    for (const ledger::Hash& id : msg->ids) {
      if (chain_.knows(id)) continue;
      if (auto f = tx_fetches_.find(id); f != tx_fetches_.end()) {
        // Being fetched from another peer: remember this one in case that one never answers.
        std::vector<net::PeerId>& others = f->second.others;
        if (f->second.asked != from && others.size() < kMaxTxAnnouncers &&
            std::find(others.begin(), others.end(), from) == others.end()) {
          others.push_back(from);
        }
        continue;
      }
      if (!note_seen(id)) continue;  // received, or asked for and no longer tracked
      want.ids.push_back(id);        // asked from the first announcer
      if (tx_fetch_deadlines_.size() < kMaxTxFetches) {
        tx_fetches_.emplace(id, TxFetch{from, deadline, {}});
        tx_fetch_deadlines_.emplace_back(deadline, id);
      }
    }
  }
  if (!want.ids.empty()) host_->send(from, p2p::kGetTxs, codec::encode(want));
  arm_tx_fetch_timer();
}

void ConsensusService::arm_tx_fetch_timer() {
  if (tx_fetch_timer_armed_ || tx_fetch_deadlines_.empty() || stopped_) return;
  tx_fetch_timer_armed_ = true;
  const uint64_t now = steady_ms(), at = tx_fetch_deadlines_.front().first;
  tx_fetch_timer_.expires_after(std::chrono::milliseconds(at > now ? at - now : 0));
  tx_fetch_timer_.async_wait([this](const boost::system::error_code& ec) {
    tx_fetch_timer_armed_ = false;
    if (!ec && !stopped_) refetch_txs();
  });
}

void ConsensusService::refetch_txs() {
  const uint64_t now = steady_ms();
  std::map<net::PeerId, std::vector<ledger::Hash>> asks;
  {
    std::lock_guard lock(chain_mu_);
    while (!tx_fetch_deadlines_.empty() && tx_fetch_deadlines_.front().first <= now) {
      const auto [deadline, id] = tx_fetch_deadlines_.front();
      tx_fetch_deadlines_.pop_front();
      auto f = tx_fetches_.find(id);
      if (f == tx_fetches_.end() || f->second.deadline_ms != deadline) continue;  // arrived
      TxFetch& fetch = f->second;
      // Known (pending or verified) or final: nothing to fetch. No announcer left: it comes in
      // a block. The silent peer is not scored: its mempool may have dropped the transaction.
      bool done = fetch.others.empty() || chain_.knows(id);
      if (!done) {
        auto location = chain_.store().tx_location(id);
        done = !location.ok() || location->has_value();
      }
      if (done) {
        tx_fetches_.erase(f);
        continue;
      }
      fetch.asked = fetch.others.front();
      fetch.others.erase(fetch.others.begin());
      fetch.deadline_ms = now + kTxFetchTimeoutMs;
      tx_fetch_deadlines_.emplace_back(fetch.deadline_ms, id);
      asks[fetch.asked].push_back(id);
    }
  }
  for (auto& [peer, ids] : asks) {
    for (size_t i = 0; i < ids.size(); i += p2p::kMaxGossipTxs) {
      const size_t n = std::min<size_t>(p2p::kMaxGossipTxs, ids.size() - i);
      p2p::TxIdsMsg m{{ids.begin() + i, ids.begin() + i + n}};
      host_->send(peer, p2p::kGetTxs, codec::encode(m));
    }
  }
  arm_tx_fetch_timer();
}

void ConsensusService::handle_get_txs(const net::PeerId& from, const util::Bytes& payload) {
  auto msg = codec::decode<p2p::TxIdsMsg>(payload);
  if (!msg.ok()) {
    host_->penalize(from, kPenaltyMalformed,
                    "malformed transaction request: " + msg.status().message());
    return;
  }
  p2p::TxsMsg reply;
  {
    std::lock_guard lock(chain_mu_);
    for (const ledger::Hash& id : msg->ids) {
      // Ids no longer pending (final, dropped) are left out; the asker gets them in a block.
      if (const ledger::Transaction* tx = chain_.pending(id)) reply.txs.push_back(*tx);
    }
  }
  if (!reply.txs.empty()) host_->send(from, p2p::kTxs, codec::encode(reply));
}

void ConsensusService::handle_status(const net::PeerId& from, const util::Bytes& payload) {
  auto st = codec::decode<p2p::StatusMsg>(payload);
  if (!st.ok()) {
    host_->penalize(from, kPenaltyMalformed, "malformed status: " + st.status().message());
    return;
  }
  sync_pool_.set_peer_height(from, st->final_height);
  sync_step();
}

void ConsensusService::handle_get_blocks(const net::PeerId& from, const util::Bytes& payload) {
  auto req = codec::decode<p2p::GetBlocksMsg>(payload);
  if (!req.ok()) {
    host_->penalize(from, kPenaltyMalformed, "malformed block request: " + req.status().message());
    return;
  }
  p2p::BlocksMsg reply;
  size_t bytes = 0;
  {
    std::lock_guard lock(chain_mu_);
    const uint64_t final_height = chain_.final_tip().height;
    for (uint64_t h = req->from_height;
         h <= final_height && h < req->from_height + req->max_blocks &&
         bytes < kMaxBlocksReplyBytes;
         ++h) {
      auto block = chain_.store().block_at(h);
      auto cert = chain_.certificate(h);
      if (!block.ok() || !*block || !cert.ok() || !*cert) break;
      bytes += codec::encode(**block).size();
      reply.blocks.push_back({std::move(**block), std::move(**cert)});
    }
  }
  host_->send(from, p2p::kBlocks, codec::encode(reply));
}

void ConsensusService::handle_blocks(const net::PeerId& from, const util::Bytes& payload) {
  auto msg = codec::decode<p2p::BlocksMsg>(payload);
  if (!msg.ok()) {
    host_->penalize(from, kPenaltyMalformed, "malformed blocks: " + msg.status().message());
    return;
  }
  // Unsolicited or late replies (the window was received from another peer) are dropped; an
  // empty one frees its window for another peer.
  sync_pool_.on_reply(from, std::move(msg->blocks), payload.size());
  sync_step();
}

void ConsensusService::sync_step() {
  if (sync_busy_ || stopped_) return;
  sync_busy_ = true;
  apply_synced_blocks();
  request_blocks();
  publish_sync_info();
  sync_busy_ = false;
}

void ConsensusService::apply_synced_blocks() {
  size_t applied = 0;
  std::optional<net::PeerId> last_source;
  while (auto ready = sync_pool_.pop_ready(engine_->height())) {
    for (const p2p::FinalBlock& fb : ready->blocks) {
      consensus::Output out;
      {
        std::lock_guard lock(chain_mu_);
        const uint64_t h = fb.block.header.height;
        if (h < engine_->height()) continue;  // final meanwhile (the engine's own votes)
        if (h > engine_->height()) break;     // the last one did not commit: asked again
        out = engine_->on_synced_block(fb.block, fb.cert, now_ms());
      }
      if (out.verdict == consensus::Verdict::kInvalid) {
        log::warn("sync: invalid block from peer", {{"peer", net::peer_id_short(ready->source)},
                                                    {"height", fb.block.header.height},
                                                    {"reason", out.reason}});
        host_->penalize(ready->source, kPenaltyBadSync, "invalid synced block: " + out.reason);
        sync_pool_.drop_peer(ready->source);  // nothing else it sent is used
        process(std::move(out));
        break;
      }
      process(std::move(out));
      if (last_source != ready->source) host_->mark_useful(ready->source);  // new final blocks
      ++applied;
      last_source = ready->source;
    }
  }
  const uint64_t now = now_ms();
  const uint64_t best = sync_pool_.best_height();
  if (applied > 0 && (now - last_sync_log_ms_ >= 2000 || engine_->height() > best)) {
    last_sync_log_ms_ = now;
    log::info("sync progress", {{"height", engine_->height() - 1},
                                {"target", best},
                                {"blocks", static_cast<uint64_t>(applied)},
                                {"in_flight", static_cast<uint64_t>(sync_pool_.in_flight())},
                                {"peer", net::peer_id_short(*last_source)}});
  }
}

void ConsensusService::request_blocks() {
  const uint64_t next = engine_->height();
  const uint64_t best = sync_pool_.best_height();
  const uint64_t now = now_ms();
  // Behind by two or more: consensus messages of the current height cannot help (the peers have
  // moved on); fetch final blocks. Behind by one: usually the engine decides from the COMMITs it
  // has, so fetch only if that has not happened within two slots.
  uint64_t target = next - 1;  // nothing to fetch
  if (best >= next) {
    if (behind_since_ms_ == 0) behind_since_ms_ = now;
    const uint64_t slot = chain_.config().params.slot_ms;
    if (best > next || now >= behind_since_ms_ + 2 * slot) target = best;
  } else {
    behind_since_ms_ = 0;
  }
  const std::vector<SyncPool::Request> requests = sync_pool_.schedule(next, target, steady_ms());
  if (!requests.empty() && best > next && now - last_sync_log_ms_ >= 2000) {
    last_sync_log_ms_ = now;
    log::info("sync: behind peers, fetching final blocks",
              {{"height", next - 1},
               {"target", best},
               {"in_flight", static_cast<uint64_t>(sync_pool_.in_flight())},
               {"peer", net::peer_id_short(requests.front().peer)}});
  }
  for (const SyncPool::Request& r : requests) {
    host_->send(r.peer, p2p::kGetBlocks, codec::encode(p2p::GetBlocksMsg{r.from, r.count}));
  }
}

void ConsensusService::publish_sync_info() {
  const uint64_t next = engine_->height();
  const uint64_t best = sync_pool_.best_height();
  std::lock_guard lock(info_mu_);
  info_.final_height = next - 1;
  info_.best_peer_height = best;
  info_.peers = sync_pool_.peers().size();
  info_.state = best >= next + 1 ? "syncing" : "synced";
  info_.requests_in_flight = sync_pool_.in_flight();
  info_.buffered_blocks = sync_pool_.buffered_blocks();
}

void ConsensusService::send_status(std::optional<net::PeerId> to) {
  p2p::StatusMsg st;
  {
    std::lock_guard lock(chain_mu_);
    st.final_height = chain_.final_tip().height;
    st.final_hash = chain_.final_tip().hash;
  }
  util::Bytes payload = codec::encode(st);
  if (to) {
    host_->send(*to, p2p::kStatus, std::move(payload));
  } else {
    for (const net::PeerId& id : sync_pool_.peers())
      host_->send(id, p2p::kStatus, payload);
  }
}

util::Status ConsensusService::persist_signer(const consensus::SignerState& s) {
  return db_.put(kSignerKey, codec::encode(s), store::WriteOptions{.sync = true});
}

void ConsensusService::process(consensus::Output out) {
  if (stopped_) return;
  if (out.signer_state) {
    if (auto st = persist_signer(*out.signer_state); !st.ok()) {
      // Not sending what we cannot remember having signed: a restart could contradict it.
      log::error("cannot persist consensus signer state; not sending", {{"error", st.message()}});
      out.broadcast.clear();
    }
  }
  for (const consensus::ConsensusMessage& m : out.broadcast) {
    util::Bytes bytes = codec::encode(m);
    // The engine re-sends its messages every slot while undecided (for nodes that missed them or
    // just (re)connected); gossip suppresses what it has already sent, so a repeat goes out in a
    // RepeatMsg with a fresh seq, which every node relays once (handle_repeat).
    if (!host_->broadcast(p2p::kConsensus, bytes)) {
      p2p::RepeatMsg rep{++repeat_seq_, std::move(bytes)};
      host_->broadcast(p2p::kRepeat, codec::encode(rep));
    }
  }
  for (const consensus::Committed& c : out.committed) {
    log::info(c.via_sync ? "synced final block" : "finalized block",
              {{"height", c.block.header.height},
               {"txs", static_cast<uint64_t>(c.block.txs.size())},
               {"hash", util::to_hex(c.block.header.hash())},
               {"state_root", util::to_hex(c.block.header.state_root)},
               {"attempt", c.cert.attempt},
               {"commits", static_cast<uint64_t>(c.cert.commits.size())}});
  }
  for (const consensus::Committed& c : out.committed) {
    for (const ledger::Evidence& e : c.block.evidence) {
      log::warn("equivocation slashed", {{"witness", crypto::encode_address(e.offender())},
                                         {"height", c.block.header.height},
                                         {"offence_height", e.a.height},
                                         {"attempt", e.a.attempt}});
    }
  }
  // Evidence new to the pending pool (found in votes or accepted from a peer): gossip it once.
  // The host's seen cache skips the peers it came from.
  for (const ledger::Evidence& e : out.evidence) {
    log::warn("equivocation detected", {{"witness", crypto::encode_address(e.offender())},
                                        {"height", e.a.height},
                                        {"attempt", e.a.attempt},
                                        {"type", ledger::vote_type_name(e.a.type)}});
    host_->broadcast(p2p::kEvidence, codec::encode(e));
  }
  if (!out.error.ok()) log::error("consensus chain error", {{"error", out.error.message()}});
  if (!out.committed.empty()) {
    send_status(std::nullopt);
    if (engine_->height() >= last_registry_scan_height_ + kRegistryScanEvery) {
      learn_registry_addresses();
    }
    sync_step();
  }
  arm_timer();
}

void ConsensusService::arm_timer() {
  std::optional<uint64_t> at = engine_->next_timer_ms();
  if (!at) return;
  const uint64_t now = now_ms();
  timer_.expires_after(std::chrono::milliseconds(*at > now ? *at - now : 0));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    consensus::Output out;
    {
      std::lock_guard lock(chain_mu_);
      out = engine_->on_timer(now_ms());
    }
    process(std::move(out));
  });
}

void ConsensusService::tick() {
  if (stopped_) return;
  for (const SyncPool::Request& r : sync_pool_.expire(steady_ms())) {
    log::warn("sync: block request timed out, asking another peer",
              {{"peer", net::peer_id_short(r.peer)}, {"from", r.from}, {"blocks", r.count}});
    host_->penalize(r.peer, kPenaltySyncTimeout, "block request timed out");
  }
  sync_step();
  tick_timer_.expires_after(std::chrono::seconds(1));
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

void ConsensusService::learn_registry_addresses() {
  std::vector<std::string> addrs;
  {
    std::lock_guard lock(chain_mu_);
    last_registry_scan_height_ = engine_->height();
    auto nodes = chain_.store().scan_state(util::Bytes{'n'}, 10'000);
    if (!nodes.ok()) return;
    for (const auto& [k, v] : *nodes) {
      auto rec = codec::decode<ledger::NodeRecord>(v);
      if (!rec.ok()) continue;
      for (const std::string& e : rec->info.endpoints) {
        std::string_view ep = e;
        if (ep.starts_with("tcp://")) ep.remove_prefix(6);
        if (!ep.empty()) addrs.emplace_back(ep);
      }
    }
  }
  if (!addrs.empty()) host_->add_addresses(addrs);
}

}  // namespace imet::node
