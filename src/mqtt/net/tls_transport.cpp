// TlsTransport and the shared server TLS context.
#include "mqtt/net/tls_transport.h"

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "util/fs.h"

namespace imet::mqtt::net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

namespace {

constexpr size_t kMaxPemFile = 1 << 20;

// The file must exist and be readable; OpenSSL's own errors for a missing file are obscure.
util::Status check_readable(const char* option, const std::string& path) {
  if (path.empty()) return util::invalid_argument(std::string(option) + " is not set");
  auto text = util::read_file(path, kMaxPemFile);
  if (!text.ok())
    return util::invalid_argument(std::string(option) + ": " + text.status().message());
  return {};
}

util::Status openssl_error(const char* option, const std::string& path, const std::string& what,
                           const boost::system::error_code& ec) {
  return util::invalid_argument(std::string(option) + ": '" + path + "' " + what +
                                " (OpenSSL: " + ec.message() + ")");
}

}  // namespace

util::Result<std::shared_ptr<ssl::context>> make_server_tls_context(const TlsOptions& o) {
  IMET_TRY(check_readable("tls_cert_file", o.cert_file));
  IMET_TRY(check_readable("tls_key_file", o.key_file));
  if (o.require_client_cert && o.ca_file.empty()) {
    return util::invalid_argument(
        "tls_require_client_cert = true needs tls_ca_file (the CA that signs client certificates)");
  }
  if (!o.ca_file.empty()) IMET_TRY(check_readable("tls_ca_file", o.ca_file));

  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                       ssl::context::single_dh_use,
                   ec);
  if (ec) return util::internal_error("cannot set TLS options: " + ec.message());
  if (SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION) != 1) {
    return util::internal_error("cannot restrict TLS to version 1.2 and newer");
  }
  // An encrypted key would make OpenSSL prompt on the terminal; answer with an empty passphrase so
  // that loading fails instead.
  ctx->set_password_callback([](size_t, ssl::context::password_purpose) { return std::string(); },
                             ec);
  ctx->use_certificate_chain_file(o.cert_file, ec);
  if (ec) {
    return openssl_error("tls_cert_file", o.cert_file, "is not a PEM certificate (chain)", ec);
  }
  ctx->use_private_key_file(o.key_file, ssl::context::pem, ec);
  const auto code = static_cast<unsigned long>(ec.value());
  const bool mismatch = ec && ec.category() == asio::error::get_ssl_category() &&
                        ERR_GET_LIB(code) == ERR_LIB_X509 &&
                        ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH;
  if (mismatch || (!ec && SSL_CTX_check_private_key(ctx->native_handle()) != 1)) {
    return util::invalid_argument("tls_key_file: '" + o.key_file +
                                  "' is not the private key of the certificate in tls_cert_file '" +
                                  o.cert_file + "'");
  }
  if (ec) {
    return openssl_error("tls_key_file", o.key_file, "is not an unencrypted PEM private key", ec);
  }
  if (!o.ca_file.empty()) {
    ctx->load_verify_file(o.ca_file, ec);
    if (ec) return openssl_error("tls_ca_file", o.ca_file, "holds no PEM CA certificate", ec);
    // Tell clients which CAs are accepted, so a client with several certificates picks the right
    // one.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(ctx->native_handle(), names);
    }
    ssl::verify_mode mode = ssl::verify_peer;
    if (o.require_client_cert) mode |= ssl::verify_fail_if_no_peer_cert;
    ctx->set_verify_mode(mode, ec);
    if (ec) return util::internal_error("cannot set the TLS verify mode: " + ec.message());
  } else {
    ctx->set_verify_mode(ssl::verify_none, ec);
  }
  return ctx;
}

TlsTransport::TlsTransport(asio::ip::tcp::socket socket, std::shared_ptr<ssl::context> context)
    : context_(std::move(context)), stream_(std::move(socket), *context_) {
  boost::system::error_code ec;
  stream_.lowest_layer().set_option(asio::ip::tcp::no_delay(true), ec);
  const auto ep = stream_.lowest_layer().remote_endpoint(ec);
  remote_ip_ = ec ? std::string("?") : ep.address().to_string();
}

void TlsTransport::async_handshake(Handler handler) {
  stream_.async_handshake(ssl::stream_base::server, std::move(handler));
}

void TlsTransport::async_read_some(asio::mutable_buffer buffer, IoHandler handler) {
  stream_.async_read_some(buffer, std::move(handler));
}

void TlsTransport::async_write(asio::const_buffer buffer, IoHandler handler) {
  asio::async_write(stream_, buffer, std::move(handler));
}

void TlsTransport::close() {
  boost::system::error_code ec;
  stream_.lowest_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  stream_.lowest_layer().close(ec);
}

}  // namespace imet::mqtt::net
