// The publish/subscribe load engine (see load_engine.h).
#include "load_engine.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "mqtt_wire.h"
#include "net.h"
#include "stats.h"

namespace imet::bench::mqtt_load {
namespace {

constexpr int kMaxEvents = 256;
constexpr uint64_t kNoTarget = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kFailureDrainNs = 1'000'000'000;  // after a failure, wait this long at most

enum class St : uint8_t { kConnecting, kWaitConnack, kWaitSuback, kReady };

struct Conn {
  int fd = -1;
  bool is_pub = false;
  uint32_t index = 0;
  St st = St::kConnecting;
  bool want_out = true;  // EPOLLOUT registered (needed to see the connect complete)
  std::vector<uint8_t> rbuf;
  size_t rlen = 0;
  std::vector<uint8_t> wbuf;
  size_t woff = 0;
  size_t wlen = 0;
  size_t pending() const { return wlen - woff; }
  std::string name() const {
    return (is_pub ? "publisher " : "subscriber ") + std::to_string(index);
  }
};

struct PubState {
  uint64_t generated = 0;
  uint64_t target = kNoTarget;
  uint64_t acked = 0;
  uint32_t inflight = 0;
  std::vector<uint64_t> slots;  // QoS 1: by packet id, seq + 1 of the message in flight (0: free)
};

struct SubState {
  std::vector<SeqTracker> from;  // by publisher id
  uint64_t delivered = 0;        // every bench PUBLISH received, duplicates included
  uint64_t progress = 0;         // sum over publishers of (highest sequence number seen + 1)
  uint64_t foreign = 0;          // PUBLISH without a valid bench payload
};

double secs(uint64_t ns) {
  return static_cast<double>(ns) / 1e9;
}

class Engine {
 public:
  explicit Engine(const LoadConfig& cfg)
      : cfg_(cfg), tmpl_(cfg.topic, cfg.qos, cfg.size), pubs_(cfg.pubs), subs_(cfg.subs) {}

  ~Engine() {
    for (auto& c : conns_) {
      if (c->fd >= 0) close(c->fd);
    }
    if (timer_fd_ >= 0) close(timer_fd_);
    if (ep_ >= 0) close(ep_);
  }

  util::Result<LoadResult> run() {
    IMET_TRY(setup());
    loop();
    return report();
  }

