// NetConfig::validate (config.h).
#include "net/config.h"

#include "net/frame.h"
#include "net/hello.h"
#include "net/link.h"
#include "net/wire.h"

namespace imet::net {

util::Status NetConfig::validate() const {
  auto positive = [](double v, const char* name) -> util::Status {
    if (!(v > 0))
      return util::invalid_argument(std::string("p2p config: ") + name + " must be > 0");
    return util::Status::ok_status();
  };
  if (max_outbound == 0 && seeds.size() > 0) {
    return util::invalid_argument("p2p config: max_outbound is 0 but seeds are configured");
  }
  if (rekey_interval_messages == 0) {
    return util::invalid_argument("p2p config: rekey_interval_messages must be at least 1");
  }
  if (max_inbound_per_netgroup == 0) {
    return util::invalid_argument("p2p config: max_inbound_per_netgroup must be at least 1");
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

}  // namespace imet::net
