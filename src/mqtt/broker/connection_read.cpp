// Connection, its read side: the handshake, the read loop of both transport kinds (reactor-style
// reads of plain TCP into the I/O thread's scratch buffer; TLS and WebSocket into the
// connection's own buffer), framing and decoding, and the dispatch of each packet to its handler.
// The drain a taking-over connection asks for is in connection_drain.cpp.
// Thread-safety: all on the connection's strand. Each read's processing runs in an OutputScope: the
// output it queues (also to other connections) is written by this thread when the read is
// processed. The scratch buffer is per I/O thread and used only within one read_available call.
// Invariants: rx_ holds only bytes not yet processed (an incomplete packet on the reactor path); at
// most one read or readiness wait is outstanding (a drain reads synchronously and issues none);
// nothing is processed while closing_ or paused_, and no read is issued then. While the committer
// is backlogged (Persistence::backlogged) no read is issued either: read() waits for it to drain,
// with neither a read nor a wait outstanding.
#include <algorithm>
#include <cstring>

#include <boost/asio/post.hpp>

#include "mqtt/broker/connection.h"
#include "mqtt/broker/persistence.h"
#include "mqtt/codec/decoder.h"
#include "mqtt/codec/framing.h"
#include "util/log.h"

namespace imet::mqtt::broker {

namespace asio = boost::asio;

namespace {
constexpr size_t kInitialRx = 16 * 1024;  // buffered transports (TLS, WebSocket)
constexpr size_t kMinReadRoom = 4 * 1024;
constexpr size_t kScratch = 64 * 1024;  // per I/O thread, reactor path
// Reads of one readiness event (fairness between the connections of an I/O thread).
constexpr int kReadRounds = 16;
}  // namespace

void Connection::start() {
  auto self = shared_from_this();
  last_rx_ = std::chrono::steady_clock::now();
  env_.deadlines.add(*this);
  arm_timer(env_.broker.config().connect_timeout);
  transport_->async_handshake([self](const boost::system::error_code& ec) {
    if (ec) {
      util::log::debug("mqtt handshake failed",
                       {{"ip", self->client_.ip}, {"error", ec.message()}});
      self->finish();
      return;
    }
    if (!self->transport_->reactor_reads()) self->rx_.resize(kInitialRx);
    self->read();
  });
}

void Connection::read() {
  if (closing_) return;
  auto self = shared_from_this();
  if (Persistence* p = env_.broker.persistence(); p != nullptr && p->backlogged()) {
    // Backpressure: the committer is behind (clients send faster than the message log and the
    // KvStore take it). Read on once it has caught up; meanwhile TCP holds the client back, and
    // what it sends is not copied into memory without bound.
    held_for_log_ = true;
    p->when_drained([self] {
      asio::post(self->transport_->executor(), [self] {
        self->held_for_log_ = false;
        self->read();
      });
    });
    return;
  }
  if (transport_->reactor_reads()) {
    transport_->async_wait_readable(std::move(self));
    return;
  }
  if (rx_.size() - rx_len_ < kMinReadRoom) {
    rx_.resize(std::max(rx_.size() * 2, rx_len_ + kMinReadRoom));
  }
  transport_->async_read_some(
      asio::buffer(rx_.data() + rx_len_, rx_.size() - rx_len_),
      [self](const boost::system::error_code& ec, size_t n) { self->on_read(ec, n); });
}

void Connection::read_failed(const boost::system::error_code& ec) {
  if (!closing_) {
    util::log::debug("mqtt connection lost",
                     {{"client", client_.client_id}, {"error", ec.message()}});
    closing_ = true;
  }
  finish();
}

// Buffered-stream path (TLS, WebSocket): the connection owns its read buffer.
void Connection::on_read(const boost::system::error_code& ec, size_t n) {
  if (ec) {
    read_failed(ec);
    return;
  }
  last_rx_ = std::chrono::steady_clock::now();
  bump(env_.broker.stats().bytes_received, n);
  rx_len_ += n;
  const OutputScope scope;  // output of these packets is written by this thread when done
  const size_t used = process(util::ByteSpan(rx_.data(), rx_len_));
  std::memmove(rx_.data(), rx_.data() + used, rx_len_ - used);
  rx_len_ -= used;
  if (closing_ || paused_) return;  // resume_reading() continues after the pause
  read();
}

// Reactor path (TCP): read into this thread's scratch buffer; only an incomplete packet is kept
// in the connection's own buffer, so an idle connection holds no read buffer at all.
void Connection::on_readable(const boost::system::error_code& ec) {
  if (ec) {
    read_failed(ec);
    return;
  }
  read_available(kReadRounds);
  if (closing_ || paused_) return;  // resume_reading() continues after the pause
  read();
}

void Connection::read_available(int max_rounds) {
  thread_local std::vector<uint8_t> scratch(kScratch);
  for (int rounds = 0; rounds < max_rounds && !closing_; ++rounds) {
    // The output of each read's packets (deliveries, acknowledgements) is written by this thread
    // when the read is processed (OutputScope, connection.h).
    const OutputScope scope;
    boost::system::error_code rec;
    const size_t n = transport_->read_now(asio::buffer(scratch), rec);
    if (rec == asio::error::would_block || rec == asio::error::try_again) break;
    if (rec) {
      read_failed(rec);
      return;
    }
    last_rx_ = std::chrono::steady_clock::now();
    bump(env_.broker.stats().bytes_received, n);
    util::ByteSpan data(scratch.data(), n);
    if (rx_len_ > 0) {  // complete the packet started in an earlier read
      if (rx_.size() < rx_len_ + n) rx_.resize(rx_len_ + n);
      std::memcpy(rx_.data() + rx_len_, scratch.data(), n);
      rx_len_ += n;
      const size_t used = process(util::ByteSpan(rx_.data(), rx_len_));
      std::memmove(rx_.data(), rx_.data() + used, rx_len_ - used);
      rx_len_ -= used;
    } else {
      const size_t used = process(data);
      rx_len_ = static_cast<uint32_t>(n - used);
      if (rx_len_ > 0) {
        if (rx_.size() < rx_len_) rx_.resize(std::max<size_t>(rx_len_, 256));
        std::memcpy(rx_.data(), scratch.data() + used, rx_len_);
      }
    }
    if (rx_len_ == 0 && rx_.capacity() > 0) util::Bytes().swap(rx_);
    if (n < scratch.size() || paused_) break;  // drained, or paused
  }
}

size_t Connection::process(util::ByteSpan data) {
  size_t off = 0;
  const size_t max_packet = env_.broker.config().max_packet_size;
  DecodeOptions opts;
  opts.sender = Sender::kClient;
  while (!closing_ && !paused_ && off < data.size()) {
    const util::ByteSpan avail = data.subspan(off);
    const FrameProbe f = probe_frame(avail, max_packet);
    if (f.status == FrameStatus::kNeedMore) {
      // Buffered path: make sure the whole packet fits (bounded by max_packet_size).
      if (f.header_known && !transport_->reactor_reads() && f.packet_size > rx_.size()) {
        rx_.resize(f.packet_size + kMinReadRoom);
      }
      break;
    }
    if (f.status == FrameStatus::kInvalid) {
      close(f.reason, f.message);
      break;
    }
    opts.version = version_;
    auto decoded = decode_packet(avail.first(f.packet_size), opts);
    off += f.packet_size;
    if (!decoded.ok()) {
      if (!connected_) {
        // A CONNECT that cannot be accepted: an unsupported protocol level gets the 3.1.1 CONNACK
        // 0x01 (MQTT-3.1.2-2; what a client of any version can read); a malformed 5.0 CONNECT
        // gets CONNACK with its reason code; a malformed 3.1.1 CONNECT only a close
        // (MQTT-3.1.2-3, MQTT-1.5.3-1).
        const auto v = peek_connect_version(avail.first(f.packet_size));
        if (decoded.reason() == ReasonCode::kUnsupportedProtocolVersion) {
          version_ = Version::kV311;
          refuse_connect(decoded.reason(), decoded.message());
          break;
        }
        if (v == Version::kV5) {
          version_ = Version::kV5;
          refuse_connect(decoded.reason(), decoded.message());
          break;
        }
        closing_ = true;
        util::log::debug("mqtt malformed CONNECT",
                         {{"ip", client_.ip}, {"why", decoded.message()}});
        finish();
        break;
      }
      close(decoded.reason(), decoded.message());
      break;
    }
    handle(*decoded);
  }
  flush_qos0();
  return off;
}

void Connection::resume_reading() {
  if (closing_ || paused_) return;
  if (rx_len_ > 0) {
    const size_t used = process(util::ByteSpan(rx_.data(), rx_len_));
    std::memmove(rx_.data(), rx_.data() + used, rx_len_ - used);
    rx_len_ -= used;
    if (closing_ || paused_) return;
  }
  read();
}

void Connection::handle(Packet& packet) {
  // Anything but a PUBLISH is ordered after the QoS 0 messages before it (handle_publish flushes
  // before QoS 1/2).
  if (!std::holds_alternative<Publish>(packet)) flush_qos0();
  if (!connected_) {
    if (auto* c = std::get_if<Connect>(&packet)) {
      handle_connect(*c);
    } else {
      close(ReasonCode::kProtocolError, "first packet is not CONNECT", false);
    }
    return;
  }
  std::visit(
      [&](auto& p) {
        using P = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<P, Publish>) {
          handle_publish(p);
        } else if constexpr (std::is_same_v<P, Puback>) {
          if (session_->on_puback(p.packet_id) == AckResult::kWrongType)
            close(ReasonCode::kProtocolError, "PUBACK for a QoS 2 message (MQTT-4.3.3-8)");
        } else if constexpr (std::is_same_v<P, Pubrec>) {
          if (session_->on_pubrec(p.packet_id, p.reason_code) == AckResult::kWrongType)
            close(ReasonCode::kProtocolError, "PUBREC for a QoS 1 message (MQTT-4.3.2-4)");
        } else if constexpr (std::is_same_v<P, Pubrel>) {
          handle_pubrel(p);
        } else if constexpr (std::is_same_v<P, Pubcomp>) {
          if (session_->on_pubcomp(p.packet_id) == AckResult::kWrongType)
            close(ReasonCode::kProtocolError,
                  "PUBCOMP for a message without PUBREC (MQTT-4.3.2-4, MQTT-4.3.3-8)");
        } else if constexpr (std::is_same_v<P, Subscribe>) {
          handle_subscribe(p);
        } else if constexpr (std::is_same_v<P, Unsubscribe>) {
          handle_unsubscribe(p);
        } else if constexpr (std::is_same_v<P, Pingreq>) {
          send_packet(Pingresp{});
        } else if constexpr (std::is_same_v<P, Disconnect>) {
          handle_disconnect(p);
        } else if constexpr (std::is_same_v<P, Connect>) {
          close(ReasonCode::kProtocolError, "second CONNECT");
        } else if constexpr (std::is_same_v<P, Auth>) {
          close(ReasonCode::kProtocolError, "AUTH without an authentication method");
        } else {
          close(ReasonCode::kProtocolError, "packet a client may not send");
        }
      },
      packet);
}

}  // namespace imet::mqtt::broker
