#include "crypto/passphrase.h"

#include <string>

#include <sodium.h>

#include "crypto/sodium.h"

namespace imet::crypto {

namespace {

static_assert(crypto_pwhash_argon2id_SALTBYTES == 16, "SealedSecret::salt must fit crypto_pwhash");
static_assert(kMinKdf.opslimit >= crypto_pwhash_argon2id_OPSLIMIT_MIN);
static_assert(kMinKdf.memlimit_bytes >= crypto_pwhash_argon2id_MEMLIMIT_MIN);

constexpr std::string_view kFormatTag = "imet-passphrase-v1";

util::Status check_kdf(const KdfParams& kdf) {
  if (kdf.opslimit < kMinKdf.opslimit || kdf.opslimit > kMaxKdf.opslimit) {
    return util::invalid_argument(
        "Argon2id opslimit " + std::to_string(kdf.opslimit) + " is out of the accepted range [" +
        std::to_string(kMinKdf.opslimit) + ", " + std::to_string(kMaxKdf.opslimit) + "]");
  }
  if (kdf.memlimit_bytes < kMinKdf.memlimit_bytes || kdf.memlimit_bytes > kMaxKdf.memlimit_bytes) {
    return util::invalid_argument("Argon2id memlimit " + std::to_string(kdf.memlimit_bytes) +
                                  " bytes is out of the accepted range [" +
                                  std::to_string(kMinKdf.memlimit_bytes) + ", " +
                                  std::to_string(kMaxKdf.memlimit_bytes) + "] bytes");
  }
  return {};
}

void put_u64_le(util::Bytes& out, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// format tag || opslimit (LE64) || memlimit (LE64) || salt || caller's aad. Every field but the
// last has a fixed length, so the encoding is unambiguous.
util::Bytes full_aad(const KdfParams& kdf, const util::ByteArray<16>& salt, util::ByteSpan aad) {
  util::Bytes out;
  out.reserve(kFormatTag.size() + 16 + salt.size() + aad.size());
  util::append(out, util::as_bytes(kFormatTag));
  put_u64_le(out, kdf.opslimit);
  put_u64_le(out, kdf.memlimit_bytes);
  util::append(out, salt);
  util::append(out, aad);
  return out;
}

// Derives the AEAD key; the caller wipes it.
util::Status derive_key(std::string_view passphrase, const util::ByteArray<16>& salt,
                        const KdfParams& kdf, AeadKey& key) {
  if (crypto_pwhash(key.data(), key.size(), passphrase.data(), passphrase.size(), salt.data(),
                    kdf.opslimit, static_cast<size_t>(kdf.memlimit_bytes),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    sodium_memzero(key.data(), key.size());
    return util::unavailable("Argon2id key derivation failed: could not allocate " +
                             std::to_string(kdf.memlimit_bytes) + " bytes of memory");
  }
  return {};
}

}  // namespace

util::Result<SealedSecret> seal_with_passphrase(util::ByteSpan secret, std::string_view passphrase,
                                                util::ByteSpan aad, KdfParams kdf) {
  ensure_init();
  IMET_TRY(check_kdf(kdf));
  SealedSecret sealed{kdf, {}, {}, {}};
  random_bytes(sealed.salt);
  random_bytes(sealed.nonce);
  AeadKey key{};
  IMET_TRY(derive_key(passphrase, sealed.salt, kdf, key));
  sealed.ciphertext = xchacha_seal(key, sealed.nonce, secret, full_aad(kdf, sealed.salt, aad));
  sodium_memzero(key.data(), key.size());
  return sealed;
}

util::Result<util::Bytes> open_with_passphrase(const SealedSecret& sealed,
                                               std::string_view passphrase, util::ByteSpan aad) {
  ensure_init();
  IMET_TRY(check_kdf(sealed.kdf).with_context("sealed secret has unacceptable KDF parameters"));
  if (sealed.ciphertext.size() < kAeadTagBytes) {
    return util::invalid_argument("sealed secret is truncated: ciphertext of " +
                                  std::to_string(sealed.ciphertext.size()) +
                                  " bytes is shorter than the 16-byte tag");
  }
  AeadKey key{};
  IMET_TRY(derive_key(passphrase, sealed.salt, sealed.kdf, key));
  auto opened =
      xchacha_open(key, sealed.nonce, sealed.ciphertext, full_aad(sealed.kdf, sealed.salt, aad));
  sodium_memzero(key.data(), key.size());
  if (!opened.ok()) {
    return util::permission_denied("wrong passphrase, or the key file was modified");
  }
  return opened;
}

}  // namespace imet::crypto
