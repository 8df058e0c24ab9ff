#include "store/kv_store.h"

#include <algorithm>

namespace imet::store {

void WriteBatch::put(util::ByteSpan key, util::ByteSpan value) {
  ops_.push_back(Op{OpType::kPut, util::Bytes(key.begin(), key.end()),
                    util::Bytes(value.begin(), value.end())});
  payload_bytes_ += key.size() + value.size();
}

void WriteBatch::del(util::ByteSpan key) {
  ops_.push_back(Op{OpType::kDelete, util::Bytes(key.begin(), key.end()), {}});
  payload_bytes_ += key.size();
}

void WriteBatch::clear() {
  ops_.clear();
  payload_bytes_ = 0;
}

KvIterator::~KvIterator() = default;
KvReader::~KvReader() = default;

bool starts_with(util::ByteSpan key, util::ByteSpan prefix) {
  return key.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), key.begin());
}

std::optional<util::Bytes> prefix_upper_bound(util::ByteSpan prefix) {
  util::Bytes bound(prefix.begin(), prefix.end());
  while (!bound.empty() && bound.back() == 0xff)
    bound.pop_back();
  if (bound.empty()) return std::nullopt;
  ++bound.back();
  return bound;
}

util::Status scan_prefix(const KvReader& reader, util::ByteSpan prefix,
                         const std::function<bool(util::ByteSpan key, util::ByteSpan value)>& fn) {
  std::unique_ptr<KvIterator> it = reader.iterator();
  for (it->seek(prefix); it->valid(); it->next()) {
    util::ByteSpan key = it->key();
    if (!starts_with(key, prefix)) break;
    if (!fn(key, it->value())) return {};
  }
  return it->status();
}

util::Result<std::vector<std::pair<util::Bytes, util::Bytes>>> scan_prefix_all(
    const KvReader& reader, util::ByteSpan prefix, size_t limit) {
  std::vector<std::pair<util::Bytes, util::Bytes>> out;
  if (limit == 0) return out;
  util::Status status = scan_prefix(reader, prefix, [&](util::ByteSpan key, util::ByteSpan value) {
    out.emplace_back(util::Bytes(key.begin(), key.end()), util::Bytes(value.begin(), value.end()));
    return out.size() < limit;
  });
  if (!status.ok()) return status;
  return out;
}

}  // namespace imet::store
