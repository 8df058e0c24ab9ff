// Idle-connection mode (see idle_conns.h).
#include "idle_conns.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <vector>

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mqtt_wire.h"
#include "net.h"

namespace imet::bench::mqtt_load {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

enum class St : uint8_t { kIdle, kConnecting, kWaitConnack, kReady, kFailed, kClosed };

struct IdleConn {
  int fd = -1;
  St st = St::kIdle;
  uint8_t rlen = 0;
  uint8_t rbuf[4] = {};
};

}  // namespace

util::Result<nlohmann::json> run_idle(const IdleConfig& cfg,
                                      void (*on_connected)(const nlohmann::json&)) {
  if (cfg.conns == 0 || cfg.parallel == 0 || cfg.src_addrs == 0 || cfg.src_addrs > 254) {
    return util::invalid_argument("--conns and --parallel must be >= 1, --src-addrs in 1..254");
  }
  IMET_TRY(raise_nofile(static_cast<uint64_t>(cfg.conns) + 64));
  IMET_ASSIGN_OR_RETURN(const sockaddr_in dst, ipv4_address(cfg.host, cfg.port));
  // Several source addresses only make sense towards a loopback broker (127.0.0.0/8 is local).
  const bool loopback = (ntohl(dst.sin_addr.s_addr) >> 24) == 127;
  const uint32_t nsrc = loopback ? cfg.src_addrs : 1;
  std::vector<sockaddr_in> srcs(nsrc);
  for (uint32_t i = 0; i < nsrc; ++i) {
    srcs[i].sin_family = AF_INET;
    srcs[i].sin_port = 0;
    srcs[i].sin_addr.s_addr = htonl((127u << 24) | (i + 1));
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return util::io_error(std::string("epoll_create1: ") + std::strerror(errno));
  std::vector<IdleConn> conns(cfg.conns);
  uint32_t next = 0, in_progress = 0, connected = 0, failed = 0, closed = 0;
  std::string first_error;
  auto fail = [&](uint32_t i, const std::string& why) {
    IdleConn& c = conns[i];
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
    if (c.st == St::kConnecting || c.st == St::kWaitConnack) --in_progress;
    c.st = St::kFailed;
    ++failed;
    if (first_error.empty()) first_error = "connection " + std::to_string(i) + ": " + why;
  };
  std::vector<uint8_t> connect_pkt;
  const uint64_t t0 = mono_ns();
  const uint64_t deadline = t0 + static_cast<uint64_t>(cfg.connect_timeout_s * 1e9);
  std::vector<epoll_event> evs(1024);
  while (connected + failed < cfg.conns && !g_stop && mono_ns() < deadline) {
    while (in_progress < cfg.parallel && next < cfg.conns) {
      const uint32_t i = next++;
      auto fd = start_connect(dst, loopback ? &srcs[i % nsrc] : nullptr);
      if (!fd.ok()) {
        conns[i].st = St::kFailed;
        ++failed;
        if (first_error.empty()) first_error = fd.status().message();
        continue;
      }
      conns[i].fd = *fd;
      conns[i].st = St::kConnecting;
      ++in_progress;
      epoll_event ev{};
      ev.events = EPOLLOUT | EPOLLIN;
      ev.data.u64 = i;
      epoll_ctl(ep, EPOLL_CTL_ADD, *fd, &ev);
    }
    const int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 50);
    for (int k = 0; k < n; ++k) {
      const auto i = static_cast<uint32_t>(evs[k].data.u64);
      IdleConn& c = conns[i];
      if (c.st == St::kConnecting) {
        const int err = connect_error(c.fd);
        if (err != 0) {
          fail(i, std::string("connect: ") + std::strerror(err));
          continue;
        }
        connect_pkt.clear();
        append_connect(connect_pkt, cfg.client_prefix + "-i" + std::to_string(i), cfg.keepalive_s);
        if (send(c.fd, connect_pkt.data(), connect_pkt.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(connect_pkt.size())) {
          fail(i, std::string("sending CONNECT: ") + std::strerror(errno));
          continue;
        }
        c.st = St::kWaitConnack;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
      } else if (c.st == St::kWaitConnack) {
        const ssize_t r = recv(c.fd, c.rbuf + c.rlen, sizeof c.rbuf - c.rlen, 0);
        if (r <= 0) {
          if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
          fail(i, r == 0 ? "closed by the broker before CONNACK"
                         : std::string("recv: ") + std::strerror(errno));
          continue;
        }
        c.rlen = static_cast<uint8_t>(c.rlen + r);
        if (c.rlen < 4) continue;
        if (c.rbuf[0] != (kConnack << 4) || c.rbuf[1] != 2 || c.rbuf[3] != 0) {
          fail(i, "CONNACK refused or malformed (return code " + std::to_string(c.rbuf[3]) + ")");
          continue;
        }
        c.st = St::kReady;
        --in_progress;
        ++connected;
      } else if (c.st == St::kReady) {
        uint8_t b[64];
        const ssize_t r = recv(c.fd, b, sizeof b, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
          close(c.fd);
          c.fd = -1;
          c.st = St::kClosed;
          ++closed;
        }
      }
    }
  }
  const double connect_s = static_cast<double>(mono_ns() - t0) / 1e9;
  // Connections still in progress at the timeout are given up (they are reported as pending).
  for (auto& c : conns) {
    if ((c.st == St::kConnecting || c.st == St::kWaitConnack) && c.fd >= 0) {
      close(c.fd);
      c.fd = -1;
    }
  }
  nlohmann::json j;
  j["mode"] = "idle";
  j["broker"] = cfg.host + ":" + std::to_string(cfg.port);
  j["conns"] = cfg.conns;
  j["connected"] = connected - closed;
  j["failed"] = failed;
  j["pending"] = cfg.conns - connected - failed;
  j["closed_while_connecting"] = closed;
  j["src_addrs"] = nsrc;
  j["keepalive"] = cfg.keepalive_s;
  j["connect_s"] = std::round(connect_s * 1000) / 1000;
  j["gen_rss_kb"] = process_rss_kb();
  j["error"] = first_error;
  j["ok"] = connected == cfg.conns && closed == 0;
  on_connected(j);

  // Hold: keep the connections open, noticing any the broker closes.
  uint32_t closed_hold = 0;
  const uint64_t hold_end =
      cfg.hold_s < 0 ? UINT64_MAX : mono_ns() + static_cast<uint64_t>(cfg.hold_s * 1e9);
  while (!g_stop && mono_ns() < hold_end) {
    const int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 200);
    for (int k = 0; k < n; ++k) {
      IdleConn& c = conns[evs[k].data.u64];
      if (c.fd < 0) continue;
      uint8_t b[64];
      const ssize_t r = recv(c.fd, b, sizeof b, 0);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        close(c.fd);
        c.fd = -1;
        ++closed_hold;
      }
    }
  }
  for (auto& c : conns) {
    if (c.fd >= 0) close(c.fd);
  }
  close(ep);
  j["closed_during_hold"] = closed_hold;
  return j;
}

}  // namespace imet::bench::mqtt_load
