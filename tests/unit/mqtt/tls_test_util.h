// Shared TLS set-up of the MQTT tests that run real TLS handshakes (net_tls_test.cpp,
// broker_takeover_stream_test.cpp): a self-signed certificate and key made at test time with the
// OpenSSL API, and the server context that make_server_tls_context builds from them.
// Thread-safety: free functions without shared state; each writes only the files it is given.
// Invariants: the certificate is for CN "localhost", valid from a minute ago for an hour, with a
// P-256 key; being self-signed, it is also usable as its own CA. A helper that cannot do its work
// fails the test (make_self_signed returns early; server_tls_context returns null).
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mqtt/net/tls_transport.h"

namespace imet::mqtt::net::test {

struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertDeleter {
  void operator()(X509* c) const { X509_free(c); }
};

// Writes a P-256 key and a self-signed certificate for "localhost" (also usable as its own CA) as
// PEM files; with `key_passphrase`, the key is encrypted with it (AES-256-CBC).
inline void make_self_signed(const std::string& cert_path, const std::string& key_path,
                             const char* key_passphrase = nullptr) {
  std::unique_ptr<EVP_PKEY, KeyDeleter> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_TRUE(key);
  std::unique_ptr<X509, CertDeleter> cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  ASSERT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);

  FILE* f = std::fopen(cert_path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_X509(f, cert.get());
  std::fclose(f);
  f = std::fopen(key_path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  if (key_passphrase != nullptr) {
    PEM_write_PrivateKey(f, key.get(), EVP_aes_256_cbc(), nullptr, 0, nullptr,
                         const_cast<char*>(key_passphrase));
  } else {
    PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  }
  std::fclose(f);
}

// The server context for `cert_path` and `key_path` (no CA, no client certificates), as
// make_server_tls_context builds it; null, failing the test, when it cannot be built.
inline std::shared_ptr<boost::asio::ssl::context> server_tls_context(const std::string& cert_path,
                                                                     const std::string& key_path) {
  auto ctx = make_server_tls_context({cert_path, key_path, "", false});
  EXPECT_TRUE(ctx.ok()) << ctx.status().message();
  return ctx.ok() ? *ctx : nullptr;
}

}  // namespace imet::mqtt::net::test
