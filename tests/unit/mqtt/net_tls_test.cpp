// make_server_tls_context (every start-up error names its option and file) and TlsTransport over
// real loopback sockets: a handshake and bytes both ways, TLS 1.1 refused, client certificates
// required. Certificates are made at test time with the OpenSSL API (tls_test_util.h).
#include <array>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "../store/temp_dir.h"
#include "mqtt/net/tls_transport.h"
#include "tls_test_util.h"

namespace imet::mqtt::net {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
using store::testing::TempDir;
using test::make_self_signed;
using test::server_tls_context;

void write_text(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(text.c_str(), f);
  std::fclose(f);
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    make_self_signed(cert_, key_);
    make_self_signed(other_cert_, other_key_);
    make_self_signed(enc_cert_, enc_key_, "secret");
    write_text(garbage_, "not a certificate\n");
  }

  std::string error_of(const TlsOptions& o) {
    auto ctx = make_server_tls_context(o);
    EXPECT_FALSE(ctx.ok());
    return ctx.ok() ? std::string() : ctx.status().message();
  }

  TempDir dir_;
  std::string cert_ = dir_.path() + "/server.crt";
  std::string key_ = dir_.path() + "/server.key";
  std::string other_cert_ = dir_.path() + "/other.crt";
  std::string other_key_ = dir_.path() + "/other.key";
  std::string enc_cert_ = dir_.path() + "/enc.crt";
  std::string enc_key_ = dir_.path() + "/enc.key";
  std::string garbage_ = dir_.path() + "/garbage.pem";
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(TlsTest, BuildsAContextFromGoodFiles) {
  EXPECT_TRUE(make_server_tls_context({cert_, key_, "", false}).ok());
  EXPECT_TRUE(make_server_tls_context({cert_, key_, other_cert_, true}).ok());
}

TEST_F(TlsTest, ErrorsNameTheOptionAndTheFile) {
  const std::string missing = dir_.path() + "/missing.pem";
  std::string e = error_of({missing, key_, "", false});
  EXPECT_TRUE(contains(e, "tls_cert_file") && contains(e, missing) && contains(e, "does not exist"))
      << e;
  e = error_of({cert_, missing, "", false});
  EXPECT_TRUE(contains(e, "tls_key_file") && contains(e, missing)) << e;
  e = error_of({cert_, key_, missing, false});
  EXPECT_TRUE(contains(e, "tls_ca_file") && contains(e, missing)) << e;
  e = error_of({garbage_, key_, "", false});
  EXPECT_TRUE(contains(e, "tls_cert_file") && contains(e, garbage_) && contains(e, "PEM")) << e;
  e = error_of({cert_, garbage_, "", false});
  EXPECT_TRUE(contains(e, "tls_key_file") && contains(e, garbage_)) << e;
  e = error_of({cert_, key_, garbage_, false});
  EXPECT_TRUE(contains(e, "tls_ca_file") && contains(e, garbage_)) << e;
  e = error_of({"", key_, "", false});
  EXPECT_TRUE(contains(e, "tls_cert_file is not set")) << e;
}

TEST_F(TlsTest, RefusesAKeyOfAnotherCertificate) {
  const std::string e = error_of({cert_, other_key_, "", false});
  EXPECT_TRUE(contains(e, "tls_key_file") && contains(e, other_key_) &&
              contains(e, "is not the private key of the certificate") && contains(e, cert_))
      << e;
}

TEST_F(TlsTest, RefusesAnEncryptedKeyWithoutPrompting) {
  // stdin is not read: the password callback answers with an empty passphrase.
  const std::string e = error_of({enc_cert_, enc_key_, "", false});
  EXPECT_TRUE(contains(e, "tls_key_file") && contains(e, enc_key_) && contains(e, "unencrypted"))
      << e;
}

TEST_F(TlsTest, RequiringClientCertificatesNeedsACa) {
  const std::string e = error_of({cert_, key_, "", true});
  EXPECT_TRUE(contains(e, "tls_require_client_cert") && contains(e, "tls_ca_file")) << e;
}

// One server connection through TlsTransport; the client runs synchronously on its own thread.
struct Exchange {
  boost::system::error_code handshake;
  std::string received;  // what the server read before the client closed
};

template <class Client>
Exchange run_server(const std::shared_ptr<ssl::context>& server_ctx, Client client) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = acceptor.local_endpoint().port();
  std::thread client_thread([&] { client(port); });
  Exchange out;
  std::unique_ptr<TlsTransport> transport;
  std::array<char, 64> buf{};
  std::function<void()> read = [&] {
    transport->async_read_some(
        asio::buffer(buf), [&](const boost::system::error_code& ec, size_t n) {
          if (ec) return;
          out.received.append(buf.data(), n);
          if (out.received == "hello") {
            static const std::string kReply = "world";
            transport->async_write(asio::buffer(kReply),
                                   [](const boost::system::error_code&, size_t) {});
          }
          read();
        });
  };
  acceptor.async_accept(asio::make_strand(io),
                        [&](const boost::system::error_code& ec, tcp::socket socket) {
                          ASSERT_FALSE(ec);
                          transport = std::make_unique<TlsTransport>(std::move(socket), server_ctx);
                          EXPECT_STREQ(transport->kind(), "tls");
                          EXPECT_EQ(transport->remote_ip(), "127.0.0.1");
                          transport->async_handshake([&](const boost::system::error_code& hec) {
                            out.handshake = hec;
                            if (hec) {
                              transport->close();
                              return;
                            }
                            read();
                          });
                        });
  io.run_for(std::chrono::seconds(20));
  client_thread.join();
  return out;
}

