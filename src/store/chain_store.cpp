#include "store/chain_store.h"

#include "ledger/smt/tree.h"
#include "ledger/state_root.h"

namespace imet::store {

namespace {

util::Bytes key_with(std::string_view prefix, util::ByteSpan id) {
  util::Bytes k(prefix.size() + id.size());
  std::copy(prefix.begin(), prefix.end(), k.begin());
  std::copy(id.begin(), id.end(), k.begin() + static_cast<std::ptrdiff_t>(prefix.size()));
  return k;
}

util::Bytes height_key(std::string_view prefix, uint64_t h) {
  uint8_t be[8];
  for (int i = 0; i < 8; ++i)
    be[i] = static_cast<uint8_t>(h >> (56 - 8 * i));
  return key_with(prefix, util::ByteSpan(be, 8));
}
util::Bytes height_key(uint64_t h) {
  return height_key("c/h/", h);
}
util::Bytes cert_key(uint64_t h) {
  return height_key("c/f/", h);
}

const util::Bytes kTipKey = util::to_bytes("c/meta/tip");

template <codec::Serde T>
util::Result<std::optional<T>> get_decoded(const KvReader& kv, const util::Bytes& key) {
  IMET_ASSIGN_OR_RETURN(std::optional<util::Bytes> raw, kv.get(key));
  if (!raw) return std::optional<T>();
  auto v = codec::decode<T>(*raw);
  if (!v.ok())
    return util::corruption("chain store entry does not decode: " + v.status().message());
  return std::optional<T>(std::move(v).value());
}

}  // namespace

namespace {
const util::Bytes kTreePrefix = util::to_bytes("t/");
// State entries ("s/…") and tree nodes ("t/n…"; not the stale index "t/s…").
bool cacheable(util::ByteSpan key) {
  return key.size() > 2 &&
         ((key[0] == 's' && key[1] == '/') || (key[0] == 't' && key[1] == '/' && key[2] == 'n'));
}
}  // namespace

ChainStore::ChainStore(KvStore& kv, size_t cache_entries)
    : kv_(kv),
      cache_(kv, cache_entries,
             cache_entries == 0 ? CachedReader::Filter([](util::ByteSpan) { return false; })
                                : CachedReader::Filter(cacheable)),
      state_(cache_),
      nodes_(kv, kTreePrefix, &cache_) {}

util::Status ChainStore::write(const WriteBatch& wb) {
  IMET_TRY(kv_.write(wb, {.sync = true}));
  cache_.note_written(wb);
  return {};
}

util::Result<std::optional<TipRecord>> ChainStore::tip() const {
  return get_decoded<TipRecord>(kv_, kTipKey);
}

util::Result<TipRecord> ChainStore::init(const ledger::Genesis& genesis) {
  IMET_ASSIGN_OR_RETURN(std::optional<TipRecord> existing, tip());
  if (existing) return util::already_exists("the database already holds a chain");
  ledger::StateOverlay overlay(&state_);
  genesis.apply(overlay);
  ledger::smt::SparseMerkleTree tree(nodes_);
  IMET_ASSIGN_OR_RETURN(ledger::smt::UpdateResult r,
                        tree.apply(std::nullopt, 0, ledger::state_updates(overlay.changes())));
  TipRecord t{0, genesis.hash(), genesis.genesis_time_ms, r.root_hash};
  WriteBatch wb;
  stage_state(overlay.changes(), wb);
  nodes_.stage(r.batch, wb);
  wb.put(height_key(0), t.hash);
  wb.put(kTipKey, codec::encode(t));
  IMET_TRY(write(wb));
  return t;
}

util::Status ChainStore::commit(const ledger::Block& block, const ledger::FinalityCertificate& cert,
                                const ledger::StateOverlay::Changes& changes,
                                const ledger::smt::NodeBatch& nodes,
                                std::span<const ledger::Hash> tx_ids) {
  const ledger::BlockHeader& h = block.header;
  ledger::Hash hash = h.hash();
  if (cert.height != h.height || cert.block_hash != hash) {
    return util::invalid_argument("the certificate is for height " + std::to_string(cert.height) +
                                  " block " + util::to_hex(cert.block_hash) +
                                  ", not the block committed at height " +
                                  std::to_string(h.height));
  }
  WriteBatch wb;
  wb.put(cert_key(h.height), codec::encode(cert));
  stage_state(changes, wb);
  nodes_.stage(nodes, wb);
  wb.put(key_with("c/b/", hash), codec::encode(block));
  wb.put(height_key(h.height), hash);
  const bool have_ids = tx_ids.size() == block.txs.size();
  for (uint32_t i = 0; i < block.txs.size(); ++i) {
    wb.put(key_with("c/t/", have_ids ? tx_ids[i] : block.txs[i].id()),
           codec::encode(TxLocation{h.height, i}));
  }
  wb.put(kTipKey, codec::encode(TipRecord{h.height, hash, h.time_ms, h.state_root}));
  return write(wb);
}

util::Result<std::optional<ledger::Block>> ChainStore::block_by_hash(
    const ledger::Hash& hash) const {
  return get_decoded<ledger::Block>(kv_, key_with("c/b/", hash));
}

util::Result<std::optional<ledger::Block>> ChainStore::block_at(uint64_t height) const {
  IMET_ASSIGN_OR_RETURN(std::optional<util::Bytes> hash, kv_.get(height_key(height)));
  if (!hash || hash->size() != 32) return std::optional<ledger::Block>();
  ledger::Hash h{};
  std::copy(hash->begin(), hash->end(), h.begin());
  return block_by_hash(h);
}

util::Result<std::vector<std::pair<util::Bytes, util::Bytes>>> ChainStore::scan_state(
    util::ByteSpan prefix, size_t limit) const {
  util::Bytes full = key_with(kStatePrefix, prefix);
  IMET_ASSIGN_OR_RETURN(auto entries, scan_prefix_all(kv_, full, limit));
  for (auto& [k, v] : entries)
    k.erase(k.begin(), k.begin() + static_cast<std::ptrdiff_t>(kStatePrefix.size()));
  return entries;
}

util::Result<std::optional<ledger::FinalityCertificate>> ChainStore::certificate(
    uint64_t height) const {
  return get_decoded<ledger::FinalityCertificate>(kv_, cert_key(height));
}

util::Result<std::optional<TxLocation>> ChainStore::tx_location(const ledger::Hash& tx_id) const {
  return get_decoded<TxLocation>(kv_, key_with("c/t/", tx_id));
}

}  // namespace imet::store
