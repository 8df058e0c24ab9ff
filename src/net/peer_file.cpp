// The peers file format (peer_file.h).
#include "net/peer_file.h"

#include <cstdint>

#include <boost/asio/ip/address.hpp>
#include <nlohmann/json.hpp>

namespace imet::net {

using json = nlohmann::json;

namespace {

const char* source_name(AddrSource s) {
  return s == AddrSource::kNode ? "node" : "peer";
}

// The array `key` of `root` (missing = empty), at most kMaxPeerFileEntries long.
util::Result<const json*> list(const json& root, const char* key) {
  static const json kEmpty = json::array();
  auto it = root.find(key);
  if (it == root.end()) return &kEmpty;
  if (!it->is_array()) return util::invalid_argument(std::string(key) + ": not an array");
  if (it->size() > kMaxPeerFileEntries) {
    return util::invalid_argument(std::string(key) + ": more than " +
                                  std::to_string(kMaxPeerFileEntries) + " entries");
  }
  return &*it;
}

util::Result<std::string> string_field(const json& e, const std::string& where, const char* key) {
  auto it = e.find(key);
  if (it == e.end() || !it->is_string()) {
    return util::invalid_argument(where + "." + key + ": missing or not a string");
  }
  return it->get<std::string>();
}

util::Result<int64_t> int_field(const json& e, const std::string& where, const char* key) {
  auto it = e.find(key);
  if (it == e.end() || !it->is_number_integer()) {
    return util::invalid_argument(where + "." + key + ": missing or not an integer");
  }
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return util::invalid_argument(where + "." + key + ": out of range");
  }
  return it->get<int64_t>();
}

util::Result<PeerFileData> decode(const json& root) {
  if (!root.is_object()) return util::invalid_argument("not a JSON object");
  auto version = root.find("version");
  if (version == root.end() || !version->is_number_integer() || *version != 1) {
    return util::invalid_argument("version: missing or not 1");
  }
  PeerFileData d;
  IMET_ASSIGN_OR_RETURN(const json* ids, list(root, "banned_ids"));
  for (size_t i = 0; i < ids->size(); ++i) {
    const json& e = (*ids)[i];
    const std::string where = "banned_ids[" + std::to_string(i) + "]";
    if (!e.is_object()) return util::invalid_argument(where + ": not an object");
    IMET_ASSIGN_OR_RETURN(std::string hex, string_field(e, where, "id"));
    auto id = util::from_hex_fixed<32>(hex);
    if (hex.size() != 64 || !id.ok()) {
      return util::invalid_argument(where + ".id: not 64 hex digits");
    }
    IMET_ASSIGN_OR_RETURN(int64_t until, int_field(e, where, "until_unix_ms"));
    d.banned_ids.emplace_back(*id, until);
  }
  IMET_ASSIGN_OR_RETURN(const json* ips, list(root, "banned_ips"));
  for (size_t i = 0; i < ips->size(); ++i) {
    const json& e = (*ips)[i];
    const std::string where = "banned_ips[" + std::to_string(i) + "]";
    if (!e.is_object()) return util::invalid_argument(where + ": not an object");
    IMET_ASSIGN_OR_RETURN(std::string ip, string_field(e, where, "ip"));
    boost::system::error_code ec;
    const auto addr = boost::asio::ip::make_address(ip, ec);
    if (ec || addr.to_string() != ip) {
      return util::invalid_argument(where + ".ip: not an IP address in canonical form");
    }
    IMET_ASSIGN_OR_RETURN(int64_t until, int_field(e, where, "until_unix_ms"));
    d.banned_ips.emplace_back(std::move(ip), until);
  }
  IMET_ASSIGN_OR_RETURN(const json* addrs, list(root, "addresses"));
  for (size_t i = 0; i < addrs->size(); ++i) {
    const json& e = (*addrs)[i];
    const std::string where = "addresses[" + std::to_string(i) + "]";
    if (!e.is_object()) return util::invalid_argument(where + ": not an object");
    IMET_ASSIGN_OR_RETURN(std::string text, string_field(e, where, "address"));
    auto endpoint = parse_endpoint(text);
    if (!endpoint.ok()) {
      return util::invalid_argument(where + ".address: " + endpoint.status().message());
    }
    IMET_ASSIGN_OR_RETURN(std::string source, string_field(e, where, "source"));
    if (source != "peer" && source != "node") {
      return util::invalid_argument(where + ".source: not \"peer\" or \"node\"");
    }
    IMET_ASSIGN_OR_RETURN(int64_t failures, int_field(e, where, "failures"));
    if (failures < 0 || failures > 1'000'000) {
      return util::invalid_argument(where + ".failures: out of range");
    }
    bool tried = false;  // optional (files written before it existed have none)
    if (auto t = e.find("tried"); t != e.end()) {
      if (!t->is_boolean()) return util::invalid_argument(where + ".tried: not true or false");
      tried = t->get<bool>();
    }
    d.addresses.push_back({std::move(*endpoint),
                           source == "node" ? AddrSource::kNode : AddrSource::kPeer,
                           static_cast<int>(failures), tried});
  }
  return d;
}

}  // namespace

std::string encode_peer_file(const PeerFileData& data) {
  json ids = json::array(), ips = json::array(), addrs = json::array();
  for (const auto& [id, until] : data.banned_ids)
    ids.push_back({{"id", util::to_hex(id)}, {"until_unix_ms", until}});
  for (const auto& [ip, until] : data.banned_ips)
    ips.push_back({{"ip", ip}, {"until_unix_ms", until}});
  for (const AddrBook::Saved& a : data.addresses) {
    addrs.push_back({{"address", a.endpoint.to_string()},
                     {"source", source_name(a.source)},
                     {"failures", a.failures},
                     {"tried", a.tried}});
  }
  json root = {{"version", 1}, {"banned_ids", ids}, {"banned_ips", ips}, {"addresses", addrs}};
  return root.dump(1) + "\n";
}

util::Result<PeerFileData> decode_peer_file(std::string_view text) {
  if (text.size() > kMaxPeerFileBytes) {
    return util::invalid_argument("larger than " + std::to_string(kMaxPeerFileBytes) + " bytes");
  }
  const json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return util::invalid_argument("not JSON");
  try {
    return decode(root);
  } catch (const json::exception& e) {  // defensive: every access above is checked first
    return util::invalid_argument(std::string("unexpected shape: ") + e.what());
  }
}

}  // namespace imet::net