// A client that trusts `ca`, optionally presents a certificate, speaks TLS up to `max_version`.
struct TlsClient {
  std::string ca;
  std::string cert;
  std::string key;
  int max_version = 0;  // 0 = newest
  bool ok = false;      // handshake done and "world" received

  void operator()(uint16_t port) {
    ssl::context ctx(ssl::context::tls_client);
    ctx.load_verify_file(ca);
    ctx.set_verify_mode(ssl::verify_peer);
    if (!cert.empty()) {
      ctx.use_certificate_file(cert, ssl::context::pem);
      ctx.use_private_key_file(key, ssl::context::pem);
    }
    if (max_version != 0) {
      SSL_CTX_set_security_level(ctx.native_handle(), 0);
      SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_VERSION);
      SSL_CTX_set_max_proto_version(ctx.native_handle(), max_version);
      SSL_CTX_set_cipher_list(ctx.native_handle(), "DEFAULT@SECLEVEL=0");
    }
    asio::io_context io;
    ssl::stream<tcp::socket> s(io, ctx);
    boost::system::error_code ec;
    s.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    if (ec) return;
    s.handshake(ssl::stream_base::client, ec);
    if (ec) return;
    asio::write(s, asio::buffer(std::string("hello")), ec);
    std::array<char, 5> reply{};
    asio::read(s, asio::buffer(reply), ec);
    // With TLS 1.3 a refused client certificate shows only here, as an alert after the handshake.
    ok = !ec && std::string(reply.data(), reply.size()) == "world";
    s.next_layer().close(ec);
  }
};

TEST_F(TlsTest, CarriesBytesBothWays) {
  auto ctx = server_tls_context(cert_, key_);
  ASSERT_TRUE(ctx);
  TlsClient client{cert_, "", ""};
  Exchange ex = run_server(ctx, std::ref(client));
  EXPECT_FALSE(ex.handshake) << ex.handshake.message();
  EXPECT_EQ(ex.received, "hello");
  EXPECT_TRUE(client.ok);
}

TEST_F(TlsTest, RefusesTls11) {
  auto ctx = server_tls_context(cert_, key_);
  ASSERT_TRUE(ctx);
  TlsClient client{cert_, "", "", TLS1_1_VERSION};
  Exchange ex = run_server(ctx, std::ref(client));
  EXPECT_TRUE(ex.handshake);
  EXPECT_TRUE(contains(ex.handshake.message(), "unsupported protocol")) << ex.handshake.message();
  EXPECT_EQ(ex.received, "");
  EXPECT_FALSE(client.ok);
  // TLS 1.2 is accepted.
  TlsClient v12{cert_, "", "", TLS1_2_VERSION};
  ex = run_server(ctx, std::ref(v12));
  EXPECT_FALSE(ex.handshake) << ex.handshake.message();
  EXPECT_TRUE(v12.ok);
}

TEST_F(TlsTest, RequiredClientCertificate) {
  // The CA is other_cert_ (self-signed): other_cert_/other_key_ is a valid client certificate,
  // cert_/key_ is not signed by it.
  auto ctx = make_server_tls_context({cert_, key_, other_cert_, true});
  ASSERT_TRUE(ctx.ok()) << ctx.status().message();
  TlsClient none{cert_, "", ""};
  Exchange ex = run_server(*ctx, std::ref(none));
  EXPECT_TRUE(ex.handshake);
  EXPECT_EQ(ex.received, "");
  EXPECT_FALSE(none.ok);

  TlsClient untrusted{cert_, cert_, key_};
  ex = run_server(*ctx, std::ref(untrusted));
  EXPECT_TRUE(ex.handshake);
  EXPECT_FALSE(untrusted.ok);

  TlsClient good{cert_, other_cert_, other_key_};
  ex = run_server(*ctx, std::ref(good));
  EXPECT_FALSE(ex.handshake) << ex.handshake.message();
  EXPECT_EQ(ex.received, "hello");
  EXPECT_TRUE(good.ok);
}

}  // namespace
}  // namespace imet::mqtt::net
