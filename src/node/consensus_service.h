// ConsensusService: runs this node's part of the network (issue 5). It owns the DSFT engine
// (consensus/engine.h) over the node's Chain, and the P2P host (net/host.h), and connects them:
//   - consensus messages from peers go to the engine; those it accepts are relayed (gossip), the
//     ones it finds invalid score the sender down; the engine's own proposals and votes are
//     broadcast after its signing state is persisted (so a restart never signs a conflicting vote);
//   - transactions travel in batches: the node a client gave them to pushes them to every peer
//     (p2p::TxsMsg, on_local_txs); a node that accepts transactions from a peer (through
//     node/tx_admission.h: signatures verified once, in parallel) announces only their ids to its
//     other peers (kTxIds), and a peer fetches the ones it lacks (kGetTxs → kTxs) from the first
//     announcer. Later announcers of an id still being fetched are remembered (at most
//     kMaxTxAnnouncers per id, kMaxTxFetches ids); if the transaction has not arrived
//     kTxFetchTimeoutMs after a request, it is asked for from the next announcer, until none is
//     left or it arrives, is known or is final. In a full mesh every node decodes each
//     transaction once, not once per peer;
//   - the engine's repeats of its own messages (every slot while undecided) travel as
//     p2p::RepeatMsg with a fresh sequence number: a node relays a current, correctly signed
//     repeat even if it had the message, so a vote lost on the way to a node that is not the
//     signer's direct peer still arrives (plain gossip would suppress it as seen). The same inner
//     message (by BLAKE2b digest) is judged, signature-checked and relayed at most once per
//     kRepeatGapPct of a slot, whatever the seq: further copies are dropped unchecked, and a peer
//     that sends more than kMaxRepeatCopiesPerPeer copies of one message within that gap is
//     penalized for each further copy (a flood of one vote under many seqs is not amplified);
//   - block sync: peers exchange their final height (StatusMsg) on connect and after each final
//     block; a node behind its peers asks for final blocks with certificates in windows
//     (GetBlocksMsg), several at once over the peers that reported them (node/sync_pool.h: a
//     request unanswered within its timeout goes to another peer and costs the silent one a few
//     points), buffers replies that arrive out of order, and feeds the blocks in height order to
//     Engine::on_synced_block (which checks each certificate against the schedule and the block
//     against the chain), until it has caught up, logging progress; a peer that sends an invalid
//     block or certificate is banned and what it sent is asked for elsewhere;
//   - equivocation evidence, found by the engine in votes or received from a peer (kEvidence),
//     enters the engine's pending pool once checked against the chain state and is gossiped once;
//     a peer that connects gets the pending pool; an invalid piece scores the sender down;
//   - peer addresses from the on-chain node registry are given to the P2P host.
// A dev node runs the same service: its genesis has one witness, which finalizes alone.
// Thread-safety: all engine and sync state lives on one strand; transaction gossip is admitted on
// a second strand (reached through the first, so it starts after host_ is set), so a large batch
// being verified never delays a vote. Chain calls hold `chain_mu` (the API shares the chain).
// Public methods may be called from any thread.
// Invariants: the engine's height is the chain's final height + 1 whenever the strand is idle;
// sync_pool_'s invariants hold (at most SyncOptions::max_requests block requests outstanding, its
// peers are the connected ones) and sync_busy_ is set only while sync_step() runs; repeats_ holds
// at most kMaxRepeatEntries messages, of heights >= repeats_height_; every tx_fetches_ entry has
// exactly one tx_fetch_deadlines_ item with its deadline, and tx_fetch_deadlines_ holds at most
// kMaxTxFetches items.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "consensus/engine.h"
#include "net/host.h"
#include "node/chain.h"
#include "node/config.h"
#include "node/p2p_protocol.h"
#include "node/sync_pool.h"
#include "store/kv_store.h"

namespace imet::node {

struct SyncInfo {
  std::string state = "synced";  // "synced" or "syncing"
  uint64_t final_height = 0;
  uint64_t best_peer_height = 0;  // highest final height a peer reported
  size_t peers = 0;
  size_t requests_in_flight = 0;  // block requests sent and not answered
  size_t buffered_blocks = 0;     // received, waiting for a lower height
};

class ConsensusService : public net::Handler {
 public:
  // `sync` paces block sync (window size, requests in flight, timeout); tests make it small.
  static util::Result<std::unique_ptr<ConsensusService>> start(
      boost::asio::io_context& io, Chain& chain, std::mutex& chain_mu, store::KvStore& db,
      const crypto::SigningKey& key, const NodeConfig& config, const ledger::Hash& network_id,
      SyncOptions sync = {});
  ~ConsensusService() override;

  // Gossips transactions the API accepted into the mempool, as one message.
  void on_local_txs(std::vector<ledger::Transaction> txs);
  SyncInfo sync_info() const;
  std::vector<net::PeerInfo> peers() const;
  net::HostStats p2p_stats() const;
  uint16_t p2p_port() const;
  // Stops the P2P host and the timers; the io_context may still run queued handlers, which then
  // do nothing. Call before the I/O threads are joined; destroy after.
  void stop();

  // net::Handler (called on the host's strand).
  void on_peer_connected(const net::PeerId& id, const net::PeerInfo& info) override;
  void on_peer_disconnected(const net::PeerId& id) override;
  void on_message(const net::PeerId& from, uint8_t type, util::ByteSpan payload) override;

