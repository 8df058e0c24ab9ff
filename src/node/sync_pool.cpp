// Block sync scheduling (sync_pool.h).
#include "node/sync_pool.h"

#include <algorithm>
#include <string>
#include <tuple>

namespace imet::node {

util::Status SyncOptions::validate() const {
  if (window_blocks == 0 || window_blocks > p2p::kMaxSyncBlocks) {
    return util::invalid_argument("sync window_blocks must be 1.." +
                                  std::to_string(p2p::kMaxSyncBlocks));
  }
  if (max_requests == 0 || max_requests_per_peer == 0 || request_timeout_ms == 0) {
    return util::invalid_argument(
        "sync max_requests, max_requests_per_peer and request_timeout_ms must be positive");
  }
  return util::Status::ok_status();
}

void SyncPool::set_peer_height(const net::PeerId& peer, uint64_t final_height) {
  peers_[peer].height = final_height;
}

void SyncPool::forget_peer(const net::PeerId& peer) {
  peers_.erase(peer);
  for (auto& [from, w] : windows_) {
    if (w.peer == peer) w.peer.reset();
  }
}

void SyncPool::drop_peer(const net::PeerId& peer) {
  forget_peer(peer);
  for (auto it = windows_.begin(); it != windows_.end();) {
    auto cur = it++;
    if (cur->second.received && cur->second.source == peer) erase(cur);
  }
}

std::vector<net::PeerId> SyncPool::peers() const {
  std::vector<net::PeerId> out;
  out.reserve(peers_.size());
  for (const auto& [id, p] : peers_)
    out.push_back(id);
  return out;
}

uint64_t SyncPool::best_height() const {
  uint64_t best = 0;
  for (const auto& [id, p] : peers_)
    best = std::max(best, p.height);
  return best;
}

void SyncPool::erase(Windows::iterator it) {
  buffered_bytes_ -= it->second.bytes;
  windows_.erase(it);
}

size_t SyncPool::in_flight_of(const net::PeerId& peer) const {
  size_t n = 0;
  for (const auto& [from, w] : windows_)
    n += w.peer == peer ? 1 : 0;
  return n;
}

size_t SyncPool::in_flight() const {
  size_t n = 0;
  for (const auto& [from, w] : windows_)
    n += w.peer ? 1 : 0;
  return n;
}

size_t SyncPool::buffered_blocks() const {
  size_t n = 0;
  for (const auto& [from, w] : windows_)
    n += w.blocks.size();
  return n;
}

std::optional<net::PeerId> SyncPool::choose(uint64_t from, uint64_t last, const Window& w) const {
  // A stalled peer is asked only if no other peer has these heights (even a busy one: better to
  // wait for it than to hand the window back to a peer that did not answer).
  bool live_has_it = false;
  for (const auto& [id, p] : peers_)
    live_has_it = live_has_it || (!p.stalled && p.height >= from);
  std::optional<net::PeerId> best;
  std::tuple<bool, bool, bool, size_t> best_key{};
  for (const auto& [id, p] : peers_) {
    if (p.height < from || (p.stalled && live_has_it)) continue;
    const size_t busy = in_flight_of(id);
    if (busy >= options_.max_requests_per_peer) continue;
    const bool tried = std::find(w.tried.begin(), w.tried.end(), id) != w.tried.end();
    // Fewer failures first, then a peer that has the whole window, then the least busy.
    const auto key = std::make_tuple(p.stalled, tried, p.height < last, busy);
    if (!best || key < best_key) {
      best = id;
      best_key = key;
    }
  }
  return best;
}

std::vector<SyncPool::Request> SyncPool::schedule(uint64_t next, uint64_t target, uint64_t now_ms) {
  const uint64_t span_end = next + options_.max_requests * uint64_t{options_.window_blocks};
  // Windows wholly below `next` (applied, or final by consensus meanwhile) and unasked ones no
  // peer reports any more are of no use.
  for (auto it = windows_.begin(); it != windows_.end();) {
    auto cur = it++;
    const Window& w = cur->second;
    if (cur->first + w.count <= next || (!w.peer && !w.received && cur->first > target)) {
      erase(cur);
    }
  }
  // Fill the gaps in [next, min(target + 1, span_end)) with new windows.
  const uint64_t end = std::min(target + 1, span_end);
  uint64_t h = next;
  auto it = windows_.begin();
  while (h < end) {
    if (it != windows_.end() && it->first <= h) {
      h = std::max(h, it->first + it->second.count);
      ++it;
      continue;
    }
    uint64_t stop = std::min(h + options_.window_blocks, end);
    if (it != windows_.end()) stop = std::min(stop, it->first);
    windows_.emplace_hint(it, h, Window{.count = static_cast<uint32_t>(stop - h)});
    h = stop;
  }
  // Assign, lowest heights first: they are the ones that hold up applying.
  std::vector<Request> out;
  size_t flying = in_flight();
  bool first_missing = true;
  for (auto& [from, w] : windows_) {
    if (w.received) continue;
    if (w.peer) {
      first_missing = false;
      continue;
    }
    if (flying >= options_.max_requests) break;
    if (!first_missing && buffered_bytes_ >= options_.max_buffered_bytes) break;
    first_missing = false;
    auto peer = choose(from, from + w.count - 1, w);
    if (!peer) continue;
    w.peer = *peer;
    w.deadline_ms = now_ms + options_.request_timeout_ms;
    w.asked_seq = ++seq_;
    ++flying;
    out.push_back({*peer, from, w.count});
  }
  return out;
}

std::vector<SyncPool::Request> SyncPool::expire(uint64_t now_ms) {
  std::vector<Request> out;
  for (auto& [from, w] : windows_) {
    if (!w.peer || now_ms < w.deadline_ms) continue;
    out.push_back({*w.peer, from, w.count});
    if (auto p = peers_.find(*w.peer); p != peers_.end()) p->second.stalled = true;
    w.tried.push_back(*w.peer);
    w.peer.reset();
  }
  return out;
}

SyncPool::ReplyResult SyncPool::on_reply(const net::PeerId& peer,
                                         std::vector<p2p::FinalBlock> blocks, size_t bytes) {
  if (blocks.empty()) {
    // The peer has nothing from the height asked: its oldest request (a peer answers in order).
    Window* oldest = nullptr;
    uint64_t oldest_from = 0;
    for (auto& [from, w] : windows_) {
      if (w.peer == peer && (!oldest || w.asked_seq < oldest->asked_seq)) {
        oldest = &w;
        oldest_from = from;
      }
    }
    if (!oldest) return ReplyResult::kUnsolicited;
    oldest->peer.reset();
    oldest->tried.push_back(peer);
    if (auto p = peers_.find(peer); p != peers_.end()) {
      p->second.height = std::min(p->second.height, oldest_from - 1);
      p->second.stalled = false;
    }
    return ReplyResult::kEmpty;
  }
  auto it = windows_.find(blocks.front().block.header.height);
  if (it == windows_.end() || it->second.received) return ReplyResult::kUnsolicited;
  Window& w = it->second;
  // From the peer asked, or from one asked before whose late answer is still useful.
  const bool asked =
      w.peer == peer || std::find(w.tried.begin(), w.tried.end(), peer) != w.tried.end();
  if (!asked) return ReplyResult::kUnsolicited;
  if (blocks.size() > w.count) blocks.resize(w.count);  // heights beyond the window: not asked
  w.peer.reset();
  w.received = true;
  w.source = peer;
  w.blocks = std::move(blocks);
  w.bytes = bytes;
  buffered_bytes_ += bytes;
  if (auto p = peers_.find(peer); p != peers_.end()) p->second.stalled = false;
  return ReplyResult::kBuffered;
}

std::optional<SyncPool::Ready> SyncPool::pop_ready(uint64_t next) {
  while (!windows_.empty()) {
    auto it = windows_.begin();
    if (it->first + it->second.count <= next) {
      erase(it);
      continue;
    }
    if (it->first > next || !it->second.received) return std::nullopt;
    Ready r{it->second.source, std::move(it->second.blocks)};
    std::erase_if(r.blocks,
                  [next](const p2p::FinalBlock& b) { return b.block.header.height < next; });
    erase(it);
    return r;
  }
  return std::nullopt;
}

}  // namespace imet::node
