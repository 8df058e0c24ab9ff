// libFuzzer target for the handshake identity payload (net/hello.h) and endpoint parsing
// (net/wire.h): decode_hello on arbitrary bytes must never crash; an accepted Hello re-encodes to
// the same bytes; check_hello on it (against a fixed network and Noise static key) never crashes
// and accepts only a Hello whose signature verifies; parse_endpoint of the input as text never
// crashes and an accepted endpoint parses back from its own to_string(); the netgroup of its host
// (net/netgroup.h, what the host computes for every address a peer sends) never crashes and is an
// IPv4 /16, an IPv6 /32, "local" or "name" as the header says.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "crypto/ed25519.h"
#include "net/hello.h"
#include "net/netgroup.h"
#include "net/wire.h"

using namespace imet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const util::ByteSpan input(data, size);
  auto hello = net::decode_hello(input);
  if (hello.ok()) {
    if (net::encode_hello(*hello) != util::Bytes(input.begin(), input.end())) std::abort();
    util::ByteArray<32> static_key{};
    static_key.fill(0x11);
    const net::HelloCheck c = net::check_hello(*hello, hello->network_id, static_key);
    if (c.ok() &&
        !crypto::verify(hello->identity, net::hello_signed_message(hello->network_id, static_key),
                        hello->signature)) {
      std::abort();
    }
  }
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto e = net::parse_endpoint(text);
  if (e.ok()) {
    auto again = net::parse_endpoint(e->to_string());
    if (!again.ok() || !(*again == *e)) std::abort();
    for (const bool limit_local : {false, true}) {
      const net::NetGroup g = net::netgroup_of(e->host, limit_local);
      const bool prefix = g.key.ends_with("/16") || g.key.ends_with("/32");
      if (g.limited != prefix) std::abort();
      if (!g.limited && g.key != "name" && (limit_local || g.key != "local")) std::abort();
    }
  }
  return 0;
}
