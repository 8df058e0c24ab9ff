#include "crypto/address.h"

#include <algorithm>
#include <array>

#include "crypto/hash.h"
#include "util/bech32.h"

namespace imet::crypto {

namespace {

// The user's text for an error message: at most 100 characters, non-printable bytes shown as '?',
// so a hostile or binary input cannot flood or garble a log line.
std::string printable(std::string_view text) {
  constexpr size_t kMax = 100;
  std::string out;
  for (size_t i = 0; i < text.size() && i < kMax; ++i) {
    const char c = text[i];
    out.push_back(c >= 32 && c <= 126 ? c : '?');
  }
  if (text.size() > kMax) out += "...";
  return out;
}

}  // namespace

AddressBytes address_bytes_of(const PublicKey& pk) {
  struct Entry {
    PublicKey key{};
    AddressBytes address{};
    bool used = false;
  };
  thread_local std::array<Entry, 256> memo{};
  // Public keys are uniformly random: their first byte spreads them over the table.
  Entry& e = memo[pk[0]];
  if (e.used && e.key == pk) return e.address;
  const Hash256 h = blake2b_256(pk);
  std::copy_n(h.begin(), e.address.size(), e.address.begin());
  e.key = pk;
  e.used = true;
  return e.address;
}

std::string address_of(const PublicKey& pk) {
  return encode_address(address_bytes_of(pk));
}

std::string encode_address(const AddressBytes& address) {
  // A fixed 4-character prefix and 20 bytes always fit bech32m's 90-character limit.
  auto r = util::bech32m_encode(kAddressPrefix, address);
  return r.ok() ? std::move(r).value() : std::string();
}

util::Result<AddressBytes> parse_address(std::string_view text) {
  auto decoded = util::bech32m_decode(text);
  if (!decoded.ok()) {
    return util::invalid_argument("address '" + printable(text) +
                                  "' is not valid: " + decoded.status().message());
  }
  if (decoded->hrp != kAddressPrefix) {
    return util::invalid_argument("address has prefix '" + decoded->hrp + "', expected '" +
                                  std::string(kAddressPrefix) + "'");
  }
  if (decoded->data.size() != AddressBytes{}.size()) {
    return util::invalid_argument("address '" + printable(text) + "' holds " +
                                  std::to_string(decoded->data.size()) + " bytes, expected 20");
  }
  AddressBytes out{};
  std::copy(decoded->data.begin(), decoded->data.end(), out.begin());
  return out;
}

}  // namespace imet::crypto
