#include "crypto/noise/transport.h"

#include <utility>

namespace imet::crypto::noise {

TransportState::TransportState(Role role, bool one_way, CipherState send, CipherState receive,
                               const Hash512& handshake_hash)
    : role_(role),
      one_way_(one_way),
      send_(std::move(send)),
      receive_(std::move(receive)),
      handshake_hash_(handshake_hash) {}

util::Status TransportState::check_can_send() const {
  if (one_way_ && role_ == Role::kResponder) {
    return util::failed_precondition(
        "one-way Noise pattern: the responder cannot send transport messages");
  }
  return {};
}

util::Status TransportState::check_can_receive() const {
  if (one_way_ && role_ == Role::kInitiator) {
    return util::failed_precondition(
        "one-way Noise pattern: the initiator cannot receive transport messages");
  }
  return {};
}

namespace {
// After a message: Rekey() once `messages % interval == 0` (the nonce counts the messages).
util::Status rekey_if_due(CipherState& c, uint64_t interval) {
  if (interval == 0 || c.nonce() % interval != 0) return {};
  return c.rekey();
}
}  // namespace

util::Result<util::Bytes> TransportState::write_message(util::ByteSpan payload) {
  IMET_TRY(check_can_send());
  IMET_ASSIGN_OR_RETURN(util::Bytes out, send_.encrypt_with_ad({}, payload));
  IMET_TRY(rekey_if_due(send_, rekey_interval_));
  return out;
}

util::Result<util::Bytes> TransportState::read_message(util::ByteSpan message) {
  IMET_TRY(check_can_receive());
  IMET_ASSIGN_OR_RETURN(util::Bytes out, receive_.decrypt_with_ad({}, message));
  IMET_TRY(rekey_if_due(receive_, rekey_interval_));
  return out;
}

util::Status TransportState::rekey_send() {
  IMET_TRY(check_can_send());
  return send_.rekey();
}

util::Status TransportState::rekey_receive() {
  IMET_TRY(check_can_receive());
  return receive_.rekey();
}

}  // namespace imet::crypto::noise
