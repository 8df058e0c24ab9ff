#include "store/smt_node_store.h"

#include <array>
#include <string>
#include <utility>

#include "codec/serialize.h"

namespace imet::store {

namespace {

using ledger::smt::Node;
using ledger::smt::NodeKey;
using ledger::smt::StaleNode;
using ledger::smt::Version;

constexpr uint8_t kNodeTag = 'n';
constexpr uint8_t kStaleTag = 's';
constexpr size_t kNodeKeyFixedBytes = 8 + 2;  // version, depth

void put_be(util::Bytes& out, uint64_t v, size_t bytes) {
  for (size_t i = bytes; i-- > 0;)
    out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint64_t get_be(util::ByteSpan in, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i)
    v = (v << 8) | in[i];
  return v;
}

size_t path_bytes(size_t depth) {
  return (depth + 7) / 8;
}

// The most bytes append_node_key() adds.
constexpr size_t kMaxNodeKeyBytes = kNodeKeyFixedBytes + sizeof(NodeKey::path);

void append_node_key(util::Bytes& out, const NodeKey& key) {
  std::array<uint8_t, kMaxNodeKeyBytes> buf;
  for (size_t i = 0; i < 8; ++i)
    buf[i] = static_cast<uint8_t>(key.version >> (8 * (7 - i)));
  buf[8] = static_cast<uint8_t>(key.depth >> 8);
  buf[9] = static_cast<uint8_t>(key.depth);
  const size_t path = path_bytes(key.depth);
  std::copy(key.path.begin(), key.path.begin() + static_cast<std::ptrdiff_t>(path),
            buf.begin() + kNodeKeyFixedBytes);
  out.insert(out.end(), buf.begin(),
             buf.begin() + static_cast<std::ptrdiff_t>(kNodeKeyFixedBytes + path));
}

// Parses exactly one encoded NodeKey from `in`.
std::optional<NodeKey> parse_node_key(util::ByteSpan in) {
  if (in.size() < kNodeKeyFixedBytes) return std::nullopt;
  NodeKey key;
  key.version = get_be(in, 8);
  const uint64_t depth = get_be(in.subspan(8), 2);
  if (depth > ledger::smt::kKeyBits) return std::nullopt;
  key.depth = static_cast<uint16_t>(depth);
  const util::ByteSpan path = in.subspan(kNodeKeyFixedBytes);
  if (path.size() != path_bytes(key.depth)) return std::nullopt;
  std::copy(path.begin(), path.end(), key.path.begin());
  if (!key.valid()) return std::nullopt;  // bits beyond the depth are set
  return key;
}

// prefix + tag, with room for `more` bytes after it.
util::Bytes tagged(const util::Bytes& prefix, uint8_t tag, size_t more = 0) {
  util::Bytes out;
  out.reserve(prefix.size() + 1 + more);
  out.insert(out.end(), prefix.begin(), prefix.end());
  out.push_back(tag);
  return out;
}

util::Result<std::optional<Node>> read_node(const KvReader& kv, const util::Bytes& prefix,
                                            const NodeKey& key) {
  util::Bytes k = tagged(prefix, kNodeTag, kMaxNodeKeyBytes);
  append_node_key(k, key);
  auto got = kv.get(k);
  if (!got.ok()) return got.status().with_context("reading state tree node " + key.to_string());
  if (!got->has_value()) return std::optional<Node>();
  auto node = codec::decode<Node>(**got);
  if (!node.ok()) {
    return util::corruption("state tree node " + key.to_string() + " (store key " +
                            util::to_hex(k) + ") is corrupt: " + node.status().message());
  }
  return std::optional<Node>(std::move(node).value());
}

}  // namespace

SmtNodeReader::SmtNodeReader(const KvReader& kv, util::Bytes prefix)
    : kv_(kv), prefix_(std::move(prefix)) {}

util::Result<std::optional<Node>> SmtNodeReader::get(const NodeKey& key) const {
  return read_node(kv_, prefix_, key);
}

SmtNodeStore::SmtNodeStore(KvStore& kv, util::Bytes prefix, CachedReader* cache)
    : kv_(kv), cache_(cache), prefix_(std::move(prefix)) {}

util::Bytes SmtNodeStore::node_key(const NodeKey& key) const {
  util::Bytes out = tagged(prefix_, kNodeTag, kMaxNodeKeyBytes);
  append_node_key(out, key);
  return out;
}

util::Bytes SmtNodeStore::stale_key(const StaleNode& stale) const {
  util::Bytes out = tagged(prefix_, kStaleTag, 8 + kMaxNodeKeyBytes);
  put_be(out, stale.stale_since, 8);
  append_node_key(out, stale.key);
  return out;
}

util::Result<std::optional<Node>> SmtNodeStore::get(const NodeKey& key) const {
  if (cache_) return read_node(*cache_, prefix_, key);
  return read_node(kv_, prefix_, key);
}

void SmtNodeStore::stage(const ledger::smt::NodeBatch& batch, WriteBatch& out) const {
  for (const auto& [key, node] : batch.nodes)
    out.put(node_key(key), codec::encode(node));
  for (const StaleNode& s : batch.stale)
    out.put(stale_key(s), util::ByteSpan{});
}

util::Status SmtNodeStore::write(const ledger::smt::NodeBatch& batch) {
  WriteBatch wb;
  stage(batch, wb);
  IMET_TRY(kv_.write(wb).with_context("writing state tree nodes"));
  if (cache_) cache_->note_written(wb);
  return util::Status::ok_status();
}

void SmtNodeStore::stage_remove(std::span<const StaleNode> stale, WriteBatch& out) const {
  for (const StaleNode& s : stale) {
    out.del(node_key(s.key));
    out.del(stale_key(s));
  }
}

util::Status SmtNodeStore::remove_stale(std::span<const StaleNode> stale) {
  WriteBatch wb;
  stage_remove(stale, wb);
  IMET_TRY(kv_.write(wb).with_context("pruning state tree nodes"));
  if (cache_) cache_->note_written(wb);
  return util::Status::ok_status();
}

util::Result<std::vector<StaleNode>> SmtNodeStore::stale_nodes(Version up_to, size_t limit) const {
  std::vector<StaleNode> out;
  const util::Bytes index = tagged(prefix_, kStaleTag);
  util::Status bad = util::Status::ok_status();
  IMET_TRY(scan_prefix(kv_, index, [&](util::ByteSpan key, util::ByteSpan /*value*/) {
             if (out.size() >= limit) return false;
             const util::ByteSpan rest = key.subspan(index.size());
             std::optional<NodeKey> node;
             if (rest.size() >= 8) node = parse_node_key(rest.subspan(8));
             if (!node) {
               bad = util::corruption("state tree stale-index key " + util::to_hex(key) +
                                      " is malformed");
               return false;
             }
             const Version since = get_be(rest, 8);
             if (since > up_to) return false;
             out.push_back(StaleNode{since, *node});
             return true;
           }).with_context("listing stale state tree nodes"));
  IMET_TRY(bad);
  return out;
}

util::Result<size_t> SmtNodeStore::count_nodes() const {
  size_t n = 0;
  IMET_TRY(scan_prefix(kv_, tagged(prefix_, kNodeTag), [&](util::ByteSpan, util::ByteSpan) {
    ++n;
    return true;
  }));
  return n;
}

}  // namespace imet::store