 private:
  ConsensusService(boost::asio::io_context& io, Chain& chain, std::mutex& chain_mu,
                   store::KvStore& db, SyncOptions sync);

  // Run on tx_strand_: verifying a large batch must not hold up consensus messages.
  void handle_txs(const net::PeerId& from, const util::Bytes& payload);
  void handle_tx_ids(const net::PeerId& from, const util::Bytes& payload);
  void handle_get_txs(const net::PeerId& from, const util::Bytes& payload);
  // Remembers ids as seen (bounded); false if `id` was already.
  bool note_seen(const ledger::Hash& id);
  // Asks the next announcer for transactions whose request timed out; re-arms the timer.
  void refetch_txs();
  void arm_tx_fetch_timer();
  // All below run on strand_.
  void handle(const net::PeerId& from, uint8_t type, const util::Bytes& payload);
  void handle_consensus(const net::PeerId& from, const util::Bytes& payload);
  void handle_repeat(const net::PeerId& from, const util::Bytes& payload);
  // Forgets repeats of heights the engine has left.
  void prune_repeats();
  // Feeds a decoded consensus message to the engine; scores the sender, acts on the output.
  consensus::Verdict consensus_input(const net::PeerId& from,
                                     const consensus::ConsensusMessage& msg);
  void handle_status(const net::PeerId& from, const util::Bytes& payload);
  void handle_get_blocks(const net::PeerId& from, const util::Bytes& payload);
  void handle_blocks(const net::PeerId& from, const util::Bytes& payload);
  void handle_evidence(const net::PeerId& from, const util::Bytes& payload);
  // Acts on an engine output: persist signer state, broadcast, log commits, re-arm the timer.
  void process(consensus::Output out);
  void arm_timer();
  void tick();
  // Block sync: applies the replies that are next in height order, then sends the requests the
  // pool schedules. Re-entered from process() while applying: then does nothing.
  void sync_step();
  void apply_synced_blocks();
  void request_blocks();
  void publish_sync_info();
  void send_status(std::optional<net::PeerId> to);
  void learn_registry_addresses();
  util::Status persist_signer(const consensus::SignerState& s);
  uint64_t now_ms() const;

  Chain& chain_;
  std::mutex& chain_mu_;
  store::KvStore& db_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::strand<boost::asio::io_context::executor_type> tx_strand_;
  boost::asio::steady_timer timer_;           // engine deadline
  boost::asio::steady_timer tick_timer_;      // sync and status housekeeping, every second
  boost::asio::steady_timer tx_fetch_timer_;  // on tx_strand_: the next transaction request timeout
  consensus::DirectChecker checker_;
  std::unique_ptr<consensus::Engine> engine_;
  std::shared_ptr<net::Host> host_;
  std::atomic<bool> stopped_{false};  // set on strand_, read on both strands
  // Ids of transactions received, announced or requested lately (tx_strand_ only): an
  // announcement of one of them is not answered with a request.
  static constexpr size_t kMaxSeenTxIds = 200'000;
  std::unordered_set<ledger::Hash, crypto::DigestHash> seen_tx_ids_;
  std::deque<ledger::Hash> seen_tx_order_;
  // Transactions requested and not yet received (tx_strand_ only), with the peers that announced
  // them after the one asked: on timeout the next is asked. Deadlines are steady-clock ms.
  static constexpr size_t kMaxTxFetches = 20'000;
  static constexpr size_t kMaxTxAnnouncers = 4;
  static constexpr uint64_t kTxFetchTimeoutMs = 1'000;
  struct TxFetch {
    net::PeerId asked{};
    uint64_t deadline_ms = 0;
    std::vector<net::PeerId> others;  // announcers still to ask, in order; <= kMaxTxAnnouncers
  };
  std::unordered_map<ledger::Hash, TxFetch, crypto::DigestHash> tx_fetches_;
  std::deque<std::pair<uint64_t, ledger::Hash>> tx_fetch_deadlines_;  // ascending deadline
  bool tx_fetch_timer_armed_ = false;

  // Repeated consensus messages judged lately, by digest of the inner message (strand_ only).
  static constexpr size_t kMaxRepeatEntries = 4'096;
  static constexpr uint64_t kRepeatGapPct = 75;  // of a slot: signers repeat once per slot, jitter
  static constexpr uint32_t kMaxRepeatCopiesPerPeer = 3;  // of one message within the gap
  struct RepeatSeen {
    uint64_t height = 0;   // of the message
    uint64_t last_ms = 0;  // steady clock: when it was last judged (and relayed if valid)
    std::map<net::PeerId, uint32_t> copies;  // per sender since last_ms
  };
  std::unordered_map<ledger::Hash, RepeatSeen, crypto::DigestHash> repeats_;
  std::deque<ledger::Hash> repeat_order_;  // insertion order: the oldest is evicted at the cap
  uint64_t repeats_height_ = 0;            // engine height repeats_ was last pruned at

  SyncPool sync_pool_;  // connected peers, their final heights, block requests and replies
  bool sync_busy_ = false;
  uint64_t last_registry_scan_height_ = 0;
  uint64_t repeat_seq_ = 0;  // last RepeatMsg seq; starts at the start time (unique across runs)
  uint64_t last_sync_log_ms_ = 0;
  uint64_t behind_since_ms_ = 0;  // when a peer was first seen ahead (0: not behind)
  mutable std::mutex info_mu_;    // guards info_ (read by the API from other threads)
  SyncInfo info_;
};

}  // namespace imet::node
