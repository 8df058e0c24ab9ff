#include "crypto/noise/handshake.h"

#include <algorithm>
#include <string>
#include <utility>

#include <sodium.h>

namespace imet::crypto::noise {

namespace {

constexpr size_t kDhLen = 32;

bool contains(const std::vector<Token>& tokens, Token t) {
  return std::find(tokens.begin(), tokens.end(), t) != tokens.end();
}

std::string_view role_name(Role role) {
  return role == Role::kInitiator ? "initiator" : "responder";
}

Role other(Role role) {
  return role == Role::kInitiator ? Role::kResponder : Role::kInitiator;
}

// The role that writes message `index` (0-based).
Role writer_of(size_t index) {
  return index % 2 == 0 ? Role::kInitiator : Role::kResponder;
}

bool is_dh(Token t) {
  return t == Token::kEE || t == Token::kES || t == Token::kSE || t == Token::kSS;
}

// Whether DH token `t` uses `role`'s static (true) or ephemeral (false) key.
bool uses_static(Token t, Role role) {
  switch (t) {
    case Token::kES:
      return role == Role::kResponder;
    case Token::kSE:
      return role == Role::kInitiator;
    case Token::kSS:
      return true;
    default:
      return false;
  }
}

util::Status check_config(const HandshakeConfig& config) {
  const Pattern& p = config.pattern;
  const Role me = config.role;
  const std::string& name = p.name;
  if (p.messages.empty()) {
    return util::invalid_argument("Noise pattern '" + name + "' has no messages");
  }
  const auto& local_pre = me == Role::kInitiator ? p.initiator_premessage : p.responder_premessage;
  const auto& remote_pre = me == Role::kInitiator ? p.responder_premessage : p.initiator_premessage;
  for (const auto* pre : {&local_pre, &remote_pre}) {
    for (Token t : *pre) {
      if (t != Token::kE && t != Token::kS) {
        return util::invalid_argument("Noise pattern '" + name + "' has token '" +
                                      std::string(token_name(t)) + "' in a pre-message");
      }
    }
  }
  bool need_local_static = contains(local_pre, Token::kS);
  bool remote_sends_static = false;
  for (size_t i = 0; i < p.messages.size(); ++i) {
    const bool mine = writer_of(i) == me;
    for (Token t : p.messages[i]) {
      if (t == Token::kS) (mine ? need_local_static : remote_sends_static) = true;
      if (is_dh(t) && uses_static(t, me)) need_local_static = true;
    }
  }
  const std::string peer(role_name(other(me)));
  if (need_local_static && !config.local_static) {
    return util::invalid_argument("Noise pattern '" + name + "' needs the " +
                                  std::string(role_name(me)) +
                                  "'s static key pair (local_static), which is not set");
  }
  if (contains(remote_pre, Token::kS) && !config.remote_static) {
    return util::invalid_argument("Noise pattern '" + name + "' needs the " + peer +
                                  "'s static public key in advance (remote_static)");
  }
  if (remote_sends_static && config.remote_static) {
    return util::invalid_argument("Noise pattern '" + name + "' transmits the " + peer +
                                  "'s static key, so remote_static must not be set; compare "
                                  "remote_static() after the handshake instead");
  }
  if (contains(remote_pre, Token::kE) && !config.remote_ephemeral) {
    return util::invalid_argument("Noise pattern '" + name + "' needs the " + peer +
                                  "'s ephemeral public key in advance (remote_ephemeral)");
  }
  if (!contains(remote_pre, Token::kE) && config.remote_ephemeral) {
    return util::invalid_argument("Noise pattern '" + name +
                                  "' has no remote ephemeral pre-message; remote_ephemeral must "
                                  "not be set");
  }
  if (contains(local_pre, Token::kE) && !config.local_ephemeral) {
    return util::invalid_argument("Noise pattern '" + name +
                                  "' needs our ephemeral key pair in advance (local_ephemeral)");
  }
  if (config.psks.size() != p.psk_count()) {
    return util::invalid_argument("Noise pattern '" + name + "' needs " +
                                  std::to_string(p.psk_count()) + " PSK(s), got " +
                                  std::to_string(config.psks.size()));
  }
  return {};
}

}  // namespace

HandshakeConfig::~HandshakeConfig() {
  for (Psk& psk : psks)
    sodium_memzero(psk.data(), psk.size());
}

HandshakeState::HandshakeState(Pattern pattern, Role role, SymmetricState symmetric)
    : pattern_(std::move(pattern)), role_(role), symmetric_(std::move(symmetric)) {}

HandshakeState::~HandshakeState() {
  for (Psk& psk : psks_)
    sodium_memzero(psk.data(), psk.size());
}

util::Result<HandshakeState> HandshakeState::create(HandshakeConfig config) {
  IMET_TRY(check_config(config));
  const Pattern& p = config.pattern;
  SymmetricState symmetric(p.protocol_name());
  HandshakeState hs(p, config.role, std::move(symmetric));
  hs.s_ = std::move(config.local_static);
  hs.rs_ = config.remote_static;
  hs.re_ = config.remote_ephemeral;
  hs.psks_ = std::move(config.psks);
  const bool initiator = config.role == Role::kInitiator;
  const auto& local_pre = initiator ? p.initiator_premessage : p.responder_premessage;
  if (contains(local_pre, Token::kE)) {
    hs.e_ = std::move(config.local_ephemeral);
  } else {
    hs.configured_e_ = std::move(config.local_ephemeral);
  }

  hs.symmetric_.mix_hash(config.prologue);
  // Pre-messages: the initiator's keys first, then the responder's (section 7.1). In psk mode an
  // ephemeral public key is also mixed into the key (section 9.2).
  for (const Role side : {Role::kInitiator, Role::kResponder}) {
    const bool local = side == config.role;
    const auto& pre = side == Role::kInitiator ? p.initiator_premessage : p.responder_premessage;
    for (Token t : pre) {
      const util::ByteArray<32>& key = t == Token::kS ? (local ? hs.s_->public_key : *hs.rs_)
                                                      : (local ? hs.e_->public_key : *hs.re_);
      hs.symmetric_.mix_hash(key);
      if (t == Token::kE && p.has_psk()) hs.symmetric_.mix_key(key);
    }
  }
  return hs;
}

bool HandshakeState::is_my_turn() const {
  return !is_complete() && writer_of(next_message_) == role_;
}

util::Status HandshakeState::check_can_act(bool writing) const {
  if (failed_) {
    return util::failed_precondition(
        "this Noise handshake failed earlier and must be restarted from the beginning");
  }
  if (is_complete()) {
    return util::failed_precondition("the Noise handshake is already complete; call split()");
  }
  const Role writer = writer_of(next_message_);
  const std::string which = "message " + std::to_string(next_message_ + 1) + " of " +
                            pattern_.name + " is written by the " + std::string(role_name(writer));
  if (writing && writer != role_) {
    return util::failed_precondition("out of turn: " + which + "; read it first");
  }
  if (!writing && writer == role_) {
    return util::failed_precondition("out of turn: " + which + ", not read by it");
  }
  return {};
}

size_t HandshakeState::message_size(size_t payload_size) const {
  bool has_key = symmetric_.has_key();
  size_t size = 0;
  for (Token t : pattern_.messages[next_message_]) {
    switch (t) {
      case Token::kE:
        size += kDhLen;
        if (pattern_.has_psk()) has_key = true;
        break;
      case Token::kS:
        size += kDhLen + (has_key ? kTagBytes : 0);
        break;
      default:
        has_key = true;
        break;  // every DH token and psk call MixKey
    }
  }
  return size + payload_size + (has_key ? kTagBytes : 0);
}

util::Status HandshakeState::mix_dh(Token token) {
  const bool local_static = uses_static(token, role_);
  const bool remote_static = uses_static(token, other(role_));
  const std::optional<X25519KeyPair>& local = local_static ? s_ : e_;
  const std::optional<util::ByteArray<32>>& remote = remote_static ? rs_ : re_;
  const std::string what = "Noise token '" + std::string(token_name(token)) + "'";
  if (!local) {
    return util::invalid_argument(what + " needs our " + (local_static ? "static" : "ephemeral") +
                                  " key, which is not set");
  }
  if (!remote) {
    return util::invalid_argument(what + " needs the peer's " +
                                  (remote_static ? "static" : "ephemeral") +
                                  " key, which is not known yet");
  }
  auto shared = x25519(local->private_key, *remote);
  if (!shared.ok()) return shared.status().with_context(what);
  symmetric_.mix_key(*shared);
  sodium_memzero(shared->data(), shared->size());
  return {};
}

util::Result<util::Bytes> HandshakeState::write_tokens(util::ByteSpan payload) {
  util::Bytes out;
  out.reserve(message_size(payload.size()));
  for (Token t : pattern_.messages[next_message_]) {
    switch (t) {
      case Token::kE: {
        if (e_) return util::internal_error("Noise pattern sends our ephemeral key twice");
        e_ = configured_e_ ? std::move(configured_e_) : X25519KeyPair::generate();
        configured_e_.reset();
        util::append(out, e_->public_key);
        symmetric_.mix_hash(e_->public_key);
        if (pattern_.has_psk()) symmetric_.mix_key(e_->public_key);
        break;
      }
      case Token::kS: {
        if (!s_) return util::invalid_argument("our static key pair is not set");
        IMET_ASSIGN_OR_RETURN(util::Bytes ct, symmetric_.encrypt_and_hash(s_->public_key));
        util::append(out, ct);
        break;
      }
      case Token::kPsk:
        if (next_psk_ >= psks_.size()) return util::invalid_argument("not enough PSKs");
        symmetric_.mix_key_and_hash(psks_[next_psk_++]);
        break;
      default:
        IMET_TRY(mix_dh(t));
        break;
    }
  }
  IMET_ASSIGN_OR_RETURN(util::Bytes ct, symmetric_.encrypt_and_hash(payload));
  util::append(out, ct);
  return out;
}

util::Result<util::Bytes> HandshakeState::write_message(util::ByteSpan payload) {
  IMET_TRY(check_can_act(true));
  if (payload.size() > kMaxMessageBytes || message_size(payload.size()) > kMaxMessageBytes) {
    return util::invalid_argument("Noise handshake message would exceed 65535 bytes: payload of " +
                                  std::to_string(payload.size()) + " bytes is too large (at most " +
                                  std::to_string(kMaxMessageBytes - message_size(0)) +
                                  " bytes fit in message " + std::to_string(next_message_ + 1) +
                                  ")");
  }
  auto out = write_tokens(payload);
  if (!out.ok()) {
    failed_ = true;
    return out.status().with_context("writing Noise handshake message " +
                                     std::to_string(next_message_ + 1));
  }
  ++next_message_;
  return out;
}

util::Result<util::Bytes> HandshakeState::read_tokens(util::ByteSpan message) {
  if (message.size() > kMaxMessageBytes) {
    return util::invalid_argument("message of " + std::to_string(message.size()) +
                                  " bytes exceeds the Noise limit of 65535 bytes");
  }
  const size_t min_size = message_size(0);
  if (message.size() < min_size) {
    return util::invalid_argument("message is truncated: " + std::to_string(message.size()) +
                                  " bytes, but at least " + std::to_string(min_size) +
                                  " bytes are needed");
  }
  util::ByteSpan rest = message;
  for (Token t : pattern_.messages[next_message_]) {
    switch (t) {
      case Token::kE: {
        if (re_) return util::invalid_argument("the peer's ephemeral key was already received");
        if (rest.size() < kDhLen) return util::invalid_argument("truncated ephemeral key");
        util::ByteArray<32> re{};
        std::copy_n(rest.begin(), kDhLen, re.begin());
        rest = rest.subspan(kDhLen);
        re_ = re;
        symmetric_.mix_hash(re);
        if (pattern_.has_psk()) symmetric_.mix_key(re);
        break;
      }
      case Token::kS: {
        if (rs_) return util::invalid_argument("the peer's static key was already received");
        const size_t len = kDhLen + (symmetric_.has_key() ? kTagBytes : 0);
        if (rest.size() < len) return util::invalid_argument("truncated static key");
        auto rs = symmetric_.decrypt_and_hash(rest.first(len));
        if (!rs.ok()) return rs.status().with_context("the peer's static key");
        rest = rest.subspan(len);
        util::ByteArray<32> key{};
        std::copy_n(rs->begin(), kDhLen, key.begin());
        rs_ = key;
        break;
      }
      case Token::kPsk:
        if (next_psk_ >= psks_.size()) return util::invalid_argument("not enough PSKs");
        symmetric_.mix_key_and_hash(psks_[next_psk_++]);
        break;
      default:
        IMET_TRY(mix_dh(t));
        break;
    }
  }
  auto payload = symmetric_.decrypt_and_hash(rest);
  if (!payload.ok()) return payload.status().with_context("the payload");
  return payload;
}

util::Result<util::Bytes> HandshakeState::read_message(util::ByteSpan message) {
  IMET_TRY(check_can_act(false));
  auto payload = read_tokens(message);
  if (!payload.ok()) {
    failed_ = true;
    return payload.status().with_context("reading Noise handshake message " +
                                         std::to_string(next_message_ + 1) + " of " +
                                         pattern_.name);
  }
  ++next_message_;
  return payload;
}

util::Result<TransportState> HandshakeState::split() const {
  if (failed_) {
    return util::failed_precondition("this Noise handshake failed; there is nothing to split");
  }
  if (!is_complete()) {
    return util::failed_precondition("the Noise handshake is not complete yet (next is message " +
                                     std::to_string(next_message_ + 1) + " of " + pattern_.name +
                                     ")");
  }
  auto [c1, c2] = symmetric_.split();
  if (role_ == Role::kInitiator) {
    return TransportState(role_, pattern_.one_way, std::move(c1), std::move(c2), handshake_hash());
  }
  return TransportState(role_, pattern_.one_way, std::move(c2), std::move(c1), handshake_hash());
}

}  // namespace imet::crypto::noise