 private:
  util::Status setup() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) return util::io_error(std::string("epoll_create1: ") + std::strerror(errno));
    IMET_ASSIGN_OR_RETURN(const sockaddr_in dst, ipv4_address(cfg_.host, cfg_.port));
    const size_t sub_rbuf = cfg_.subs <= 8 ? (1u << 18) : (1u << 16);
    const size_t pkt = tmpl_.size();
    // Subscribers first, so that no message is published before every subscription exists.
    for (uint32_t i = 0; i < cfg_.subs + cfg_.pubs; ++i) {
      auto c = std::make_unique<Conn>();
      c->is_pub = i >= cfg_.subs;
      c->index = c->is_pub ? i - cfg_.subs : i;
      c->rbuf.resize(c->is_pub ? (1u << 16) : std::max(sub_rbuf, 4 * pkt));
      c->wbuf.resize(c->is_pub ? std::max<size_t>(1u << 16, (cfg_.batch + 1) * pkt) : (1u << 16));
      IMET_ASSIGN_OR_RETURN(c->fd, start_connect(dst, nullptr));
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT;
      ev.data.ptr = c.get();
      if (epoll_ctl(ep_, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        return util::io_error(std::string("epoll_ctl: ") + std::strerror(errno));
      }
      conns_.push_back(std::move(c));
    }
    for (uint32_t p = 0; p < cfg_.pubs; ++p) {
      if (cfg_.count > 0) pubs_[p].target = cfg_.count / cfg_.pubs + (p < cfg_.count % cfg_.pubs);
      if (cfg_.qos > 0) pubs_[p].slots.assign(65536, 0);
    }
    for (auto& s : subs_)
      s.from.resize(cfg_.pubs);

    const uint64_t deadline = mono_ns() + static_cast<uint64_t>(cfg_.connect_timeout_s * 1e9);
    epoll_event evs[kMaxEvents];
    while (ready_ < conns_.size()) {
      const uint64_t now = mono_ns();
      if (now >= deadline) {
        return util::unavailable("only " + std::to_string(ready_) + " of " +
                                 std::to_string(conns_.size()) + " connections to " + cfg_.host +
                                 ":" + std::to_string(cfg_.port) + " were ready (CONNACK" +
                                 (cfg_.subs > 0 ? ", SUBACK" : "") + ") after " +
                                 std::to_string(cfg_.connect_timeout_s) + " s");
      }
      const int n = epoll_wait(ep_, evs, kMaxEvents, 50);
      for (int i = 0; i < n; ++i) {
        util::Status st = on_event(*static_cast<Conn*>(evs[i].data.ptr), evs[i].events, now);
        if (!st.ok()) {
          return st.with_context("setting up " + std::to_string(cfg_.subs) + " subscribers and " +
                                 std::to_string(cfg_.pubs) + " publishers");
        }
      }
    }
    if (cfg_.rate > 0) {
      timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
      if (timer_fd_ < 0) return util::io_error(std::string("timerfd: ") + std::strerror(errno));
      const auto period = static_cast<uint64_t>(std::max(1e9 / cfg_.rate, 100'000.0));
      itimerspec its{};
      its.it_interval.tv_sec = static_cast<time_t>(period / 1'000'000'000ULL);
      its.it_interval.tv_nsec = static_cast<long>(period % 1'000'000'000ULL);
      its.it_value = its.it_interval;
      timerfd_settime(timer_fd_, 0, &its, nullptr);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = nullptr;
      epoll_ctl(ep_, EPOLL_CTL_ADD, timer_fd_, &ev);
    }
    return {};
  }

  void loop() {
    epoll_event evs[kMaxEvents];
    cpu_start_ = process_cpu_s();
    t_start_ = mono_ns();
    last_progress_ = t_start_;
    const auto duration_ns = static_cast<uint64_t>(cfg_.duration_s * 1e9);
    bool publishing = true;
    for (;;) {
      uint64_t now = mono_ns();
      if (publishing &&
          (cfg_.count > 0 ? total_generated_ >= cfg_.count : now - t_start_ >= duration_ns)) {
        publishing = false;
        t_stop_ = now;
        last_progress_ = std::max(last_progress_, now);
      }
      bool more = false;
      if (publishing && !error_.empty()) {
        publishing = false;  // a connection failed: stop, but collect what is still in flight
        t_stop_ = now;
      }
      if (publishing) {
        produce(now, more);
      } else if (!error_.empty()) {
        // After a failure (e.g. the broker was killed), read what the subscribers can still get
        // until each of their connections ends too, so that only real losses are counted.
        if (closed_subs_ == cfg_.subs || now - last_progress_ > kFailureDrainNs) break;
      } else if (complete()) {
        break;
      } else if (now - last_progress_ > static_cast<uint64_t>(cfg_.drain_timeout_s * 1e9)) {
        drain_timed_out_ = true;
        break;
      }
      const int n = epoll_wait(ep_, evs, kMaxEvents, more ? 0 : 20);
      if (n > 0) now = mono_ns();
      for (int i = 0; i < n; ++i) {
        if (evs[i].data.ptr == nullptr) {
          uint64_t ticks = 0;
          [[maybe_unused]] ssize_t r = read(timer_fd_, &ticks, sizeof ticks);
          continue;
        }
        Conn& c = *static_cast<Conn*>(evs[i].data.ptr);
        if (c.fd < 0) continue;  // failed earlier in this batch of events
        util::Status st = on_event(c, evs[i].events, now);
        if (!st.ok()) fail(c, st);
      }
    }
    t_end_ = mono_ns();
    if (t_stop_ == 0) t_stop_ = t_end_;
    cpu_end_ = process_cpu_s();
  }

  bool complete() const {
    for (uint32_t p = 0; p < cfg_.pubs; ++p) {
      if (conns_[cfg_.subs + p]->pending() > 0 || pubs_[p].inflight > 0) return false;
    }
    for (const auto& s : subs_) {
      if (s.progress < total_generated_) return false;
    }
    return true;
  }

  void produce(uint64_t now, bool& more) {
    // The window counts deliveries (a message to S subscribers is S deliveries), so that fan-out
    // queues in the broker stay as short as fan-in ones.
    const uint64_t outstanding = (total_generated_ * cfg_.subs - progress_sum_) / cfg_.subs;
    const uint64_t window_msgs = std::max<uint64_t>(cfg_.window / cfg_.subs, 1);
    uint64_t room = window_msgs > outstanding ? window_msgs - outstanding : 0;
    if (cfg_.rate > 0) {
      const auto due = static_cast<uint64_t>(secs(now - t_start_) * cfg_.rate) + 1;
      room = std::min(room, due > total_generated_ ? due - total_generated_ : 0);
    }
    for (uint32_t k = 0; k < cfg_.pubs && room > 0; ++k) {
      const uint32_t i = (rr_ + k) % cfg_.pubs;
      PubState& p = pubs_[i];
      Conn& c = *conns_[cfg_.subs + i];
      if (c.fd < 0 || c.pending() > 0) continue;  // failed, or full: EPOLLOUT will flush it
      uint64_t n = std::min<uint64_t>({cfg_.batch, room, p.target - p.generated});
      if (cfg_.qos > 0) n = std::min<uint64_t>(n, cfg_.inflight - p.inflight);
      // Without pacing, wait for room for a sizeable batch: a few large writes cost the broker
      // (and this process) far less than many small ones.
      uint64_t min_n = 1;
      if (cfg_.rate <= 0) {
        const uint64_t limit =
            cfg_.qos > 0 ? std::min<uint64_t>(cfg_.inflight, window_msgs) : window_msgs / cfg_.pubs;
        min_n = std::clamp<uint64_t>(std::min<uint64_t>(cfg_.batch, limit / 4), 1,
                                     std::max<uint64_t>(p.target - p.generated, 1));
      }
      if (n == 0 || n < min_n) continue;
      c.woff = c.wlen = 0;
      uint64_t made = 0;
      for (; made < n; ++made) {
        const uint64_t seq = p.generated;
        uint16_t id = 0;
        if (cfg_.qos > 0) {
          id = static_cast<uint16_t>(seq % 65535 + 1);
          if (p.slots[id] != 0) break;  // an old message still holds this id
          p.slots[id] = seq + 1;
          ++p.inflight;
        }
        c.wlen += tmpl_.write(c.wbuf.data() + c.wlen, id, i, seq, now);
        ++p.generated;
      }
      total_generated_ += made;
      room -= made;
      if (made == cfg_.batch) more = true;
      util::Status st = flush(c);
      if (!st.ok()) fail(c, st);
    }
    rr_ = (rr_ + 1) % cfg_.pubs;
    if (room == 0) more = false;
  }

  // Records the first failure and closes the connection; the run then winds down (see loop()).
  void fail(Conn& c, const util::Status& st) {
    if (error_.empty()) error_ = st.message();
    epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    c.fd = -1;
    if (!c.is_pub) ++closed_subs_;
  }

  util::Status set_out(Conn& c, bool want) {
    if (c.want_out == want) return {};
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    ev.data.ptr = &c;
    if (epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev) != 0) {
      return util::io_error(std::string("epoll_ctl: ") + std::strerror(errno));
    }
    c.want_out = want;
    return {};
  }

  util::Status flush(Conn& c) {
    while (c.pending() > 0) {
      const ssize_t n = send(c.fd, c.wbuf.data() + c.woff, c.pending(), MSG_NOSIGNAL);
      if (n > 0) {
        c.woff += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return set_out(c, true);
      return util::io_error(c.name() + ": send to the broker failed: " + std::strerror(errno));
    }
    c.woff = c.wlen = 0;
    return set_out(c, false);
  }

  void append(Conn& c, const uint8_t* data, size_t n) {
    if (c.wlen + n > c.wbuf.size()) {
      if (c.woff > 0) {
        std::memmove(c.wbuf.data(), c.wbuf.data() + c.woff, c.pending());
        c.wlen -= c.woff;
        c.woff = 0;
      }
      if (c.wlen + n > c.wbuf.size()) c.wbuf.resize(std::max(2 * c.wbuf.size(), c.wlen + n));
    }
    std::memcpy(c.wbuf.data() + c.wlen, data, n);
    c.wlen += n;
  }

  util::Status on_event(Conn& c, uint32_t events, uint64_t now) {
    if (c.st == St::kConnecting) {
      if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return {};
      const int err = connect_error(c.fd);
      if (err != 0) {
        return util::unavailable(c.name() + ": cannot connect to " + cfg_.host + ":" +
                                 std::to_string(cfg_.port) + ": " + std::strerror(err));
      }
      const std::string id =
          cfg_.client_prefix + (c.is_pub ? "-p" : "-s") + std::to_string(c.index);
      std::vector<uint8_t> pkt;
      append_connect(pkt, id, 0);
      append(c, pkt.data(), pkt.size());
      c.st = St::kWaitConnack;
      return flush(c);
    }
    if (events & EPOLLOUT) IMET_TRY(flush(c));
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) IMET_TRY(on_readable(c, now));
    return {};
  }

  util::Status on_readable(Conn& c, uint64_t now) {
    const ssize_t n = recv(c.fd, c.rbuf.data() + c.rlen, c.rbuf.size() - c.rlen, 0);
    if (n == 0) return util::unavailable(c.name() + ": the broker closed the connection");
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return {};
      return util::unavailable(c.name() +
                               ": receive from the broker failed: " + std::strerror(errno));
    }
    c.rlen += static_cast<size_t>(n);
    size_t off = 0;
    for (;;) {
      Packet pk;
      const long k = split_packet(c.rbuf.data() + off, c.rlen - off, pk);
      if (k == 0) break;
      if (k < 0) return util::corruption(c.name() + ": malformed remaining length from the broker");
      IMET_TRY(on_packet(c, pk, now));
      off += static_cast<size_t>(k);
    }
    if (off > 0) {
      std::memmove(c.rbuf.data(), c.rbuf.data() + off, c.rlen - off);
      c.rlen -= off;
    }
    if (c.rlen == c.rbuf.size()) {
      return util::invalid_argument(c.name() + ": a packet from the broker exceeds the " +
                                    std::to_string(c.rbuf.size()) + "-byte read buffer");
    }
    if (c.pending() > 0) IMET_TRY(flush(c));
    return {};
  }

  util::Status on_packet(Conn& c, const Packet& pk, uint64_t now) {
    switch (pk.type()) {
      case kConnack: {
        if (c.st != St::kWaitConnack || pk.body_len != 2) {
          return util::invalid_argument(c.name() + ": unexpected CONNACK");
        }
        if (pk.body[1] != 0) {
          return util::permission_denied(c.name() +
                                         ": CONNACK refused the connection, return code " +
                                         std::to_string(pk.body[1]));
        }
        if (c.is_pub) {
          c.st = St::kReady;
          ++ready_;
          return {};
        }
        std::vector<uint8_t> sub;
        append_subscribe(sub, 1, cfg_.topic, cfg_.qos);
        append(c, sub.data(), sub.size());
        c.st = St::kWaitSuback;
        return {};
      }
      case kSuback: {
        if (c.st != St::kWaitSuback || pk.body_len != 3) {
          return util::invalid_argument(c.name() + ": unexpected SUBACK");
        }
        if (pk.body[2] == 0x80 || pk.body[2] < cfg_.qos) {
          return util::permission_denied(c.name() + ": SUBACK granted " +
                                         std::to_string(pk.body[2]) + " for QoS " +
                                         std::to_string(cfg_.qos) + " on '" + cfg_.topic + "'");
        }
        c.st = St::kReady;
        ++ready_;
        return {};
      }
      case kPublish: {
        BenchPayload m;
        if (c.is_pub || !parse_publish(pk, m)) {
          return util::invalid_argument(c.name() + ": unexpected or malformed PUBLISH");
        }
        if (m.qos == 1) {
          const uint8_t ack[4] = {kPuback << 4, 2, static_cast<uint8_t>(m.packet_id >> 8),
                                  static_cast<uint8_t>(m.packet_id)};
          append(c, ack, sizeof ack);
        } else if (m.qos == 2) {
          return util::invalid_argument(c.name() + ": QoS 2 PUBLISH on a QoS " +
                                        std::to_string(cfg_.qos) + " subscription");
        }
        SubState& s = subs_[c.index];
        if (!m.bench || m.pub_id >= cfg_.pubs) {
          ++s.foreign;
          return {};
        }
        ++s.delivered;
        SeqTracker& t = s.from[m.pub_id];
        const uint64_t before = t.next();
        t.on_message(m.seq);
        s.progress += t.next() - before;
        progress_sum_ += t.next() - before;
        if (now > m.send_ns) latency_.record(now - m.send_ns);
        t_last_delivery_ = now;
        last_progress_ = now;
        return {};
      }
      case kPuback: {
        if (!c.is_pub || pk.body_len != 2 || cfg_.qos == 0) {
          return util::invalid_argument(c.name() + ": unexpected PUBACK");
        }
        PubState& p = pubs_[c.index];
        const uint16_t id = get_u16be(pk.body);
        if (p.slots[id] == 0) {
          return util::invalid_argument(c.name() + ": PUBACK for packet id " + std::to_string(id) +
                                        ", which is not in flight");
        }
        p.slots[id] = 0;
        --p.inflight;
        ++p.acked;
        last_progress_ = now;
        return {};
      }
      case kPingresp:
        return {};
      default:
        return util::invalid_argument(c.name() + ": unexpected packet type " +
                                      std::to_string(pk.type()) + " from the broker");
    }
  }

  LoadResult report() const {
    const size_t pkt = tmpl_.size();
    uint64_t sent = 0, acked = 0, expected_per_sub = 0;
    std::vector<uint64_t> basis_end(cfg_.pubs);
    for (uint32_t p = 0; p < cfg_.pubs; ++p) {
      const Conn& c = *conns_[cfg_.subs + p];
      const uint64_t unwritten = (c.pending() + pkt - 1) / pkt;
      sent += pubs_[p].generated - unwritten;
      acked += pubs_[p].acked;
      // QoS 0: the broker accepted what was fully written; QoS 1: what it acknowledged.
      basis_end[p] = cfg_.qos == 0 ? pubs_[p].generated - unwritten : pubs_[p].generated;
      expected_per_sub += cfg_.qos == 0 ? basis_end[p] : pubs_[p].acked;
    }
    uint64_t delivered = 0, unique = 0, lost = 0, dups = 0, reordered = 0, foreign = 0;
    for (const auto& s : subs_) {
      delivered += s.delivered;
      foreign += s.foreign;
      for (uint32_t p = 0; p < cfg_.pubs; ++p) {
        const SeqTracker& t = s.from[p];
        unique += t.unique();
        dups += t.duplicates();
        reordered += t.reordered();
        uint64_t missing = t.missing_below(basis_end[p]);
        if (cfg_.qos > 0) {
          // Messages still unacknowledged were never accepted: they are not losses.
          for (uint64_t v : pubs_[p].slots) {
            if (v != 0 && !t.received(v - 1)) --missing;
          }
        }
        lost += missing;
      }
    }
    const double run_s = secs((t_last_delivery_ > t_start_ ? t_last_delivery_ : t_end_) - t_start_);
    auto us = [](uint64_t ns) { return std::round(static_cast<double>(ns) / 100.0) / 10.0; };
    nlohmann::json j;
    j["mode"] = cfg_.mode;
    j["broker"] = cfg_.host + ":" + std::to_string(cfg_.port);
    j["qos"] = cfg_.qos;
    j["size"] = cfg_.size;
    j["pubs"] = cfg_.pubs;
    j["subs"] = cfg_.subs;
    j["window"] = cfg_.window;
    if (cfg_.qos > 0) j["inflight"] = cfg_.inflight;
    if (cfg_.rate > 0) j["rate"] = cfg_.rate;
    j["sent"] = sent;
    if (cfg_.qos > 0) j["acked"] = acked;
    j["expected"] = expected_per_sub * cfg_.subs;
    j["delivered"] = delivered;
    j["unique"] = unique;
    j["lost"] = lost;
    j["duplicates"] = dups;
    j["reordered"] = reordered;
    j["foreign"] = foreign;
    j["publish_s"] = secs(t_stop_ - t_start_);
    j["duration_s"] = run_s;
    j["throughput"] = run_s > 0 ? std::round(static_cast<double>(delivered) / run_s) : 0.0;
    j["latency_us"] = {{"count", latency_.count()},
                       {"p50", us(latency_.quantile_ns(0.50))},
                       {"p90", us(latency_.quantile_ns(0.90))},
                       {"p99", us(latency_.quantile_ns(0.99))},
                       {"max", us(latency_.max_ns())}};
    const double gen_cpu = cpu_end_ - cpu_start_;
    j["gen_cpu_s"] = std::round(gen_cpu * 1000) / 1000;
    j["gen_cpu_us_per_msg"] =
        delivered > 0 ? std::round(gen_cpu * 1e6 / static_cast<double>(delivered) * 1000) / 1000
                      : 0.0;
    j["drain_timeout"] = drain_timed_out_;
    j["error"] = error_;
    LoadResult r;
    r.clean = error_.empty() && !drain_timed_out_ && lost == 0 && dups == 0 && foreign == 0;
    j["ok"] = r.clean;
    r.json = std::move(j);
    return r;
  }

  const LoadConfig& cfg_;
  PublishTemplate tmpl_;
  std::vector<std::unique_ptr<Conn>> conns_;  // subscribers, then publishers
  std::vector<PubState> pubs_;
  std::vector<SubState> subs_;
  LatencyHistogram latency_;
  int ep_ = -1;
  int timer_fd_ = -1;
  size_t ready_ = 0;
  uint32_t closed_subs_ = 0;
  uint32_t rr_ = 0;
  uint64_t total_generated_ = 0;
  uint64_t progress_sum_ = 0;  // sum of SubState::progress
  uint64_t t_start_ = 0, t_stop_ = 0, t_end_ = 0, t_last_delivery_ = 0, last_progress_ = 0;
  double cpu_start_ = 0, cpu_end_ = 0;
  bool drain_timed_out_ = false;
  std::string error_;
};

}  // namespace

util::Result<LoadResult> run_load(const LoadConfig& cfg) {
  if (cfg.size < kPayloadHeader) {
    return util::invalid_argument("--size must be at least " + std::to_string(kPayloadHeader) +
                                  " bytes (publisher id, sequence number, timestamp)");
  }
  if (cfg.qos > 1) return util::invalid_argument("--qos must be 0 or 1");
  if (cfg.pubs == 0 || cfg.subs == 0)
    return util::invalid_argument("--pubs and --subs must be >= 1");
  if (cfg.inflight == 0 || cfg.inflight > 65535) {
    return util::invalid_argument("--inflight must be in 1..65535");
  }
  if (cfg.window == 0 || cfg.batch == 0) {
    return util::invalid_argument("--window and --batch must be >= 1");
  }
  IMET_TRY(raise_nofile(cfg.pubs + cfg.subs + 64));
  Engine engine(cfg);
  return engine.run();
}

}  // namespace imet::bench::mqtt_load
