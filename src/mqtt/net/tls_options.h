// TlsOptions: the certificate, key and CA files of the broker's TLS listeners (tls_listen and
// wss_listen), as given in the node config's [mqtt] table (docs/mqtt-transports.md).
// Thread-safety: plain value type.
// Invariants: none by construction; make_server_tls_context (mqtt/net/tls_transport.h) checks the
// files and refuses require_client_cert without a CA file.
#pragma once

#include <string>

namespace imet::mqtt::net {

struct TlsOptions {
  std::string cert_file;  // PEM: the server certificate, optionally followed by its chain
  std::string key_file;   // PEM: the server's private key (unencrypted)
  std::string ca_file;    // PEM: CAs that sign client certificates; empty = none
  // Every client must present a certificate signed by a CA in ca_file (mosquitto's
  // require_certificate). Without it, a certificate a client presents is still verified when
  // ca_file is set, and a client without one is accepted.
  bool require_client_cert = false;

  bool operator==(const TlsOptions&) const = default;
};

}  // namespace imet::mqtt::net
