#include "ledger/transaction.h"

namespace imet::ledger {

namespace {

util::Bytes tagged(std::string_view tag, util::ByteSpan body) {
  util::Bytes out(tag.begin(), tag.end());
  out.push_back(0);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

template <size_t... I>
TxBody make_body_impl(size_t index, std::index_sequence<I...>) {
  TxBody body;
  ((index == I ? (body.emplace<I>(), 0) : 0), ...);
  return body;
}

}  // namespace

TxBody make_body(TxKind kind) {
  return make_body_impl(static_cast<size_t>(kind) - 1,
                        std::make_index_sequence<std::variant_size_v<TxBody>>{});
}

util::Bytes Transaction::signing_bytes() const {
  util::Bytes unsigned_part;
  codec::Writer w(unsigned_part);
  const_cast<Transaction*>(this)->serde_unsigned(w);
  return tagged("IMET/tx/v1", unsigned_part);
}

Hash Transaction::id() const {
  return crypto::blake2b_256(codec::encode(*this));
}

void Transaction::sign(const crypto::SigningKey& key) {
  sender = key.public_key();
  signature = key.sign(signing_bytes());
}

bool Transaction::signature_valid() const {
  return crypto::verify(sender, signing_bytes(), signature);
}

util::Bytes node_ownership_message(std::string_view chain_id, const PublicKey& owner) {
  util::Bytes body(chain_id.begin(), chain_id.end());
  body.push_back(0);
  body.insert(body.end(), owner.begin(), owner.end());
  return tagged("IMET/node-owner/v1", body);
}

util::Bytes sponsor_message(std::string_view chain_id, const PublicKey& device,
                            const PublicKey& owner) {
  util::Bytes body(chain_id.begin(), chain_id.end());
  body.push_back(0);
  body.insert(body.end(), device.begin(), device.end());
  body.insert(body.end(), owner.begin(), owner.end());
  return tagged("IMET/device-sponsor/v1", body);
}

}  // namespace imet::ledger
