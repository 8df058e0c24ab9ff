// One Noise-secured peer connection (link.h).
#include "net/link.h"

#include <algorithm>
#include <chrono>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "crypto/noise/pattern.h"
#include "util/log.h"

namespace imet::net {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kNoiseTag = 16;
constexpr size_t kLengthPrefix = 2;
}  // namespace

int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Link::Link(std::shared_ptr<LinkOwner> owner, std::shared_ptr<const LinkSettings> settings,
           asio::ip::tcp::socket socket, bool outbound, std::optional<Endpoint> dialed)
    : owner_(std::move(owner)),
      settings_(std::move(settings)),
      socket_(std::move(socket)),
      outbound_(outbound),
      dialed_(std::move(dialed)),
      decoder_(settings_->config.max_message_bytes),
      started_ms_(steady_now_ms()),
      last_rx_ms_(started_ms_) {
  error_code ec;
  const auto ep = socket_.remote_endpoint(ec);
  if (!ec) {
    remote_ip_ = ep.address().to_string();
    remote_port_ = ep.port();
  }
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

std::string Link::remote_address() const {
  return Endpoint{remote_ip_, remote_port_}.to_string();
}

void Link::start() {
  crypto::noise::HandshakeConfig hc;
  auto pattern = crypto::noise::pattern_by_name("XX");
  if (!pattern.ok()) {
    close("noise pattern XX unavailable: " + pattern.status().message(), LinkRefusal::kHandshake);
    return;
  }
  hc.pattern = *pattern;
  hc.role = outbound_ ? crypto::noise::Role::kInitiator : crypto::noise::Role::kResponder;
  hc.prologue = util::to_bytes(kNoisePrologue);
  hc.local_static = settings_->noise_static;
  auto hs = crypto::noise::HandshakeState::create(std::move(hc));
  if (!hs.ok()) {
    close("noise handshake setup failed: " + hs.status().message(), LinkRefusal::kHandshake);
    return;
  }
  handshake_.emplace(std::move(*hs));
  read_buf_.resize(kReadChunk);
  if (outbound_) {
    auto m1 = handshake_->write_message({});
    if (!m1.ok()) {
      close("noise message 1: " + m1.status().message(), LinkRefusal::kHandshake);
      return;
    }
    send_noise_message(*m1);
  }
  read();
}

void Link::read() {
  if (closed_) return;
  socket_.async_read_some(
      asio::buffer(read_buf_),
      [self = shared_from_this()](const error_code& ec, size_t n) { self->on_read(ec, n); });
}

void Link::on_read(const error_code& ec, size_t n) {
  if (closed_) return;
  if (ec) {
    close(ec == asio::error::eof ? "peer closed the connection" : "read error: " + ec.message(),
          ready_ ? LinkRefusal::kNone : LinkRefusal::kHandshake);
    return;
  }
  bytes_in_ += n;
  last_rx_ms_ = steady_now_ms();
  const size_t old = rx_.size();
  rx_.resize(old + n);
  std::copy_n(read_buf_.begin(), n, rx_.begin() + static_cast<std::ptrdiff_t>(old));
  size_t pos = 0;
  while (!closed_ && rx_.size() - pos >= kLengthPrefix) {
    const size_t len = (size_t{rx_[pos]} << 8) | rx_[pos + 1];
    if (rx_.size() - pos - kLengthPrefix < len) break;
    on_noise_message(util::ByteSpan(rx_).subspan(pos + kLengthPrefix, len));
    pos += kLengthPrefix + len;
  }
  if (closed_) return;
  rx_.erase(rx_.begin(), rx_.begin() + static_cast<std::ptrdiff_t>(pos));
  if (rx_.empty()) util::Bytes().swap(rx_);
  read();
}

void Link::on_noise_message(util::ByteSpan msg) {
  if (!transport_) {
    on_handshake_message(msg);
    return;
  }
  auto plain = transport_->read_message(msg);
  if (!plain.ok()) {
    // Not attributable to the peer (anyone on the path can corrupt bytes): close, no penalty.
    close("transport message rejected: " + plain.status().message());
    return;
  }
  frames_.clear();
  util::Status st = decoder_.feed(*plain, frames_);
  auto self = shared_from_this();
  for (Frame& f : frames_) {
    if (closed_) return;
    owner_->on_link_frame(self, std::move(f));
  }
  frames_.clear();
  if (!st.ok() && !closed_) {
    const std::string kind =
        decoder_.error() == FrameError::kOversize ? "oversized frame: " : "malformed frame: ";
    owner_->on_link_violation(self, settings_->config.penalty_protocol_violation,
                              kind + st.message());
    close(kind + st.message());
  }
}

void Link::on_handshake_message(util::ByteSpan msg) {
  if (handshake_->is_my_turn()) {
    close("handshake message arrived out of turn", LinkRefusal::kHandshake);
    return;
  }
  const size_t index = handshake_->message_index();
  auto payload = handshake_->read_message(msg);
  if (!payload.ok()) {
    close("handshake message " + std::to_string(index + 1) +
              " rejected: " + payload.status().message(),
          LinkRefusal::kHandshake);
    return;
  }
  if (index == 0) {
    // Responder: message 1 carries only the initiator's ephemeral key.
    if (!payload->empty()) {
      close("handshake message 1 carries a " + std::to_string(payload->size()) +
                "-byte payload; it must be empty",
            LinkRefusal::kHandshake);
      return;
    }
    auto m2 = handshake_->write_message(settings_->hello);
    if (!m2.ok()) {
      close("handshake message 2: " + m2.status().message(), LinkRefusal::kHandshake);
      return;
    }
    send_noise_message(*m2);
    return;
  }
  if (!accept_hello(*payload)) return;
  if (index == 1) {
    // Initiator: answer with our Hello in message 3.
    auto m3 = handshake_->write_message(settings_->hello);
    if (!m3.ok()) {
      close("handshake message 3: " + m3.status().message(), LinkRefusal::kHandshake);
      return;
    }
    send_noise_message(*m3);
  }
  if (!handshake_->is_complete()) {
    close("handshake did not complete after message " + std::to_string(index + 1),
          LinkRefusal::kHandshake);
    return;
  }
  become_ready();
}

bool Link::accept_hello(util::ByteSpan payload) {
  auto hello = decode_hello(payload);
  if (!hello.ok()) {
    close(hello.status().message(), LinkRefusal::kHandshake);
    return false;
  }
  const auto& rs = handshake_->remote_static();
  if (!rs) {
    close("handshake finished without the peer's static key", LinkRefusal::kHandshake);
    return false;
  }
  HelloCheck check = check_hello(*hello, settings_->config.network_id, *rs);
  if (!check.ok()) {
    const LinkRefusal r = check.refusal == HelloRefusal::kVersion   ? LinkRefusal::kVersion
                          : check.refusal == HelloRefusal::kNetwork ? LinkRefusal::kNetwork
                                                                    : LinkRefusal::kSignature;
    close(check.reason, r);
    return false;
  }
  if (hello->identity == settings_->self_id) {
    close("connected to ourselves", LinkRefusal::kSelf);
    return false;
  }
  hello_ = std::move(*hello);
  return true;
}

void Link::become_ready() {
  auto ts = handshake_->split();
  if (!ts.ok()) {
    close("noise split failed: " + ts.status().message(), LinkRefusal::kHandshake);
    return;
  }
  transport_.emplace(std::move(*ts));
  transport_->set_rekey_interval(settings_->config.rekey_interval_messages);
  handshake_.reset();
  ready_ = true;
  owner_->on_link_ready(shared_from_this());
}

void Link::send_frame(uint8_t type, uint8_t flags, util::ByteSpan payload) {
  if (closed_ || !ready_) return;
  const size_t total = kFrameHeaderBytes + payload.size();
  const size_t chunks = (total + kMaxNoisePlaintext - 1) / kMaxNoisePlaintext;
  const size_t wire = total + chunks * (kNoiseTag + kLengthPrefix);
  if (queued_bytes() + wire > settings_->config.max_write_queue_bytes) {
    close("peer is not reading: its write queue would hold " +
          std::to_string(queued_bytes() + wire) + " bytes, above the limit of " +
          std::to_string(settings_->config.max_write_queue_bytes));
    return;
  }
  const auto header = encode_frame_header(type, flags, payload.size());
  util::Bytes chunk;
  chunk.reserve(std::min(total, kMaxNoisePlaintext));
  size_t off = 0;  // offset in the virtual stream header || payload
  while (off < total) {
    const size_t n = std::min(kMaxNoisePlaintext, total - off);
    chunk.resize(n);
    size_t filled = 0;
    if (off < kFrameHeaderBytes) {
      const size_t h = std::min(kFrameHeaderBytes - off, n);
      std::copy_n(header.begin() + static_cast<std::ptrdiff_t>(off), h, chunk.begin());
      filled = h;
    }
    if (filled < n) {
      const size_t p = off + filled - kFrameHeaderBytes;
      std::copy_n(payload.begin() + static_cast<std::ptrdiff_t>(p), n - filled,
                  chunk.begin() + static_cast<std::ptrdiff_t>(filled));
    }
    auto enc = transport_->write_message(chunk);
    if (!enc.ok()) {
      close("encrypting a transport message failed: " + enc.status().message());
      return;
    }
    send_noise_message(*enc);
    off += n;
  }
}

void Link::send_noise_message(util::ByteSpan msg) {
  const size_t old = out_pending_.size();
  out_pending_.resize(old + kLengthPrefix + msg.size());
  out_pending_[old] = static_cast<uint8_t>(msg.size() >> 8);
  out_pending_[old + 1] = static_cast<uint8_t>(msg.size());
  std::copy(msg.begin(), msg.end(), out_pending_.begin() + static_cast<std::ptrdiff_t>(old + 2));
  if (!writing_) write();
}

void Link::write() {
  if (closed_ || out_pending_.empty()) {
    writing_ = false;
    return;
  }
  writing_ = true;
  write_started_ms_ = steady_now_ms();
  out_writing_.swap(out_pending_);
  out_pending_.clear();
  asio::async_write(socket_, asio::buffer(out_writing_),
                    [self = shared_from_this()](const error_code& ec, size_t n) {
                      self->bytes_out_ += n;
                      self->out_writing_.clear();
                      if (self->closed_) return;
                      if (ec) {
                        self->close("write error: " + ec.message());
                        return;
                      }
                      if (self->out_pending_.empty()) {
                        // Idle: hold no output buffers.
                        util::Bytes().swap(self->out_writing_);
                        util::Bytes().swap(self->out_pending_);
                      }
                      self->write();
                    });
}

void Link::tick(int64_t now_ms) {
  if (closed_) return;
  if (!ready_ && now_ms - started_ms_ > settings_->config.handshake_timeout_ms) {
    close("handshake timed out after " + std::to_string(settings_->config.handshake_timeout_ms) +
              " ms",
          LinkRefusal::kTimeout);
    return;
  }
  if (writing_ && now_ms - write_started_ms_ > settings_->config.write_timeout_ms) {
    close("peer is not reading: a write has been pending for over " +
          std::to_string(settings_->config.write_timeout_ms) + " ms");
  }
}

void Link::close(std::string reason, LinkRefusal refusal) {
  if (closed_) return;
  closed_ = true;
  close_reason_ = std::move(reason);
  refusal_ = refusal;
  error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  handshake_.reset();
  transport_.reset();
  util::Bytes().swap(rx_);
  util::Bytes().swap(out_pending_);
  // read_buf_ and out_writing_ stay: an aborted read or write may still refer to them.
  asio::post(socket_.get_executor(),
             [self = shared_from_this()] { self->owner_->on_link_closed(self); });
}

}  // namespace imet::net
