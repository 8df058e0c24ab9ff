// The transport phase of a Noise session: the pair of CipherStates produced by Split(), assigned to
// sending and receiving according to the local role. Messages use an empty associated data.
// Thread-safety: not safe for concurrent use (sending and receiving each mutate a nonce); a caller
// that sends and receives from different threads must serialise access.
// Invariants: for one-way patterns the responder cannot send and the initiator cannot receive
// (those calls fail instead of using the discarded CipherState). Every message is at most
// kMaxMessageBytes, so a payload is at most kMaxMessageBytes - kTagBytes. With a rekey interval
// N > 0, the CipherState of a direction is rekeyed (Rekey(), Noise section 11.3) right after
// every N-th message in that direction (when its nonce, the count of messages, reaches a multiple
// of N): both peers do the same with no signalling, so they must agree on N.
#pragma once

#include "crypto/hash.h"
#include "crypto/noise/cipher_state.h"
#include "util/bytes.h"
#include "util/result.h"

namespace imet::crypto::noise {

enum class Role { kInitiator, kResponder };

class TransportState {
 public:
  TransportState(Role role, bool one_way, CipherState send, CipherState receive,
                 const Hash512& handshake_hash);

  // Encrypts one payload (<= 65519 bytes) into one transport message.
  util::Result<util::Bytes> write_message(util::ByteSpan payload);
  // Decrypts one transport message; errors if it was modified, truncated or over-long.
  util::Result<util::Bytes> read_message(util::ByteSpan message);

  CipherState& send_cipher() { return send_; }
  CipherState& receive_cipher() { return receive_; }
  // Rekey() of the sending / receiving CipherState; peers must rekey in step.
  util::Status rekey_send();
  util::Status rekey_receive();
  // Rekey each direction automatically after every `messages` messages in it (0: never, the
  // default). Set it before the first message.
  void set_rekey_interval(uint64_t messages) { rekey_interval_ = messages; }
  uint64_t rekey_interval() const { return rekey_interval_; }

  Role role() const { return role_; }
  bool one_way() const { return one_way_; }
  // The final handshake hash h, usable as a channel binding.
  const Hash512& handshake_hash() const { return handshake_hash_; }

 private:
  util::Status check_can_send() const;
  util::Status check_can_receive() const;

  Role role_;
  bool one_way_;
  CipherState send_;
  CipherState receive_;
  Hash512 handshake_hash_;
  uint64_t rekey_interval_ = 0;
};

}  // namespace imet::crypto::noise
